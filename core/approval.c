/* Owners' approvals of held requests (core/approval.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/approval.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"

#define BAD	OB_ERR_APPROVAL_INVALID

int
ob_sha256_b64url(const void *buf, size_t len, char out[44])
{
	unsigned char	 md[32];
	char		*s = NULL;
	int		 r;

	if (EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL) != 1)
		return OB_ERR_CRYPTO;
	if ((r = ob_b64url_encode(md, sizeof(md), &s)) != OB_OK)
		return r;
	memcpy(out, s, 44);
	out[43] = '\0';
	free(s);
	return OB_OK;
}

void
ob_owner_approval_clear(struct ob_owner_approval *a)
{
	free(a->kid);
	free(a->pending);
	free(a->request_sha256);
	free(a->gateway);
	free(a->tbs);
	free(a->sig);
	memset(a, 0, sizeof(*a));
}

/* A base64url member decoded and read as one JSON object. */
static int
b64_object(const json_t *o, const char *key, json_t **out)
{
	const char	*s;
	unsigned char	*b = NULL;
	size_t		 n;
	int		 r;

	if ((r = ob_json_get_str(o, key, 1, OB_APPROVAL_MAX, BAD, BAD, &s)) !=
	    OB_OK)
		return r;
	if ((r = ob_b64url_decode(s, strlen(s), OB_APPROVAL_MAX, &b, &n)) !=
	    OB_OK)
		return ob_errf(BAD, "%s is not base64url", key);
	r = ob_json_parse_object(b, n, out);
	free(b);
	return r != OB_OK ? ob_errf(BAD, "%s is not a JSON object", key) :
	    OB_OK;
}

static int
dup_str(const json_t *o, const char *key, size_t min, size_t max, char **out)
{
	const char	*s;
	int		 r;

	if ((r = ob_json_get_str(o, key, min, max, BAD, BAD, &s)) != OB_OK)
		return r;
	return (*out = strdup(s)) != NULL ? OB_OK : OB_ERR_ALLOC;
}

int
ob_owner_approval_parse(const void *buf, size_t len,
    struct ob_owner_approval *out)
{
	static const char *const top[] = { "protected", "payload",
	    "signature", NULL };
	static const char *const hm[] = { "alg", "kid", "typ", NULL };
	static const char *const pm[] = { "pending", "request_sha256",
	    "gateway", "iat", NULL };
	struct ob_owner_approval a;
	json_t		*o = NULL, *h = NULL, *p = NULL;
	const char	*ps, *pls, *ss, *typ, *alg;
	size_t		 n;
	int		 r;

