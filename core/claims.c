/*
 * The credential-request claims (docs/envelope.md, "Payload").  Form only:
 * freshness, audience and replay are the verifier's business.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/b64url.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"

#define MAX_SUB		2048
#define MAX_AUD		2048
#define MAX_NAME	256
#define MAX_TD		255

static const char *const claim_names[] = {
	"sub", "aud", "iat", "exp", "jti", "owner", "cnf",
	"dns_name", "logical_id", "client_id", "csr", "evidence_sha256",
	"renew_until", "renews", NULL
};

static int
is_visible_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int
td_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	    c == '-' || c == '_';
}

static int
path_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

int
ob_sub_trust_domain(const char *sub, char *buf, size_t bufsz)
{
	const char	*p, *td;
	size_t		 n, seg;

	if (strncmp(sub, "wimse://", 8) == 0)
		p = sub + 8;
	else if (strncmp(sub, "spiffe://", 9) == 0)
		p = sub + 9;
	else
		return ob_errf(OB_ERR_SUB_INVALID, "scheme is not wimse or "
		    "spiffe");
	td = p;
	while (td_char((unsigned char)*p))
		p++;
	n = (size_t)(p - td);
	if (n == 0 || n > MAX_TD)
		return ob_errf(OB_ERR_SUB_INVALID, "bad trust domain");
	if (*p != '\0' && *p != '/')
		return ob_errf(OB_ERR_SUB_INVALID, "bad character in trust "
		    "domain");
	/* Path: "/"-separated non-empty segments, no "." or "..". */
	while (*p == '/') {
		p++;
		seg = 0;
		while (path_char((unsigned char)p[seg]))
			seg++;
		if (seg == 0 || (seg == 1 && p[0] == '.') ||
		    (seg == 2 && p[0] == '.' && p[1] == '.'))
			return ob_errf(OB_ERR_SUB_INVALID, "bad path segment");
		p += seg;
	}
	if (*p != '\0')
		return ob_errf(OB_ERR_SUB_INVALID, "bad character in path");
	if (n + 1 > bufsz)
		return OB_ERR_INVALID_ARG;
	memcpy(buf, td, n);
	buf[n] = '\0';
	return OB_OK;
}

static int
claim_name_str(const json_t *c, const char *k, size_t max, int required,
    const char **out)
{
	int r;

	*out = NULL;
	if (!required && json_object_get(c, k) == NULL)
		return OB_OK;
	if ((r = ob_json_get_str(c, k, 1, max, OB_ERR_CLAIM_MISSING,
	    OB_ERR_PAYLOAD_INVALID, out)) != OB_OK)
		return r;
	if (!is_visible_ascii(*out))
		return ob_errf(OB_ERR_PAYLOAD_INVALID, "\"%s\" must be visible "
		    "ASCII", k);
	return OB_OK;
}

static int
claim_dns(const char *s)
{
	size_t label = 0;

	if (strlen(s) > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label != 0;
}

static int
claim_csr(const json_t *c, const EVP_PKEY *agent_key)
{
	const char		*s;
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 len;
	X509_REQ		*req = NULL;
	EVP_PKEY		*pk;
	int			 r;

	if ((r = ob_json_get_str(c, "csr", 1, 2 * OB_MAX_CSR,
	    OB_ERR_CLAIM_MISSING, OB_ERR_PAYLOAD_INVALID, &s)) != OB_OK)
		return r;
	if ((r = ob_b64url_decode(s, strlen(s), OB_MAX_CSR, &der,
	    &len)) != OB_OK)
		return ob_errf(OB_ERR_PAYLOAD_INVALID, "csr: %s",
		    ob_err_text(r));
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		r = ob_errf(OB_ERR_PAYLOAD_INVALID, "csr is not one DER "
		    "PKCS#10 request");
		goto out;
	}
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL ||
	    !ob_pkey_equal(pk, agent_key)) {
		r = ob_errf(OB_ERR_PAYLOAD_INVALID, "csr key is not cnf.jwk");
		goto out;
	}
	if (X509_REQ_verify(req, pk) != 1) {
		r = ob_errf(OB_ERR_PAYLOAD_INVALID, "csr self-signature");
		goto out;
	}
	r = OB_OK;
out:
	X509_REQ_free(req);
	free(der);
	return r;
}

static int
claim_b64_exact(const json_t *c, const char *k, size_t want)
{
	const char	*s;
	unsigned char	*b = NULL;
	size_t		 n;
	int		 r;

	if ((r = ob_json_get_str(c, k, 1, 128, OB_ERR_CLAIM_MISSING,
	    OB_ERR_PAYLOAD_INVALID, &s)) != OB_OK)
		return r;
	if ((r = ob_b64url_decode(s, strlen(s), want, &b, &n)) != OB_OK)
		return ob_errf(OB_ERR_PAYLOAD_INVALID, "\"%s\": %s", k,
		    ob_err_text(r));
	free(b);
	if (n != want)
		return ob_errf(OB_ERR_PAYLOAD_INVALID, "\"%s\" must be %zu "
		    "bytes", k, want);
	return OB_OK;
}

/*
 * The approval window (docs/envelope.md, "Renewal"): renew_until, a
 * NumericDate after iat and at most OB_MAX_RENEW_WINDOW after it; renews,
 * the jti of the approval a renewal renews, in jti's form.
 */
