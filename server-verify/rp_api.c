/*
 * server-verify/rp_api.c: the relying party's configuration (issuer keys
 * from a JWKS or CA certificates, options), the request a WPT is checked
 * for, and the result's getters (ob_rp.h).  Keys are decoded by
 * core/jwk.c and checked by core/pkey.c, as every key in the project.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/pkey.h"
#include "server-verify/rp_int.h"

#define RP_MAX_FILE	(1024 * 1024)	/* a JWKS or CA file */
#define RP_MAX_TOKEN	16384		/* a token whose hash the WPT binds */

long long
rp_now(const struct ob_rp *rp)
{
	return rp->now != 0 ? rp->now : (long long)time(NULL);
}

long long
rp_skew(const struct ob_rp *rp)
{
	return rp->skew != 0 ? rp->skew : RP_DEF_SKEW;
}

int
rp_dup(char **dst, const char *s)
{
	if (s == NULL)
		return OB_OK;
	return (*dst = strdup(s)) == NULL ? OB_ERR_ALLOC : OB_OK;
}

int
rp_sha256_b64(const void *buf, size_t n, char out[44])
{
	unsigned char	 md[32];
	char		*s = NULL;
	int		 r;

	if ((r = ob_sha256(buf, n, md)) != OB_OK ||
	    (r = ob_b64url_encode(md, sizeof(md), &s)) != OB_OK)
		return r;
	memcpy(out, s, 44);
	free(s);
	return OB_OK;
}

int
rp_id_ok(const char *s, size_t n, int spaces)
{
	size_t i;

	if (n == 0 || n > RP_MAX_ID)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < (spaces ? 0x20 : 0x21) ||
		    (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* docs/credentials.md, "Owner claim members". */
int
rp_owner_value_ok(const char *member, const char *v)
{
	static const struct {
		const char	*member;
		const char	*values[7];
	} t[] = {
		{ "type", { "user", "organization", "service", NULL } },
		{ "kind", { "software", "pkcs11", "tpm2", "piv", "fido2",
		    "gateway", NULL } },
		{ "assurance", { "software", "hardware", "imported",
		    "attested", NULL } },
		{ "model", { "agent-mediated", "server-mediated",
		    "owner-mediated", NULL } },
	};
	size_t i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(t[i].member, member) != 0)
			continue;
		for (j = 0; t[i].values[j] != NULL; j++)
			if (strcmp(t[i].values[j], v) == 0)
				return 1;
		return 0;
	}
	return 0;
}

/* ---- configuration ---- */

int
ob_rp_new(struct ob_rp **out)
{
	struct ob_rp *rp;

	if (out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "out is required");
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return OB_ERR_ALLOC;
	rp->purpose = OB_RP_PURPOSE_CLIENT;
	*out = rp;
	return OB_OK;
}

static void
key_clear(struct rp_key *k)
{
	free(k->kid);
	EVP_PKEY_free(k->pk);
	memset(k, 0, sizeof(*k));
}

void
ob_rp_free(struct ob_rp **rpp)
{
	struct ob_rp	*rp;
	size_t		 i;

	if (rpp == NULL || (rp = *rpp) == NULL)
		return;
	for (i = 0; i < rp->nkeys; i++)
		key_clear(&rp->keys[i]);
	X509_STORE_free(rp->cas);
	free(rp->iss);
	ASN1_OBJECT_free(rp->oid);
	free(rp);
	*rpp = NULL;
}

/* Never none, a MAC or a webauthn-* alg (which signs something else). */
int
rp_alg_allowed(enum ob_alg alg)
{
	return alg == OB_ALG_ES256 || alg == OB_ALG_ES384 ||
	    alg == OB_ALG_EDDSA || alg == OB_ALG_PS256;
}

/*
 * Append keys[0..n) to rp, or nothing: a kid names one key.  The same key
 * under the same kid (the issuer's JWKS and its CA certificate, both
 * configured) is kept once, as first configured.
 */
