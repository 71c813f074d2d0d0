/*
 * The shapes ownerbind-signer signs (shape.h).  Every check reads the
 * bytes the way a relying party will: the WIT through the project's strict
 * JSON reader, the TBSCertificate through OpenSSL's DER decoder (and then
 * re-encoded, so that only DER passes), the gateway entry through
 * core/envelope.c, as the identity server will parse it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "core/b64url.h"
#include "core/buf.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "signer/shape.h"

#define WIT_MAX_HEADER	1024
#define TIME_MAX	(1LL << 40)	/* far beyond any real time */

/* Times: exp after iat, the lifetime and the clock within the key's
 * limits. */
static int
times_ok(const struct ob_shape_key *k, long long from, long long to,
    const char *what)
{
	long long skew;

	if (from < 0 || to < 0 || from > TIME_MAX || to > TIME_MAX)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "%s: times out of range",
		    what);
	if (to <= from)
		return ob_errf(OB_ERR_SIGNER_LIFETIME, "%s: ends at %lld, not "
		    "after %lld", what, to, from);
	if (to - from > k->max_lifetime)
		return ob_errf(OB_ERR_SIGNER_LIFETIME, "%s: lifetime %lld s, "
		    "at most %lld", what, to - from, k->max_lifetime);
	skew = from > k->now ? from - k->now : k->now - from;
	if (skew > k->max_skew)
		return ob_errf(OB_ERR_SIGNER_LIFETIME, "%s: starts %lld s "
		    "from now, at most %lld", what, skew, k->max_skew);
	return OB_OK;
}

/* in = A "." B, both non-empty, no second dot. */
static int
split_jws(const uint8_t *in, size_t n, size_t *dot)
{
	const uint8_t *d;

	if ((d = memchr(in, '.', n)) == NULL || d == in || d == in + n - 1 ||
	    memchr(d + 1, '.', n - (size_t)(d - in) - 1) != NULL)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "not two base64url parts "
		    "joined by one '.'");
	*dot = (size_t)(d - in);
	return OB_OK;
}

/* Decode base64url part [p, p + n) and read it as one JSON object. */
static int
b64_object(const uint8_t *p, size_t n, size_t max, const char *what,
    json_t **out)
{
	unsigned char	*b = NULL;
	size_t		 blen;
	int		 r;

	if ((r = ob_b64url_decode((const char *)p, n, max, &b, &blen)) !=
	    OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "%s: %s", what,
		    ob_err_name(r));
	r = ob_json_parse_object(b, blen, out);
	free(b);
	if (r != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "%s: %s", what,
		    ob_err_name(r));
	return OB_OK;
}

static int
str_is(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) && want != NULL &&
	    strcmp(json_string_value(v), want) == 0;
}

/* A string claim of lo..max bytes without NUL; *out borrowed. */
static int
claim_str(const json_t *o, const char *key, size_t max, const char **out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return ob_errf(OB_ERR_SIGNER_SHAPE, "payload: %s is not a "
		    "string of 1 to %zu bytes", key, max);
	*out = json_string_value(v);
	return OB_OK;
}

static int
claim_int(const json_t *o, const char *key, long long *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return ob_errf(OB_ERR_SIGNER_SHAPE, "payload: %s is not an "
		    "integer", key);
	*out = json_integer_value(v);
	return OB_OK;
}