	memset(&a, 0, sizeof(a));
	if (len > OB_APPROVAL_MAX) {
		r = ob_errf(BAD, "over %d bytes", OB_APPROVAL_MAX);
		goto out;
	}
	if (ob_json_parse_object(buf, len, &o) != OB_OK) {
		r = ob_errf(BAD, "not one JSON object");
		goto out;
	}
	OB_TRY(ob_json_only_members(o, top, BAD));
	OB_TRY(ob_json_get_str(o, "protected", 1, OB_APPROVAL_MAX, BAD, BAD,
	    &ps));
	OB_TRY(ob_json_get_str(o, "payload", 1, OB_APPROVAL_MAX, BAD, BAD,
	    &pls));
	OB_TRY(ob_json_get_str(o, "signature", 1, OB_APPROVAL_MAX, BAD, BAD,
	    &ss));
	OB_TRY(b64_object(o, "protected", &h));
	OB_TRY(b64_object(o, "payload", &p));
	OB_TRY(ob_json_only_members(h, hm, BAD));
	OB_TRY(ob_json_only_members(p, pm, BAD));
	OB_TRY(ob_json_get_str(h, "typ", 1, 64, BAD, BAD, &typ));
	if (strcmp(typ, OB_APPROVAL_TYP) != 0) {
		r = ob_errf(BAD, "typ is not " OB_APPROVAL_TYP);
		goto out;
	}
	OB_TRY(ob_json_get_str(h, "alg", 1, 32, BAD, BAD, &alg));
	if (ob_alg_from_name(alg, &a.alg) != OB_OK ||
	    ob_alg_is_webauthn(a.alg)) {
		r = ob_errf(BAD, "alg %.32s: an ordinary JWS algorithm only",
		    alg);
		goto out;
	}
	OB_TRY(dup_str(h, "kid", 1, 256, &a.kid));
	OB_TRY(dup_str(p, "pending", 1, OB_APPROVAL_ID_MAX, &a.pending));
	OB_TRY(dup_str(p, "request_sha256", 43, 43, &a.request_sha256));
	OB_TRY(dup_str(p, "gateway", 1, 256, &a.gateway));
	OB_TRY(ob_json_get_int(p, "iat", BAD, BAD, &a.iat));
	if ((r = ob_b64url_decode(ss, strlen(ss), 1024, &a.sig,
	    &a.siglen)) != OB_OK) {
		r = ob_errf(BAD, "signature is not base64url");
		goto out;
	}
	n = strlen(ps) + 1 + strlen(pls);
	if ((a.tbs = malloc(n + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(a.tbs, ps, strlen(ps));
	a.tbs[strlen(ps)] = '.';
	memcpy(a.tbs + strlen(ps) + 1, pls, strlen(pls) + 1);
	a.tbslen = n;
	*out = a;
	memset(&a, 0, sizeof(a));
	r = OB_OK;
out:
	ob_owner_approval_clear(&a);
	json_decref(o);
	json_decref(h);
	json_decref(p);
	return r;
}

static int
enc(json_t *o, char **out)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_json_dump(o, &s, &n)) != OB_OK)
		return r;
	r = ob_b64url_encode((const unsigned char *)s, n, out);
	free(s);
	return r;
}

int
ob_owner_approval_tbs(enum ob_alg alg, const char *kid, const char *pending,
    const char *request_sha256, const char *gateway, long long iat,
    char **tbs, size_t *tbslen)
{
	json_t	*h = NULL, *p = NULL;
	char	*hb = NULL, *pb = NULL, *t;
	size_t	 n;
	int	 r;

	h = json_pack("{s:s,s:s,s:s}", "alg", ob_alg_name(alg), "kid", kid,
	    "typ", OB_APPROVAL_TYP);
	p = json_pack("{s:s,s:s,s:s,s:I}", "pending", pending,
	    "request_sha256", request_sha256, "gateway", gateway, "iat",
	    (json_int_t)iat);
	if (h == NULL || p == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(enc(h, &hb));
	OB_TRY(enc(p, &pb));
	n = strlen(hb) + 1 + strlen(pb);
	if ((t = malloc(n + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(t, hb, strlen(hb));
	t[strlen(hb)] = '.';
	memcpy(t + strlen(hb) + 1, pb, strlen(pb) + 1);
	*tbs = t;
	*tbslen = n;
	r = OB_OK;
out:
	json_decref(h);
	json_decref(p);
	free(hb);
	free(pb);
	return r;
}

int
ob_owner_approval_serialize(const char *tbs, const unsigned char *sig,
    size_t siglen, char **out)
{
	const char	*dot = strchr(tbs, '.');
	json_t		*o = NULL;
	char		*hb = NULL, *sb = NULL;
	size_t		 n;
	int		 r;

	if (dot == NULL)
		return OB_ERR_INVALID_ARG;
	if ((hb = strndup(tbs, (size_t)(dot - tbs))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(ob_b64url_encode(sig, siglen, &sb));
	if ((o = json_pack("{s:s,s:s,s:s}", "protected", hb, "payload",
	    dot + 1, "signature", sb)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = ob_json_dump(o, out, &n);
out:
	json_decref(o);
	free(hb);
	free(sb);
	return r;
}