static int
keys_commit(struct ob_rp *rp, struct rp_key *keys, size_t n)
{
	size_t	i, j, add = 0;
	int	dup[OB_RP_MAX_KEYS];

	for (i = 0; i < n; i++) {
		dup[i] = 0;
		for (j = 0; j < rp->nkeys; j++) {
			if (strcmp(rp->keys[j].kid, keys[i].kid) != 0)
				continue;
			if (!ob_pkey_equal(rp->keys[j].pk, keys[i].pk))
				return ob_errf(OB_ERR_RP_CONFIG, "kid "
				    "\"%.64s\" names two keys", keys[i].kid);
			dup[i] = 1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(keys[j].kid, keys[i].kid) == 0)
				return ob_errf(OB_ERR_RP_CONFIG, "kid "
				    "\"%.64s\" appears twice", keys[i].kid);
		add += !dup[i];
	}
	if (rp->nkeys + add > OB_RP_MAX_KEYS)
		return ob_errf(OB_ERR_RP_CONFIG, "more than %d issuer keys",
		    OB_RP_MAX_KEYS);
	for (i = 0; i < n; i++) {
		if (dup[i])
			continue;
		rp->keys[rp->nkeys++] = keys[i];
		memset(&keys[i], 0, sizeof(keys[i]));
	}
	return OB_OK;
}

/*
 * One JWKS member: the public JWK without the certificate members a
 * JWKS may carry (RFC 7517 4.6-4.9), which the configured key does not
 * need; the rest goes to the one JWK decoder.
 */
static int
jwks_key(const json_t *jwk, size_t i, struct rp_key *k)
{
	static const char *const cert_members[] = {
		"x5c", "x5t", "x5t#S256", "x5u", NULL
	};
	json_t		*bare = NULL;
	const json_t	*v;
	char		 jkt[44];
	size_t		 m;
	int		 r;

	if (!json_is_object(jwk))
		return ob_errf(OB_ERR_RP_CONFIG, "keys[%zu] is not an object",
		    i);
	if ((bare = json_deep_copy(jwk)) == NULL)
		return OB_ERR_ALLOC;
	for (m = 0; cert_members[m] != NULL; m++)
		(void)json_object_del(bare, cert_members[m]);
	if ((r = ob_jwk_to_pkey(bare, &k->pk)) != OB_OK) {
		r = ob_errf(OB_ERR_RP_CONFIG, "keys[%zu]: %s: %s", i,
		    ob_err_name(r), ob_err_detail());
		goto out;
	}
	if ((r = ob_jwk_thumbprint(bare, jkt)) != OB_OK)
		goto out;
	/* jwk.c checked that an alg member is one this key signs with. */
	if ((v = json_object_get(bare, "alg")) != NULL) {
		const char *a = json_string_value(v);

		if (strcmp(a, "Ed25519") == 0)
			a = "EdDSA";
		if (ob_alg_from_name(a, &k->alg) != OB_OK) {
			r = ob_errf(OB_ERR_RP_CONFIG, "keys[%zu]: alg", i);
			goto out;
		}
	} else
		k->alg = ob_alg_for_key(k->pk);
	if (!rp_alg_allowed(k->alg)) {
		r = ob_errf(OB_ERR_RP_CONFIG, "keys[%zu]: %s does not sign "
		    "WITs", i, ob_alg_name(k->alg));
		goto out;
	}
	v = json_object_get(bare, "kid");
	r = rp_dup(&k->kid, v != NULL ? json_string_value(v) : jkt);
	k->nb = LLONG_MIN;
	k->na = LLONG_MAX;
out:
	json_decref(bare);
	return r;
}