int
ob_shape_wit(const struct ob_shape_key *k, const uint8_t *in, size_t n,
    char what[OB_SHAPE_WHAT])
{
	static const char *const hdr_names[] = { "alg", "kid", "typ", NULL };
	json_t		*hdr = NULL, *pl = NULL, *cnf, *jwk;
	EVP_PKEY	*agent = NULL;
	const char	*sub, *jti, *iss;
	long long	 iat = 0, exp = 0;
	size_t		 dot;
	int		 r;

	OB_TRY(split_jws(in, n, &dot));
	OB_TRY(b64_object(in, dot, WIT_MAX_HEADER, "header", &hdr));
	if (ob_json_only_members(hdr, hdr_names, OB_ERR_SIGNER_SHAPE) !=
	    OB_OK) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "header: members other than "
		    "alg, kid, typ");
		goto out;
	}
	if (!str_is(hdr, "typ", "wit+jwt") ||
	    !str_is(hdr, "alg", ob_alg_name(k->alg)) ||
	    !str_is(hdr, "kid", k->kid)) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "header: not typ wit+jwt with "
		    "this key's alg %s and kid", ob_alg_name(k->alg));
		goto out;
	}
	OB_TRY(b64_object(in + dot + 1, n - dot - 1, n, "payload", &pl));
	OB_TRY(claim_str(pl, "iss", 1024, &iss));
	OB_TRY(claim_str(pl, "sub", 2048, &sub));
	OB_TRY(claim_str(pl, "jti", 256, &jti));
	OB_TRY(claim_int(pl, "iat", &iat));
	OB_TRY(claim_int(pl, "exp", &exp));
	/* The key the credential binds must be a key: cnf is {"jwk": JWK}. */
	if ((cnf = json_object_get(pl, "cnf")) == NULL ||
	    !json_is_object(cnf) || json_object_size(cnf) != 1 ||
	    (jwk = json_object_get(cnf, "jwk")) == NULL ||
	    ob_jwk_to_pkey(jwk, &agent) != OB_OK) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "payload: cnf is not "
		    "{\"jwk\": a public key}");
		goto out;
	}
	OB_TRY(times_ok(k, iat, exp, "WIT"));
	(void)snprintf(what, OB_SHAPE_WHAT, "sub=%.200s jti=%.64s", sub, jti);
	r = OB_OK;
out:
	EVP_PKEY_free(agent);
	json_decref(hdr);
	json_decref(pl);
	return r;
}

/* ---- WIC ---- */

/* The signature algorithm an issuer key puts into its certificates. */
static int
wic_sig_nid(enum ob_alg alg)
{
	switch (alg) {
	case OB_ALG_ES256:	return NID_ecdsa_with_SHA256;
	case OB_ALG_ES384:	return NID_ecdsa_with_SHA384;
	case OB_ALG_EDDSA:	return NID_ED25519;
	default:		return NID_undef;
	}
}

/* One DER definite length: minimal, at most three bytes long. */
static int
der_len(struct ob_rd *rd, size_t *len)
{
	uint8_t	b, k, i;
	size_t	v = 0;
	int	r;

	if ((r = ob_rd_u8(rd, &b)) != OB_OK)
		return r;
	if (b < 0x80) {
		*len = b;
		return OB_OK;
	}
	k = b & 0x7f;
	if (k == 0 || k > 3)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	for (i = 0; i < k; i++) {
		if ((r = ob_rd_u8(rd, &b)) != OB_OK)
			return r;
		if (i == 0 && b == 0)
			return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
		v = v << 8 | b;
	}
	if (v < 0x80)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	*len = v;
	return OB_OK;
}

static int
wr_der_len(struct ob_wr *w, size_t n)
{
	int r;

	if (n < 0x80)
		return ob_wr_u8(w, (uint8_t)n);
	if (n < 0x100) {
		OB_TRY(ob_wr_u8(w, 0x81));
		r = ob_wr_u8(w, (uint8_t)n);
	} else if (n < 0x10000) {
		OB_TRY(ob_wr_u8(w, 0x82));
		r = ob_wr_u16(w, (uint16_t)n);
	} else {
		OB_TRY(ob_wr_u8(w, 0x83));
		OB_TRY(ob_wr_u8(w, (uint8_t)(n >> 16)));
		r = ob_wr_u16(w, (uint16_t)n);
	}
out:
	return r;
}

/*
 * The TBSCertificate as a Certificate OpenSSL will decode: the input
 * must be one DER SEQUENCE and nothing else; the outer algorithm and the
 * empty signature are placeholders (nothing here is verified).
 */