static int
claim_renewal(const json_t *claims, struct ob_claims *c)
{
	const json_t	*v;
	unsigned char	*b = NULL;
	size_t		 n;

	if ((v = json_object_get(claims, "renew_until")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= c->iat ||
		    json_integer_value(v) - c->iat > OB_MAX_RENEW_WINDOW)
			return ob_errf(OB_ERR_APPROVAL_WINDOW, "renew_until "
			    "must be an integer after iat, at most %llds "
			    "after it", OB_MAX_RENEW_WINDOW);
		c->renew_until = json_integer_value(v);
	}
	if ((v = json_object_get(claims, "renews")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) < 16 ||
		    json_string_length(v) > 64 ||
		    ob_b64url_decode(json_string_value(v),
		    json_string_length(v), 48, &b, &n) != OB_OK)
			return ob_errf(OB_ERR_APPROVAL_WINDOW, "renews must be "
			    "a jti (16 to 64 base64url characters)");
		free(b);
		if (c->renew_until != 0)
			return ob_errf(OB_ERR_APPROVAL_WINDOW, "a renewal "
			    "cannot open a window of its own");
		c->renews = json_string_value(v);
	}
	return OB_OK;
}

void
ob_claims_clear(struct ob_claims *c)
{
	EVP_PKEY_free(c->agent_key);
	memset(c, 0, sizeof(*c));
}

int
ob_claims_check(const json_t *claims, struct ob_claims *out)
{
	struct ob_claims c;
	const json_t	*cnf;
	const char	*jti;
	unsigned char	*b = NULL;
	size_t		 n;
	char		 td[MAX_TD + 1];
	int		 r;

	memset(&c, 0, sizeof(c));
	if (!json_is_object(claims))
		return ob_errf(OB_ERR_PAYLOAD_INVALID, "not a JSON object");
	if ((r = ob_json_only_members(claims, claim_names,
	    OB_ERR_PAYLOAD_INVALID)) != OB_OK)
		return r;
	OB_TRY(claim_name_str(claims, "sub", MAX_SUB, 1, &c.sub));
	OB_TRY(ob_sub_trust_domain(c.sub, td, sizeof(td)));
	OB_TRY(claim_name_str(claims, "aud", MAX_AUD, 1, &c.aud));
	OB_TRY(ob_json_get_int(claims, "iat", OB_ERR_CLAIM_MISSING,
	    OB_ERR_PAYLOAD_INVALID, &c.iat));
	OB_TRY(ob_json_get_int(claims, "exp", OB_ERR_CLAIM_MISSING,
	    OB_ERR_PAYLOAD_INVALID, &c.exp));
	if (c.iat < 0 || c.exp < 0) {
		r = ob_errf(OB_ERR_PAYLOAD_INVALID, "negative time");
		goto out;
	}
	if ((r = ob_json_get_str(claims, "jti", 16, 64, OB_ERR_JTI_INVALID,
	    OB_ERR_JTI_INVALID, &jti)) != OB_OK)
		goto out;
	if ((r = ob_b64url_decode(jti, strlen(jti), 48, &b, &n)) != OB_OK) {
		r = ob_errf(OB_ERR_JTI_INVALID, "jti: %s", ob_err_text(r));
		goto out;
	}
	free(b);
	c.jti = jti;
	OB_TRY(claim_name_str(claims, "owner", MAX_NAME, 1, &c.owner));
	if ((cnf = json_object_get(claims, "cnf")) == NULL) {
		r = ob_errf(OB_ERR_CLAIM_MISSING, "\"cnf\" is missing");
		goto out;
	}
	if (!json_is_object(cnf) || json_object_size(cnf) != 1 ||
	    (c.cnf_jwk = json_object_get(cnf, "jwk")) == NULL) {
		r = ob_errf(OB_ERR_PAYLOAD_INVALID, "cnf must be {\"jwk\":{...}}");
		goto out;
	}
	OB_TRY(ob_jwk_to_pkey_cached(c.cnf_jwk, c.jkt, &c.agent_key));
	OB_TRY(claim_name_str(claims, "dns_name", 253, 0, &c.dns_name));
	if (c.dns_name != NULL && !claim_dns(c.dns_name)) {
		r = ob_errf(OB_ERR_PAYLOAD_INVALID, "dns_name is not a host "
		    "name");
		goto out;
	}
	OB_TRY(claim_name_str(claims, "logical_id", MAX_NAME, 0,
	    &c.logical_id));
	OB_TRY(claim_name_str(claims, "client_id", MAX_NAME, 0,
	    &c.client_id));
	if (json_object_get(claims, "csr") != NULL) {
		OB_TRY(claim_csr(claims, c.agent_key));
		c.has_csr = 1;
	}
	if (json_object_get(claims, "evidence_sha256") != NULL) {
		OB_TRY(claim_b64_exact(claims, "evidence_sha256", 32));
		c.has_evidence = 1;
	}
	OB_TRY(claim_renewal(claims, &c));
	*out = c;
	memset(&c, 0, sizeof(c));
	r = OB_OK;
out:
	ob_claims_clear(&c);
	return r;
}