int
ob_rp_add_issuer_jwks(struct ob_rp *rp, const void *buf, size_t len)
{
	static const char *const top[] = { "keys", NULL };
	struct rp_key	 keys[OB_RP_MAX_KEYS];
	json_t		*doc = NULL;
	const json_t	*arr;
	size_t		 i, n = 0;
	int		 r;

	ob_err_clear();
	if (rp == NULL || buf == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp and buf are required");
	memset(keys, 0, sizeof(keys));
	if (len > RP_MAX_FILE) {
		r = ob_errf(OB_ERR_RP_CONFIG, "JWKS of %zu bytes", len);
		goto out;
	}
	if ((r = ob_json_parse_object(buf, len, &doc)) != OB_OK) {
		r = ob_errf(OB_ERR_RP_CONFIG, "JWKS: %s", ob_err_text(r));
		goto out;
	}
	if ((r = ob_json_only_members(doc, top, OB_ERR_RP_CONFIG)) != OB_OK)
		goto out;
	arr = json_object_get(doc, "keys");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > OB_RP_MAX_KEYS) {
		r = ob_errf(OB_ERR_RP_CONFIG, "JWKS \"keys\" is not an array "
		    "of 1..%d keys", OB_RP_MAX_KEYS);
		goto out;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		OB_TRY(jwks_key(json_array_get(arr, i), i, &keys[n]));
		n++;
	}
	r = keys_commit(rp, keys, n);
out:
	for (i = 0; i < n; i++)
		key_clear(&keys[i]);
	json_decref(doc);
	return r;
}

static int
read_file(const char *path, char **out, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if (path == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "path is required");
	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	if ((buf = malloc(RP_MAX_FILE + 1)) == NULL) {
		(void)fclose(f);	/* read-only: nothing to lose */
		return OB_ERR_ALLOC;
	}
	n = fread(buf, 1, RP_MAX_FILE + 1, f);
	if (ferror(f) || n > RP_MAX_FILE) {
		(void)fclose(f);
		free(buf);
		return ob_errf(n > RP_MAX_FILE ? OB_ERR_RP_CONFIG : OB_ERR_IO,
		    "%s: %s", path, n > RP_MAX_FILE ? "larger than 1 MiB" :
		    "read error");
	}
	(void)fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return OB_OK;
}

int
ob_rp_add_issuer_jwks_file(struct ob_rp *rp, const char *path)
{
	char	*buf = NULL;
	size_t	 n;
	int	 r;

	if ((r = read_file(path, &buf, &n)) != OB_OK)
		return r;
	r = ob_rp_add_issuer_jwks(rp, buf, n);
	free(buf);
	return r != OB_OK ? ob_err_prefix(r, "%s", path) : OB_OK;
}

int
rp_asn1_epoch(const ASN1_TIME *t, long long *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	*out = (long long)timegm(&tm);
	return 1;
}

/* One CA certificate: a trust anchor, and a key that may sign WITs. */
static int
ca_key(X509 *x, size_t i, struct rp_key *k)
{
	char	jkt[44];
	int	r;

	if (X509_check_ca(x) == 0)
		return ob_errf(OB_ERR_RP_CONFIG, "certificate %zu is not a CA",
		    i);
	if ((k->pk = X509_get_pubkey(x)) == NULL)
		return ob_errf(OB_ERR_RP_CONFIG, "certificate %zu: no usable "
		    "key", i);
	if ((r = ob_pkey_check(k->pk)) != OB_OK ||
	    (r = ob_pkey_thumbprint(k->pk, jkt)) != OB_OK)
		return ob_errf(OB_ERR_RP_CONFIG, "certificate %zu: %s", i,
		    ob_err_text(r));
	k->alg = ob_alg_for_key(k->pk);
	if (!rp_alg_allowed(k->alg))
		return ob_errf(OB_ERR_RP_CONFIG, "certificate %zu: key type",
		    i);
	if (!rp_asn1_epoch(X509_get0_notBefore(x), &k->nb) ||
	    !rp_asn1_epoch(X509_get0_notAfter(x), &k->na))
		return ob_errf(OB_ERR_RP_CONFIG, "certificate %zu: validity",
		    i);
	return rp_dup(&k->kid, jkt);
}