static int
tbs_decode(const uint8_t *in, size_t n, X509 **out)
{
	static const uint8_t tail[] = {
		0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
		0x03, 0x02,			/* ecdsa-with-SHA256 */
		0x03, 0x01, 0x00,		/* BIT STRING, empty */
	};
	struct ob_rd	 rd;
	struct ob_wr	 w;
	const uint8_t	*p;
	uint8_t		 tag;
	size_t		 len = 0;
	X509		*x = NULL;
	int		 r;

	ob_rd_init(&rd, in, n);
	ob_wr_init_heap(&w, n + 64);
	if (ob_rd_u8(&rd, &tag) != OB_OK || tag != 0x30 ||
	    der_len(&rd, &len) != OB_OK || len != ob_rd_left(&rd)) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "not one DER SEQUENCE");
		goto out;
	}
	OB_TRY(ob_wr_u8(&w, 0x30));
	OB_TRY(wr_der_len(&w, n + sizeof(tail)));
	OB_TRY(ob_wr_bytes(&w, in, n));
	OB_TRY(ob_wr_bytes(&w, tail, sizeof(tail)));
	p = ob_wr_ptr(&w);
	if ((x = d2i_X509(NULL, &p, (long)ob_wr_len(&w))) == NULL ||
	    p != ob_wr_ptr(&w) + ob_wr_len(&w)) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "not a TBSCertificate");
		goto out;
	}
	*out = x;
	x = NULL;
	r = OB_OK;
out:
	X509_free(x);
	ob_wr_free(&w);
	return r;
}

/* Exactly one SAN extension with exactly one name, a URI; *uri copied. */
static int
wic_san(X509 *x, char *uri, size_t size)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	const unsigned char	*s;
	int			 crit, i, n, r;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "%s subjectAltName",
		    crit == -2 ? "more than one" : "no or a malformed");
	r = OB_ERR_SIGNER_SHAPE;
	if (sk_GENERAL_NAME_num(gens) != 1 ||
	    (g = sk_GENERAL_NAME_value(gens, 0))->type != GEN_URI)
		goto out;
	s = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
	n = ASN1_STRING_length(g->d.uniformResourceIdentifier);
	if (n <= 0 || (size_t)n >= size)
		goto out;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			goto out;
	memcpy(uri, s, (size_t)n);
	uri[n] = '\0';
	r = OB_OK;
out:
	GENERAL_NAMES_free(gens);
	if (r != OB_OK)
		return ob_errf(r, "the SAN is not exactly one URI");
	return OB_OK;
}

static int
asn1_secs(const ASN1_TIME *t, long long *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed time");
	*out = (long long)timegm(&tm);
	return OB_OK;
}

int
ob_shape_wic_tbs(const struct ob_shape_key *k, const uint8_t *in, size_t n,
    char what[OB_SHAPE_WHAT])
{
	X509			*x = NULL;
	BASIC_CONSTRAINTS	*bc = NULL;
	const ASN1_OBJECT	*obj;
	const X509_ALGOR	*alg;
	const void		*pval;
	unsigned char		*der = NULL;
	BIGNUM			*bn = NULL;
	char			*serial = NULL, uri[2049];
	long long		 nb = 0, na = 0;
	uint32_t		 flags;
	int			 dlen, ptype, crit, r;
	int			 want = wic_sig_nid(k->alg);

	if (want == NID_undef || k->ca_subject == NULL)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a %s key signs no "
		    "certificates", ob_alg_name(k->alg));
	OB_TRY(tbs_decode(in, n, &x));
	/* Only DER: re-encoded, the structure gives back the same bytes. */
	if ((dlen = i2d_re_X509_tbs(x, &der)) <= 0 || (size_t)dlen != n ||
	    memcmp(der, in, n) != 0) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "not DER");
		goto out;
	}
	r = OB_ERR_SIGNER_SHAPE;
	if (X509_get_version(x) != X509_VERSION_3) {
		r = ob_errf(r, "not an X.509 v3 TBSCertificate");
		goto out;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(x), k->ca_subject) != 0) {
		r = ob_errf(r, "issuer is not this key's CA");
		goto out;
	}
	alg = X509_get0_tbs_sigalg(x);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != want || ptype != V_ASN1_UNDEF) {
		r = ob_errf(r, "signature algorithm is not %s without "
		    "parameters", OBJ_nid2sn(want));
		goto out;
	}
	flags = X509_get_extension_flags(x);
	if ((flags & EXFLAG_INVALID) != 0) {
		r = ob_errf(r, "repeated or malformed extensions");
		goto out;
	}
	if ((bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit,
	    NULL)) == NULL || bc->ca) {
		r = ob_errf(r, "basicConstraints is not CA:FALSE");
		goto out;
	}
	if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(x) &
	    (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) {
		r = ob_errf(r, "keyUsage allows certificate or CRL signing");
		goto out;
	}
	OB_TRY(wic_san(x, uri, sizeof(uri)));
	OB_TRY(asn1_secs(X509_get0_notBefore(x), &nb));
	OB_TRY(asn1_secs(X509_get0_notAfter(x), &na));
	OB_TRY(times_ok(k, nb, na, "WIC"));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL || (serial = BN_bn2hex(bn)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(what, OB_SHAPE_WHAT, "serial=%.64s uri=%.200s", serial,
	    uri);
	r = OB_OK;
out:
	OPENSSL_free(serial);
	BN_free(bn);
	BASIC_CONSTRAINTS_free(bc);
	OPENSSL_free(der);
	X509_free(x);
	return r;
}