int
ob_rp_add_issuer_ca(struct ob_rp *rp, const void *pem, size_t len)
{
	struct rp_key	 keys[OB_RP_MAX_KEYS];
	STACK_OF(X509_OBJECT) *old;
	X509_STORE	*st = NULL;
	X509		*certs[OB_RP_MAX_KEYS], *x;
	BIO		*b = NULL;
	unsigned long	 e;
	size_t		 i, n = 0, nk = 0;
	int		 j, r = OB_ERR_ALLOC;

	ob_err_clear();
	if (rp == NULL || pem == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp and pem are required");
	memset(keys, 0, sizeof(keys));
	ERR_set_mark();
	if (len > RP_MAX_FILE || len > INT_MAX) {
		r = ob_errf(OB_ERR_RP_CONFIG, "CA file of %zu bytes", len);
		goto out;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (n == OB_RP_MAX_KEYS) {
			X509_free(x);
			r = ob_errf(OB_ERR_RP_CONFIG, "more than %d CA "
			    "certificates", OB_RP_MAX_KEYS);
			goto out;
		}
		certs[n++] = x;
	}
	/* The loop ends at the end of the text, or at a broken PEM block. */
	e = ERR_peek_last_error();
	if (n == 0 || (e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)) {
		r = ob_errf(OB_ERR_RP_CONFIG, "%s", n == 0 ? "no PEM "
		    "certificate" : "a PEM block is not a certificate");
		goto out;
	}
	for (i = 0; i < n; i++) {
		OB_TRY(ca_key(certs[i], i, &keys[nk]));
		nk++;
	}
	/* A new store with the old anchors and the new: swapped whole. */
	r = OB_ERR_ALLOC;
	if ((st = X509_STORE_new()) == NULL)
		goto out;
	if (rp->cas != NULL) {
		old = X509_STORE_get0_objects(rp->cas);
		for (j = 0; j < sk_X509_OBJECT_num(old); j++) {
			X509 *ox = X509_OBJECT_get0_X509(
			    sk_X509_OBJECT_value(old, j));

			if (ox != NULL && X509_STORE_add_cert(st, ox) != 1)
				goto out;
		}
	}
	for (i = 0; i < n; i++)
		if (X509_STORE_add_cert(st, certs[i]) != 1)
			goto out;
	/* The configured issuer CA is the anchor, root or not. */
	if (X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN) != 1)
		goto out;
	OB_TRY(keys_commit(rp, keys, nk));
	X509_STORE_free(rp->cas);
	rp->cas = st;
	st = NULL;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	for (i = 0; i < nk; i++)
		key_clear(&keys[i]);
	for (i = 0; i < n; i++)
		X509_free(certs[i]);
	X509_STORE_free(st);
	BIO_free(b);
	return r;
}

int
ob_rp_add_issuer_ca_file(struct ob_rp *rp, const char *path)
{
	char	*buf = NULL;
	size_t	 n;
	int	 r;

	if ((r = read_file(path, &buf, &n)) != OB_OK)
		return r;
	r = ob_rp_add_issuer_ca(rp, buf, n);
	free(buf);
	return r != OB_OK ? ob_err_prefix(r, "%s", path) : OB_OK;
}

int
ob_rp_set_iss(struct ob_rp *rp, const char *iss)
{
	char *c = NULL;

	if (rp == NULL || (iss != NULL && *iss == '\0'))
		return ob_errf(OB_ERR_INVALID_ARG, "iss is a non-empty URI or "
		    "NULL");
	if (rp_dup(&c, iss) != OB_OK)
		return OB_ERR_ALLOC;
	free(rp->iss);
	rp->iss = c;
	return OB_OK;
}

static int
set_range(long long *slot, long long v, long long lo, long long hi,
    const char *what)
{
	if (v != 0 && (v < lo || v > hi))
		return ob_errf(OB_ERR_INVALID_ARG, "%s %lld is outside "
		    "%lld..%lld (0: the default)", what, v, lo, hi);
	*slot = v;
	return OB_OK;
}