/* ---- gateway entries ---- */

int
ob_shape_gateway_entry(const struct ob_shape_key *k, const uint8_t *in,
    size_t n, char what[OB_SHAPE_WHAT])
{
	struct ob_envelope	*env = NULL;
	const struct ob_entry	*e;
	json_t			*top = NULL;
	char			*text = NULL, *ph = NULL, *pl = NULL;
	size_t			 dot, tlen;
	int			 r;

	OB_TRY(split_jws(in, n, &dot));
	/*
	 * The signing input becomes a one-entry envelope (with a
	 * placeholder signature) for core/envelope.c, which checks the
	 * header and the claims as the server will.
	 */
	if ((ph = strndup((const char *)in, dot)) == NULL ||
	    (pl = strndup((const char *)in + dot + 1, n - dot - 1)) == NULL ||
	    strlen(ph) != dot || strlen(pl) != n - dot - 1) {
		r = ph == NULL || pl == NULL ? OB_ERR_ALLOC :
		    ob_errf(OB_ERR_SIGNER_SHAPE, "a NUL in the input");
		goto out;
	}
	if ((top = json_pack("{s:s,s:[{s:s,s:s}]}", "payload", pl,
	    "signatures", "protected", ph, "signature", "AA")) == NULL) {
		r = ob_errf(OB_ERR_SIGNER_SHAPE, "not ASCII");
		goto out;
	}
	OB_TRY(ob_json_dump(top, &text, &tlen));
	if ((r = ob_envelope_parse(text, tlen, 0, &env)) != OB_OK) {
		r = ob_err_prefix(OB_ERR_SIGNER_SHAPE, "%s", ob_err_name(r));
		goto out;
	}
	e = &env->entries[0];
	r = OB_ERR_SIGNER_SHAPE;
	if (e->role != OB_ROLE_GATEWAY || e->model != OB_MODEL_OWNER_MEDIATED ||
	    e->x5c == NULL) {
		r = ob_errf(r, "not a gateway entry of the owner-mediated "
		    "model with x5c");
		goto out;
	}
	if (e->alg != k->alg) {
		r = ob_errf(r, "alg %s, the key's is %s", ob_alg_name(e->alg),
		    ob_alg_name(k->alg));
		goto out;
	}
	if (k->gateway_id != NULL && strcmp(e->kid, k->gateway_id) != 0) {
		r = ob_errf(r, "kid is not the gateway id %.64s",
		    k->gateway_id);
		goto out;
	}
	if (e->sat < 0 || e->sat > TIME_MAX || (e->sat > k->now ?
	    e->sat - k->now : k->now - e->sat) > k->max_skew) {
		r = ob_errf(OB_ERR_SIGNER_LIFETIME, "ob_iat %lld is more than "
		    "%lld s from now", e->sat, k->max_skew);
		goto out;
	}
	(void)snprintf(what, OB_SHAPE_WHAT, "sub=%.200s jti=%.64s",
	    env->claims.sub, env->claims.jti);
	r = OB_OK;
out:
	ob_envelope_free(&env);
	json_decref(top);
	free(text);
	free(ph);
	free(pl);
	return r;
}