int
ob_rp_set_now(struct ob_rp *rp, long long now)
{
	if (rp == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp is required");
	return set_range(&rp->now, now, 1, 253402300799LL, "now");
}

int
ob_rp_set_skew(struct ob_rp *rp, long long s)
{
	if (rp == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp is required");
	return set_range(&rp->skew, s, 1, 600, "skew");
}

int
ob_rp_set_wpt_max_ttl(struct ob_rp *rp, long long s)
{
	if (rp == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp is required");
	return set_range(&rp->wpt_ttl, s, 1, 3600, "wpt_max_ttl");
}

int
ob_rp_set_owner_oid(struct ob_rp *rp, const char *oid)
{
	ASN1_OBJECT *o = NULL;

	if (rp == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp is required");
	/* Only numeric OIDs, and none that names something else. */
	if (oid != NULL && ((o = OBJ_txt2obj(oid, 1)) == NULL ||
	    (OBJ_obj2nid(o) != NID_undef &&
	    OBJ_obj2nid(o) != NID_subject_directory_attributes))) {
		ASN1_OBJECT_free(o);
		return ob_errf(OB_ERR_INVALID_ARG, "owner OID \"%.64s\" is not "
		    "a dotted OID of its own", oid);
	}
	ASN1_OBJECT_free(rp->oid);
	rp->oid = o;
	return OB_OK;
}

int
ob_rp_set_wic_purpose(struct ob_rp *rp, enum ob_rp_purpose p)
{
	if (rp == NULL || (p != OB_RP_PURPOSE_CLIENT &&
	    p != OB_RP_PURPOSE_SERVER))
		return ob_errf(OB_ERR_INVALID_ARG, "purpose is client or "
		    "server");
	rp->purpose = p;
	return OB_OK;
}

/* ---- the request ---- */

int
ob_rp_req_new(struct ob_rp_req **out)
{
	struct ob_rp_req *q;

	if (out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "out is required");
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return OB_ERR_ALLOC;
	*out = q;
	return OB_OK;
}

void
ob_rp_req_free(struct ob_rp_req **qp)
{
	struct ob_rp_req *q;

	if (qp == NULL || (q = *qp) == NULL)
		return;
	free(q->aud);
	free(q);
	*qp = NULL;
}

int
ob_rp_req_set_aud(struct ob_rp_req *q, const char *aud)
{
	char *c = NULL;

	if (q == NULL || aud == NULL || *aud == '\0' || strlen(aud) > 2048 ||
	    strpbrk(aud, "?#") != NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "aud is a URI of 1..2048 "
		    "bytes without query or fragment");
	if (rp_dup(&c, aud) != OB_OK)
		return OB_ERR_ALLOC;
	free(q->aud);
	q->aud = c;
	return OB_OK;
}

/* A token as a header carries it: the hash of the value, spaces around
 * it removed (draft-ietf-wimse-wpt, the oth claim). */
static int
token_hash(const char *tok, struct rp_hash *h)
{
	size_t	n;
	int	r;

	if (tok == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "token is required");
	while (*tok == ' ' || *tok == '\t')
		tok++;
	n = strlen(tok);
	while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		n--;
	if (n == 0 || n > RP_MAX_TOKEN)
		return ob_errf(OB_ERR_INVALID_ARG, "a token of 1..%d bytes",
		    RP_MAX_TOKEN);
	if ((r = rp_sha256_b64(tok, n, h->b64)) != OB_OK)
		return r;
	h->set = 1;
	return OB_OK;
}

int
ob_rp_req_set_access_token(struct ob_rp_req *q, const char *tok)
{
	struct rp_hash	h;
	int		r;

	if (q == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "req is required");
	if ((r = token_hash(tok, &h)) != OB_OK)
		return r;
	q->ath = h;
	return OB_OK;
}

int
ob_rp_req_set_txn_token(struct ob_rp_req *q, const char *tok)
{
	struct rp_hash	h;
	int		r;

	if (q == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "req is required");
	if ((r = token_hash(tok, &h)) != OB_OK)
		return r;
	q->tth = h;
	return OB_OK;
}

int
ob_rp_req_add_other_token(struct ob_rp_req *q, const char *name,
    const char *value)
{
	struct rp_hash	h;
	char		lc[RP_MAX_HEADER + 1];
	size_t		i, n;
	int		r;

	if (q == NULL || name == NULL || (n = strlen(name)) == 0 ||
	    n > RP_MAX_HEADER)
		return ob_errf(OB_ERR_INVALID_ARG, "a header name of 1..%d "
		    "characters", RP_MAX_HEADER);
	/* RFC 9110 5.1: a token; oth keys it in lower case. */
	for (i = 0; i < n; i++) {
		if (strchr("!#$%&'*+-.^_`|~", name[i]) == NULL &&
		    !(name[i] >= '0' && name[i] <= '9') &&
		    !(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= 'A' && name[i] <= 'Z'))
			return ob_errf(OB_ERR_INVALID_ARG, "\"%.64s\" is not a "
			    "header name", name);
		lc[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i]);
	}
	lc[n] = '\0';
	for (i = 0; i < q->nother; i++)
		if (strcmp(q->other[i].name, lc) == 0)
			return ob_errf(OB_ERR_INVALID_ARG, "header %s given "
			    "twice", lc);
	if (q->nother == RP_MAX_OTHER)
		return ob_errf(OB_ERR_INVALID_ARG, "more than %d other tokens",
		    RP_MAX_OTHER);
	if ((r = token_hash(value, &h)) != OB_OK)
		return r;
	memcpy(q->other[q->nother].name, lc, n + 1);
	q->other[q->nother].h = h;
	q->nother++;
	return OB_OK;
}

/* ---- the result ---- */

int
rp_result_owner(struct ob_rp_result *r, const struct rp_owner *o)
{
	int m = strcmp(o->model, "owner-mediated") == 0;

	if (rp_dup(&r->owner, o->id) != OB_OK ||
	    rp_dup(&r->owner_type, o->type) != OB_OK ||
	    rp_dup(&r->owner_kind, o->kind) != OB_OK ||
	    rp_dup(&r->assurance, o->assurance) != OB_OK ||
	    rp_dup(&r->model, o->model) != OB_OK ||
	    rp_dup(&r->gateway, o->gateway) != OB_OK ||
	    rp_dup(&r->owner_group, o->group) != OB_OK ||
	    rp_dup(m ? &r->gateway_x5t : &r->owner_jkt, o->hash) != OB_OK ||
	    rp_dup(&r->envelope_sha256, o->envelope_sha256) != OB_OK)
		return OB_ERR_ALLOC;
	r->approved_at = o->approved_at;
	return OB_OK;
}

#define RP_RESULT_STRINGS(X) \
	X(via) X(agent) X(agent_jkt) X(agent_alg) X(iss) X(jti) X(wpt_jti) \
	X(dns_name) X(logical_id) X(client_id) X(owner) X(owner_type) \
	X(owner_kind) X(assurance) X(model) X(gateway) X(owner_group) \
	X(owner_jkt) X(gateway_x5t) X(envelope_sha256)

#define GET_STR(m) \
	const char *ob_rp_result_##m(const struct ob_rp_result *r) \
	{ return r != NULL ? r->m : NULL; }
RP_RESULT_STRINGS(GET_STR)
#undef GET_STR

long long
ob_rp_result_approved_at(const struct ob_rp_result *r)
{
	return r != NULL ? r->approved_at : 0;
}

long long
ob_rp_result_exp(const struct ob_rp_result *r)
{
	return r != NULL ? r->exp : 0;
}

void
ob_rp_result_free(struct ob_rp_result **rp)
{
	struct ob_rp_result *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
#define FREE_STR(m) free(r->m);
	RP_RESULT_STRINGS(FREE_STR)
#undef FREE_STR
	free(r);
	*rp = NULL;
}

int
ob_rp_result_json(const struct ob_rp_result *r, char **out)
{
	json_t	*o;
	char	*s = NULL;
	size_t	 n;
	int	 rc = OB_ERR_ALLOC;

	if (r == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "result and out are "
		    "required");
	if ((o = json_object()) == NULL)
		return OB_ERR_ALLOC;
	if (json_object_set_new(o, "result", json_string("accepted")) != 0)
		goto out;
#define SET_STR(m) \
	if (json_object_set_new(o, #m, r->m != NULL ? json_string(r->m) : \
	    json_null()) != 0) \
		goto out;
	RP_RESULT_STRINGS(SET_STR)
#undef SET_STR
	if (json_object_set_new(o, "approved_at",
	    json_integer(r->approved_at)) != 0 ||
	    json_object_set_new(o, "exp", json_integer(r->exp)) != 0)
		goto out;
	if ((rc = ob_json_dump(o, &s, &n)) != OB_OK)
		goto out;
	*out = s;
	rc = OB_OK;
out:
	json_decref(o);
	return rc;
}
