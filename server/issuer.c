/*
 * The credential issuer (docs/credentials.md).  Both credentials are built
 * in memory, signed through the token, verified with the issuer
 * certificate's public key, and only then handed out.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/deconst.h"
#include "core/err.h"
#include "server/issuer.h"
#include "core/json.h"
#include "core/jwk.h"
#include "tokens/remote.h"
#include "tokens/token.h"

#define ISS_MAX_CHAIN	8
#define ISS_MAX_URI	2048
#define WIC_EXT_FIXED	3	/* constant extensions before the SKI */
#define WIC_EXT_N	4	/* and the AKI after it */

struct ob_issuer {
	struct ob_token	*tok;
	enum ob_alg	 alg;
	EVP_PKEY	*capub;		/* the issuer certificate's key */
	X509		*ca;		/* first certificate of the chain */
	STACK_OF(X509)	*chain;		/* every certificate, ca first */
	char		*chain_pem;
	char		*iss;
	ASN1_OBJECT	*oid;		/* the owner-binding extension */
	long long	 lifetime;
	int		 subject_ou;	/* wic.subject_ou */
	pthread_mutex_t	 mu;		/* signing, unless concurrent */
	int		 mu_init;
	int		 concurrent;	/* iss_concurrent() */
	X509_EXTENSION	*ext[WIC_EXT_N];	/* wic_ext_const() */
	/* A "signer:" key: the helper's client and the key's name there. */
	struct ob_signer *signer;
	char		*signer_key;
};

/* Other issuer CAs, served in the JWKS only (decision 159). */
struct iss_pub {
	STACK_OF(X509)	*chain;		/* the CA first */
	EVP_PKEY	*key;		/* the CA's key */
	enum ob_alg	 alg;
	char		 kid[44];	/* RFC 7638 thumbprint */
};

/* A growing DER buffer; err is sticky. */
struct der {
	unsigned char	*p;
	size_t		 n, cap;
	int		 err;
};

static void
der_put(struct der *d, const void *b, size_t n)
{
	unsigned char	*np;
	size_t		 cap;

	if (d->err)
		return;
	if (d->n + n > d->cap) {
		cap = (d->n + n) * 2 + 64;
		if ((np = realloc(d->p, cap)) == NULL) {
			d->err = 1;
			return;
		}
		d->p = np;
		d->cap = cap;
	}
	if (n > 0)
		memcpy(d->p + d->n, b, n);
	d->n += n;
}

/* Tag and definite length (short or long form). */
static void
der_tl(struct der *d, unsigned char tag, size_t len)
{
	unsigned char	 h[10];
	size_t		 i = 0, k;

	h[i++] = tag;
	if (len < 0x80)
		h[i++] = (unsigned char)len;
	else {
		for (k = 0; (len >> (8 * k)) != 0 && k < sizeof(size_t); k++)
			;
		h[i++] = (unsigned char)(0x80 | k);
		while (k-- > 0)
			h[i++] = (unsigned char)(len >> (8 * k));
	}
	der_put(d, h, i);
}

static void
der_tlv(struct der *d, unsigned char tag, const void *b, size_t n)
{
	der_tl(d, tag, n);
	der_put(d, b, n);
}

static void
der_wrap(struct der *d, unsigned char tag, struct der *in)
{
	if (in->err)
		d->err = 1;
	der_tlv(d, tag, in->p, in->n);
}

static void
der_free(struct der *d)
{
	free(d->p);
	memset(d, 0, sizeof(*d));
}

/* i2d output of an OpenSSL object appended to d. */
#define DER_I2D(d, fn, obj) do {					\
	unsigned char *p_ = NULL;					\
	int n_ = fn((obj), &p_);					\
	if (n_ <= 0)							\
		(d)->err = 1;						\
	else								\
		der_put((d), p_, (size_t)n_);				\
	OPENSSL_free(p_);						\
} while (0)

static void
der_oid(struct der *d, int nid)
{
	DER_I2D(d, i2d_ASN1_OBJECT, OBJ_nid2obj(nid));
}

/* One Attribute ::= SEQUENCE { type, SET OF value } with sorted values. */
struct dval {
	unsigned char	*p;
	size_t		 n;
};

static int
dval_cmp(const void *a, const void *b)
{
	const struct dval	*x = a, *y = b;
	size_t			 n = x->n < y->n ? x->n : y->n;
	int			 c = memcmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static void
der_attr(struct der *d, int nid, struct dval *vals, size_t nv)
{
	struct der	 set = { 0 }, seq = { 0 };
	size_t		 i;

	/* DER: the values of a SET OF in ascending order of encoding. */
	qsort(vals, nv, sizeof(*vals), dval_cmp);
	for (i = 0; i < nv; i++)
		der_put(&set, vals[i].p, vals[i].n);
	der_oid(&seq, nid);
	der_wrap(&seq, 0x31, &set);
	der_wrap(d, 0x30, &seq);
	der_free(&set);
	der_free(&seq);
}

static void
der_attr1(struct der *d, int nid, struct der *val)
{
	struct dval v;

	if (val->err)
		d->err = 1;
	v.p = val->p;
	v.n = val->n;
	der_attr(d, nid, &v, 1);
}

static int
b64_32(const char *s, unsigned char out[32])
{
	unsigned char	*b = NULL;
	size_t		 n;
	int		 r;

	if (s == NULL)
		return ob_errf(OB_ERR_VERDICT_INCOMPLETE, "a hash is missing");
	if ((r = ob_b64url_decode(s, strlen(s), 32, &b, &n)) != OB_OK ||
	    n != 32) {
		free(b);
		return ob_errf(OB_ERR_VERDICT_INCOMPLETE, "\"%.64s\" is not a "
		    "base64url SHA-256", s);
	}
	memcpy(out, b, 32);
	free(b);
	return OB_OK;
}

/*
 * The owner binding: SEQUENCE OF Attribute, the value of
 * subjectDirectoryAttributes (2.5.29.9) or of the configured extension.
 * docs/credentials.md has the ASN.1 and an example.
 */
static int
owner_binding(const struct ob_verdict *v, struct der *out)
{
	struct der	 a = { 0 }, t = { 0 }, bits = { 0 };
	struct dval	 desc[5];
	char		 buf[5][300];
	const char	*names[5], *vals[5];
	unsigned char	 h[32];
	X509_NAME	*nm = NULL;
	ASN1_TIME	*tm = NULL;
	size_t		 i, nd = 0;
	int		 r;

	memset(desc, 0, sizeof(desc));
	/* owner: the owner's Name, one RDN uid=<owner id>. */
	if ((nm = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_NID(nm, NID_userId, MBSTRING_UTF8,
	    (const unsigned char *)v->owner, -1, -1, 0)) {
		r = ob_errf(OB_ERR_CRED_BUILD, "owner id as a Name");
		goto out;
	}
	DER_I2D(&t, i2d_X509_NAME, nm);
	der_attr1(&a, NID_owner, &t);
	der_free(&t);
	/* x500UniqueIdentifier: owner key thumbprint or gateway leaf hash. */
	OB_TRY(b64_32(v->gateway != NULL ? v->gateway_x5t : v->owner_jkt, h));
	der_put(&bits, "", 1);		/* no unused bits */
	der_put(&bits, h, sizeof(h));
	der_wrap(&t, 0x03, &bits);
	der_attr1(&a, NID_x500UniqueIdentifier, &t);
	der_free(&t);
	/* description: name=value pairs, one UTF8String each. */
	names[nd] = "type", vals[nd++] = v->owner_type;
	names[nd] = "kind", vals[nd++] = v->owner_kind;
	names[nd] = "model", vals[nd++] = v->model;
	names[nd] = "assurance", vals[nd++] = v->assurance;
	if (v->gateway != NULL)
		names[nd] = "gateway", vals[nd++] = v->gateway;
	for (i = 0; i < nd; i++) {
		struct der s = { 0 };
		int n = snprintf(buf[i], sizeof(buf[i]), "%s=%s", names[i],
		    vals[i]);

		if (n < 0 || (size_t)n >= sizeof(buf[i])) {
			r = ob_errf(OB_ERR_CRED_BUILD, "%s too long", names[i]);
			goto out;
		}
		der_tlv(&s, 0x0c, buf[i], (size_t)n);
		desc[i].p = s.p;
		desc[i].n = s.n;
		if (s.err) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	der_attr(&a, NID_description, desc, nd);
	/* signingTime: when the owner (or gateway) approved. */
	if ((tm = ASN1_TIME_set(NULL, (time_t)v->approved_at)) == NULL) {
		r = ob_errf(OB_ERR_CRED_BUILD, "approval time");
		goto out;
	}
	DER_I2D(&t, i2d_ASN1_TIME, tm);
	der_attr1(&a, NID_pkcs9_signingTime, &t);
	der_free(&t);
	/* messageDigest: SHA-256 of the approved envelope bytes. */
	OB_TRY(b64_32(v->envelope_sha256, h));
	der_tlv(&t, 0x04, h, sizeof(h));
	der_attr1(&a, NID_pkcs9_messageDigest, &t);
	der_wrap(out, 0x30, &a);
	r = out->err ? OB_ERR_ALLOC : OB_OK;
out:
	for (i = 0; i < nd; i++)
		free(desc[i].p);
	der_free(&a);
	der_free(&t);
	der_free(&bits);
	X509_NAME_free(nm);
	ASN1_TIME_free(tm);
	return r;
}

static void
iss_unlock(pthread_mutex_t *mu)
{
	(void)pthread_mutex_unlock(mu);
}

/*
 * Whether signatures may be asked for from several threads at once: a
 * backend marked concurrent, or the helper's client (tokens/remote.c,
 * decision 127: several requests in flight on its connection).  Any
 * other token signs under the issuer's lock.
 */
static int
iss_concurrent(const struct ob_issuer *is)
{
	return ob_token_concurrent(is->tok) ||
	    strcmp(ob_token_kind(is->tok), "remote") == 0;
}

/* Sign through the token, under the issuer's lock unless concurrent. */
static int
iss_sign(struct ob_issuer *is, const unsigned char *msg, size_t len,
    const struct ob_verdict *v, const char *role, long long exp,
    unsigned char **sig, size_t *siglen)
{
	struct ob_approval	 what;
	int			 r;

	what.sub = v->agent;
	what.aud = is->iss;
	what.owner = v->owner;
	what.model = v->model;
	what.role = role;
	what.exp = exp;
	if (is->concurrent)
		return ob_token_sign(is->tok, msg, len, &what, sig, siglen);
	if (pthread_mutex_lock(&is->mu) != 0)
		return ob_errf(OB_ERR_INVALID_ARG, "issuer lock");
	r = ob_token_sign(is->tok, msg, len, &what, sig, siglen);
	iss_unlock(&is->mu);
	return r;
}

/* ---- WIT ---- */

static int
wit_owner_claim(const struct ob_verdict *v, json_t **out)
{
	json_t	*o = NULL, *jwk = NULL;
	int	 r = OB_ERR_ALLOC;

	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "id", json_string(v->owner)) ||
	    json_object_set_new(o, "type", json_string(v->owner_type)))
		goto out;
	if (v->gateway == NULL) {
		if ((r = ob_json_parse_object(v->owner_jwk,
		    strlen(v->owner_jwk), &jwk)) != OB_OK) {
			r = ob_errf(OB_ERR_VERDICT_INCOMPLETE, "owner_jwk is "
			    "not a JSON object");
			goto out;
		}
		r = OB_ERR_ALLOC;
		if (json_object_set(o, "jwk", jwk) ||
		    json_object_set_new(o, "jkt", json_string(v->owner_jkt)))
			goto out;
	} else if (json_object_set_new(o, "x5t#S256",
	    json_string(v->gateway_x5t)) ||
	    json_object_set_new(o, "gateway", json_string(v->gateway)))
		goto out;
	if (json_object_set_new(o, "kind", json_string(v->owner_kind)) ||
	    json_object_set_new(o, "assurance", json_string(v->assurance)) ||
	    json_object_set_new(o, "model", json_string(v->model)) ||
	    (v->owner_group != NULL && json_object_set_new(o, "group",
	    json_string(v->owner_group))) ||
	    json_object_set_new(o, "approved_at",
	    json_integer(v->approved_at)) ||
	    json_object_set_new(o, "envelope_sha256",
	    json_string(v->envelope_sha256)) ||
	    (v->renewal_of != NULL && (json_object_set_new(o, "renewal_of",
	    json_string(v->renewal_of)) || json_object_set_new(o,
	    "renew_until", json_integer(v->renew_until)))))
		goto out;
	*out = o;
	o = NULL;
	r = OB_OK;
out:
	json_decref(o);
	json_decref(jwk);
	return r;
}

static int
b64_json(const json_t *j, char **out)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_json_dump(j, &s, &n)) != OB_OK)
		return r;
	r = ob_b64url_encode((unsigned char *)s, n, out);
	free(s);
	return r;
}

/* The WIT's signing input, "header.claims" (base64url), in *out. */
static int
wit_input(struct ob_issuer *is, const struct ob_verdict *v, long long iat,
    long long exp, const char *jti, json_t *owner, char **out, size_t *outlen)
{
	json_t		*hdr = NULL, *cl = NULL, *jwk = NULL;
	char		*h64 = NULL, *c64 = NULL, *tbs = NULL;
	size_t		 n;
	int		 r = OB_ERR_ALLOC;

	if ((r = ob_json_parse_object(v->agent_jwk, strlen(v->agent_jwk),
	    &jwk)) != OB_OK) {
		r = ob_errf(OB_ERR_VERDICT_INCOMPLETE, "agent_jwk is not a JSON "
		    "object");
		goto out;
	}
	r = OB_ERR_ALLOC;
	if ((hdr = json_pack("{s:s,s:s,s:s}", "alg", ob_alg_name(is->alg),
	    "kid", ob_token_kid(is->tok), "typ", "wit+jwt")) == NULL ||
	    json_object_set_new(jwk, "alg", json_string(v->agent_alg)) ||
	    (cl = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "iss", is->iss,
	    "sub", v->agent, "iat", (json_int_t)iat, "exp", (json_int_t)exp,
	    "jti", jti, "sub_profile", "ai_agent")) == NULL ||
	    (v->dns_name != NULL && json_object_set_new(cl, "dns_name",
	    json_string(v->dns_name))) ||
	    (v->logical_id != NULL && json_object_set_new(cl, "logical_id",
	    json_string(v->logical_id))) ||
	    (v->client_id != NULL && json_object_set_new(cl, "client_id",
	    json_string(v->client_id))) ||
	    json_object_set_new(cl, "cnf", json_pack("{s:O}", "jwk", jwk)) ||
	    json_object_set(cl, OB_WIT_OWNER_CLAIM, owner))
		goto out;
	OB_TRY(b64_json(hdr, &h64));
	OB_TRY(b64_json(cl, &c64));
	n = strlen(h64) + 1 + strlen(c64);
	if ((tbs = malloc(n + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(tbs, n + 1, "%s.%s", h64, c64);
	*out = tbs;
	*outlen = n;
	r = OB_OK;
out:
	json_decref(hdr);
	json_decref(cl);
	json_decref(jwk);
	free(h64);
	free(c64);
	return r;
}

/*
 * The WIT from its signing input and signature.  The token (or the
 * helper, for "signer:" keys) verified the signature with its public key,
 * which ob_issuer_open found equal to the CA certificate's key: a second
 * verification with the certificate's key would check the same equation
 * again (one more ECDSA verification per credential).
 */
static int
wit_finish(const char *tbs, size_t n, const unsigned char *sig,
    size_t siglen, char **out)
{
	char	*s64 = NULL, *wit;
	size_t	 len;
	int	 r;

	OB_TRY(ob_b64url_encode(sig, siglen, &s64));
	len = n + 1 + strlen(s64) + 1;
	if ((wit = malloc(len)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(wit, len, "%s.%s", tbs, s64);
	*out = wit;
	r = OB_OK;
out:
	free(s64);
	return r;
}

/* ---- WIC ---- */

static int
sig_nid(enum ob_alg alg)
{
	switch (alg) {
	case OB_ALG_ES256:
		return NID_ecdsa_with_SHA256;
	case OB_ALG_ES384:
		return NID_ecdsa_with_SHA384;
	case OB_ALG_EDDSA:
		return NID_ED25519;
	default:
		return NID_undef;
	}
}

static int
wic_ext_conf(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*e;
	int		 ok;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return ob_errf(OB_ERR_CRED_BUILD, "%s extension",
		    OBJ_nid2sn(nid));
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? OB_OK : OB_ERR_ALLOC;
}

/*
 * The extensions every WIC of this issuer has, the same bytes each time,
 * made once from their configuration strings (X509V3_EXT_conf_nid parses
 * them, which cost as much as the rest of the TBS): basicConstraints,
 * keyUsage, extKeyUsage and, last, authorityKeyIdentifier, which names
 * the CA certificate's key.  Added in the order they had.
 */
static int
wic_ext_const(struct ob_issuer *is)
{
	static const struct {
		int		 nid;
		const char	*value;
	} c[WIC_EXT_N] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth,clientAuth" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509V3_CTX	 ctx;
	X509		*subj;
	size_t		 i;
	int		 r = OB_OK;

	if ((subj = X509_new()) == NULL)
		return OB_ERR_ALLOC;
	X509V3_set_ctx(&ctx, is->ca, subj, NULL, NULL, 0);
	for (i = 0; i < WIC_EXT_N && r == OB_OK; i++)
		if ((is->ext[i] = X509V3_EXT_conf_nid(NULL, &ctx, c[i].nid,
		    c[i].value)) == NULL)
			r = ob_errf(OB_ERR_ISSUER_CHAIN, "%s extension from the "
			    "CA certificate", OBJ_nid2sn(c[i].nid));
	X509_free(subj);
	return r;
}

/* Exactly one SAN, a URI: the agent id (SPIFFE X509-SVID). */
static int
wic_san(X509 *x, const char *sub)
{
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*g = NULL;
	ASN1_IA5STRING	*ia5 = NULL;
	size_t		 i, n = strlen(sub);
	int		 r = OB_ERR_ALLOC;

	for (i = 0; i < n; i++)
		if ((unsigned char)sub[i] <= 0x20 ||
		    (unsigned char)sub[i] >= 0x7f) {
			return ob_errf(OB_ERR_CRED_BUILD, "agent id is not an "
			    "ASCII URI");
		}
	if (n == 0 || n > ISS_MAX_URI)
		return ob_errf(OB_ERR_CRED_BUILD, "agent id length %zu", n);
	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (g = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, sub, (int)n))
		goto out;
	GENERAL_NAME_set0_value(g, GEN_URI, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(gens, g))
		goto out;
	g = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	r = OB_OK;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return r;
}

/* 16 random bytes, positive, first byte 0x40..0x7f: 126 random bits. */
static int
wic_serial(X509 *x)
{
	unsigned char	 b[16];
	BIGNUM		*bn = NULL;
	ASN1_INTEGER	*ai = NULL;
	int		 r = OB_ERR_ALLOC;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return ob_errf(OB_ERR_RANDOM, "serial");
	b[0] = (unsigned char)((b[0] & 0x3f) | 0x40);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(x, ai) != 1)
		goto out;
	r = OB_OK;
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return r;
}

/*
 * The WIC's SubjectPublicKeyInfo, set from the agent key's encoded form
 * (EC point, Ed25519 bytes) without X509_set_pubkey: in OpenSSL 3 that
 * encodes the key and decodes it again through the provider decoders,
 * 2.2M instructions a credential (docs/benchmarks.md).  RSA keys take
 * the general path.
 */
static int
wic_spki(X509 *x, EVP_PKEY *agent)
{
	X509_PUBKEY	*pk = X509_get_X509_PUBKEY(x);
	unsigned char	*enc = NULL;
	size_t		 n = 0;
	char		 grp[32];
	int		 nid, curve = NID_undef, ok;

	if (EVP_PKEY_is_a(agent, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(agent,
		    OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), NULL) != 1 ||
		    (curve = OBJ_sn2nid(grp)) == NID_undef)
			return ob_errf(OB_ERR_CRED_BUILD, "agent key curve");
		nid = NID_X9_62_id_ecPublicKey;
	} else if (EVP_PKEY_is_a(agent, "ED25519"))
		nid = NID_ED25519;
	else
		return X509_set_pubkey(x, agent) == 1 ? OB_OK :
		    ob_errf(OB_ERR_CRED_BUILD, "agent public key");
	/* The EC point (uncompressed), or Ed25519's 32 raw bytes. */
	if (pk == NULL || EVP_PKEY_get_octet_string_param(agent,
	    nid == NID_ED25519 ? OSSL_PKEY_PARAM_PUB_KEY :
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0, &n) != 1 || n == 0 ||
	    n > 256 || (enc = OPENSSL_malloc(n)) == NULL ||
	    EVP_PKEY_get_octet_string_param(agent,
	    nid == NID_ED25519 ? OSSL_PKEY_PARAM_PUB_KEY :
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc, n, &n) != 1) {
		OPENSSL_free(enc);
		return ob_errf(OB_ERR_CRED_BUILD, "agent public key encoding");
	}
	if (curve != NID_undef)
		ok = X509_PUBKEY_set0_param(pk, OBJ_nid2obj(nid),
		    V_ASN1_OBJECT, OBJ_nid2obj(curve), enc, (int)n);
	else
		ok = X509_PUBKEY_set0_param(pk, OBJ_nid2obj(nid),
		    V_ASN1_UNDEF, NULL, enc, (int)n);
	if (ok != 1) {
		OPENSSL_free(enc);
		return ob_errf(OB_ERR_CRED_BUILD, "SubjectPublicKeyInfo");
	}
	return OB_OK;	/* enc belongs to pk */
}

static int
wic_tbs(struct ob_issuer *is, const struct ob_verdict *v, EVP_PKEY *agent,
    long long iat, long long exp, X509 **out)
{
	X509		*x = NULL;
	X509_NAME	*nm = NULL;
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_ALGOR	*alg;
	struct der	 ob = { 0 };
	size_t		 i;
	int		 r = OB_ERR_ALLOC;

	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) !=
	    1)
		goto out;
	OB_TRY(wic_serial(x));
	if (X509_set_issuer_name(x, X509_get_subject_name(is->ca)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)iat) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)exp) == NULL)
		goto out;
	OB_TRY(wic_spki(x, agent));
	r = OB_ERR_ALLOC;
	if ((nm = X509_NAME_new()) == NULL)
		goto out;
	/*
	 * Subject: [OU=<owner group>,] CN=<agent key thumbprint>; the OU
	 * only when configured (wic.subject_ou) and the owner has a group.
	 */
	if ((is->subject_ou && v->owner_group != NULL &&
	    !X509_NAME_add_entry_by_NID(nm,
	    NID_organizationalUnitName, MBSTRING_UTF8,
	    (const unsigned char *)v->owner_group, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_NID(nm, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)v->agent_jkt, -1, -1, 0) ||
	    X509_set_subject_name(x, nm) != 1) {
		r = ob_errf(OB_ERR_CRED_BUILD, "subject name");
		goto out;
	}
	X509V3_set_ctx(&ctx, is->ca, x, NULL, NULL, 0);
	/* The constant ones were made at open (wic_ext_const). */
	for (i = 0; i < WIC_EXT_FIXED; i++)
		if (!X509_add_ext(x, is->ext[i], -1))
			goto out;
	OB_TRY(wic_ext_conf(x, &ctx, NID_subject_key_identifier, "hash"));
	r = OB_ERR_ALLOC;
	if (!X509_add_ext(x, is->ext[WIC_EXT_FIXED], -1))
		goto out;
	OB_TRY(wic_san(x, v->agent));
	OB_TRY(owner_binding(v, &ob));
	r = OB_ERR_ALLOC;
	if ((os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, ob.p, (int)ob.n) ||
	    (e = X509_EXTENSION_create_by_OBJ(NULL, is->oid, 0, os)) == NULL ||
	    !X509_add_ext(x, e, -1))
		goto out;
	/*
	 * The signature algorithm inside the TBS, before it is encoded.
	 * OpenSSL has no setter for it; x is the certificate built here.
	 */
	alg = OB_DECONST(X509_ALGOR *, X509_get0_tbs_sigalg(x));
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid(is->alg)), V_ASN1_UNDEF,
	    NULL) != 1)
		goto out;
	*out = x;
	x = NULL;
	r = OB_OK;
out:
	der_free(&ob);
	ASN1_OCTET_STRING_free(os);
	X509_EXTENSION_free(e);
	X509_NAME_free(nm);
	X509_free(x);
	return r;
}

/* The WIC's TBSCertificate, DER (OPENSSL_free), in *out. */
static int
wic_input(struct ob_issuer *is, const struct ob_verdict *v, EVP_PKEY *agent,
    long long iat, long long exp, unsigned char **out, size_t *outlen)
{
	X509	*x = NULL;
	int	 n, r;

	*out = NULL;
	OB_TRY(wic_tbs(is, v, agent, iat, exp, &x));
	if ((n = i2d_re_X509_tbs(x, out)) <= 0) {
		r = ob_errf(OB_ERR_CRED_BUILD, "TBSCertificate encoding");
		goto out;
	}
	*outlen = (size_t)n;
	r = OB_OK;
out:
	X509_free(x);
	return r;
}

/*
 * The WIC's DER from its TBSCertificate and signature.  It is not parsed
 * back: the TBS bytes are OpenSSL's own encoding, the signature over
 * exactly those bytes was checked against the issuer key (by the token or
 * the helper), and the wrapper is three DER headers (test_issuer and the
 * interop tests load every WIC with OpenSSL and python3-cryptography).
 */
static int
wic_finish(struct ob_issuer *is, const unsigned char *tbs, size_t n,
    const unsigned char *sig, size_t siglen, struct der *cert)
{
	X509_ALGOR	*algid = NULL;
	unsigned char	*der = NULL;
	size_t		 derlen;
	struct der	 body = { 0 }, bits = { 0 }, c = { 0 };
	int		 r;

	/* X.509 carries ECDSA as a DER ECDSA-Sig-Value, not R||S. */
	if (is->alg == OB_ALG_ES256 || is->alg == OB_ALG_ES384)
		OB_TRY(ob_ecdsa_rs_to_der(sig, siglen, &der, &derlen));
	/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature } */
	der_put(&body, tbs, n);
	r = OB_ERR_ALLOC;
	if ((algid = X509_ALGOR_new()) == NULL ||
	    X509_ALGOR_set0(algid, OBJ_nid2obj(sig_nid(is->alg)),
	    V_ASN1_UNDEF, NULL) != 1)
		goto out;
	DER_I2D(&body, i2d_X509_ALGOR, algid);
	der_put(&bits, "", 1);
	if (der != NULL)
		der_put(&bits, der, derlen);
	else
		der_put(&bits, sig, siglen);
	der_wrap(&body, 0x03, &bits);
	der_wrap(&c, 0x30, &body);
	if (c.err)
		goto out;
	*cert = c;
	memset(&c, 0, sizeof(c));
	r = OB_OK;
out:
	X509_ALGOR_free(algid);
	free(der);
	der_free(&body);
	der_free(&bits);
	der_free(&c);
	return r;
}

/*
 * Both signatures of a credential.  Through the helper they are in flight
 * at once (ob_signer_sign_all: one wait, not two in a row); any other
 * token signs them one after the other.
 */
static int
iss_sign_both(struct ob_issuer *is, const struct ob_verdict *v,
    long long exp, struct ob_signer_job jobs[2])
{
	int r;

	if (is->signer != NULL)
		return ob_signer_sign_all(is->signer, is->signer_key,
		    v->agent, v->owner, jobs, 2);
	OB_TRY(iss_sign(is, jobs[0].in, jobs[0].len, v, "wit", exp,
	    &jobs[0].sig, &jobs[0].siglen));
	r = iss_sign(is, jobs[1].in, jobs[1].len, v, "wic", exp,
	    &jobs[1].sig, &jobs[1].siglen);
out:
	return r;
}

/* ---- issue ---- */

static int
v_need(const char *s, const char *what)
{
	if (s == NULL || *s == '\0')
		return ob_errf(OB_ERR_VERDICT_INCOMPLETE, "no %s", what);
	return OB_OK;
}

/* The verdict's members the credential needs, and their agreement. */
static int
verdict_check(const struct ob_verdict *v, EVP_PKEY **agent)
{
	json_t		*jwk = NULL;
	EVP_PKEY	*k = NULL;
	enum ob_alg	 alg;
	char		 jkt[44];
	int		 r;

	if (v == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "no verdict");
	OB_TRY(v_need(v->agent, "agent"));
	OB_TRY(v_need(v->agent_jkt, "agent_jkt"));
	OB_TRY(v_need(v->agent_alg, "agent_alg"));
	OB_TRY(v_need(v->agent_jwk, "agent_jwk"));
	OB_TRY(v_need(v->owner, "owner"));
	OB_TRY(v_need(v->owner_type, "owner_type"));
	OB_TRY(v_need(v->owner_kind, "owner_kind"));
	OB_TRY(v_need(v->model, "model"));
	OB_TRY(v_need(v->assurance, "assurance"));
	OB_TRY(v_need(v->envelope_sha256, "envelope_sha256"));
	if (v->gateway != NULL)
		OB_TRY(v_need(v->gateway_x5t, "gateway_x5t"));
	else {
		OB_TRY(v_need(v->owner_jwk, "owner_jwk"));
		OB_TRY(v_need(v->owner_jkt, "owner_jkt"));
	}
	if (v->approved_at <= 0)
		return ob_errf(OB_ERR_VERDICT_INCOMPLETE, "no approved_at");
	/* The key certified is the key the owner approved.  The verifier
	 * imported it a moment ago: the cache has it (core/jwk.c). */
	if (ob_json_parse_object(v->agent_jwk, strlen(v->agent_jwk), &jwk) !=
	    OB_OK || ob_jwk_to_pkey_cached(jwk, jkt, &k) != OB_OK ||
	    strcmp(jkt, v->agent_jkt) != 0) {
		r = ob_errf(OB_ERR_VERDICT_INCOMPLETE, "agent_jwk is not the "
		    "key of agent_jkt");
		goto out;
	}
	if (ob_alg_from_name(v->agent_alg, &alg) != OB_OK ||
	    ob_alg_check_key(alg, k) != OB_OK) {
		r = ob_errf(OB_ERR_VERDICT_INCOMPLETE, "agent_alg does not fit "
		    "agent_jwk");
		goto out;
	}
	*agent = k;
	k = NULL;
	r = OB_OK;
out:
	EVP_PKEY_free(k);
	json_decref(jwk);
	return r;
}

static int
pem_append(X509 *x, BIO *b)
{
	return PEM_write_bio_X509(b, x) == 1 ? OB_OK : OB_ERR_ALLOC;
}

static int
bio_text(BIO *b, char **out)
{
	char	*p, *s;
	long	 n = BIO_get_mem_data(b, &p);

	if (n <= 0 || (s = malloc((size_t)n + 1)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	*out = s;
	return OB_OK;
}

int
ob_issuer_issue(struct ob_issuer *is, const struct ob_verdict *v,
    long long now, long long lifetime, struct ob_credential **out)
{
	struct ob_credential	*c = NULL;
	EVP_PKEY		*agent = NULL;
	struct der		 wic = { 0 };
	struct ob_signer_job	 jobs[2];
	BIO			*b = NULL;
	char			*wtbs = NULL;
	unsigned char		*ctbs = NULL, rnd[16];
	size_t			 wlen = 0, clen = 0;
	long long		 exp;
	int			 r;

	ob_err_clear();
	memset(jobs, 0, sizeof(jobs));
	if (is == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "issuer and out are "
		    "required");
	if (now == 0)
		now = (long long)time(NULL);
	if (lifetime == 0)
		lifetime = is->lifetime;
	if (now <= 0 || lifetime <= 0 || lifetime > OB_CRED_MAX_LIFETIME)
		return ob_errf(OB_ERR_INVALID_ARG, "lifetime %lld s (1..%d)",
		    lifetime, OB_CRED_MAX_LIFETIME);
	exp = now + lifetime;
	ERR_set_mark();
	OB_TRY(verdict_check(v, &agent));
	/* The issuer CA must outlive the credential. */
	if (X509_cmp_time(X509_get0_notBefore(is->ca), &(time_t){ (time_t)now })
	    >= 0 || X509_cmp_time(X509_get0_notAfter(is->ca),
	    &(time_t){ (time_t)exp }) <= 0) {
		r = ob_errf(OB_ERR_ISSUER_VALIDITY, "credential %lld..%lld",
		    now, exp);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = ob_errf(OB_ERR_RANDOM, "jti");
		goto out;
	}
	OB_TRY(ob_b64url_encode(rnd, sizeof(rnd), &c->jti));
	OB_TRY(wit_owner_claim(v, &c->owner));
	OB_TRY(wit_input(is, v, now, exp, c->jti, c->owner, &wtbs, &wlen));
	OB_TRY(wic_input(is, v, agent, now, exp, &ctbs, &clen));
	jobs[0].purpose = OB_SP_WIT;
	jobs[0].in = (const uint8_t *)wtbs;
	jobs[0].len = wlen;
	jobs[1].purpose = OB_SP_WIC_TBS;
	jobs[1].in = ctbs;
	jobs[1].len = clen;
	OB_TRY(iss_sign_both(is, v, exp, jobs));
	OB_TRY(wit_finish(wtbs, wlen, jobs[0].sig, jobs[0].siglen, &c->wit));
	OB_TRY(wic_finish(is, ctbs, clen, jobs[1].sig, jobs[1].siglen, &wic));
	r = OB_ERR_ALLOC;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (PEM_write_bio(b, PEM_STRING_X509, "", wic.p, (long)wic.n) <= 0 ||
	    BIO_puts(b, is->chain_pem) <= 0)
		goto out;
	OB_TRY(bio_text(b, &c->wic_pem));
	c->expires_at = exp;
	*out = c;
	c = NULL;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	BIO_free(b);
	free(wtbs);
	OPENSSL_free(ctbs);
	free(jobs[0].sig);
	free(jobs[1].sig);
	der_free(&wic);
	EVP_PKEY_free(agent);
	ob_credential_free(&c);
	return r;
}

void
ob_credential_free(struct ob_credential **cp)
{
	struct ob_credential *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	free(c->wit);
	free(c->wic_pem);
	json_decref(c->owner);
	free(c->jti);
	free(c);
	*cp = NULL;
}

/* ---- open ---- */

/* The PEM certificates of pem (what names it in errors) in *out, and
 * their text again in *text if text is not NULL. */
static int
chain_parse(const char *pem, const char *what, STACK_OF(X509) **out,
    char **text)
{
	BIO	*b = NULL, *o = NULL;
	X509	*x;
	int	 r = OB_ERR_ALLOC;

	if ((*out = sk_X509_new_null()) == NULL ||
	    (b = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (o = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(*out) >= ISS_MAX_CHAIN ||
		    !sk_X509_push(*out, x)) {
			X509_free(x);
			r = ob_errf(OB_ERR_ISSUER_CONFIG, "%s: more than %d "
			    "certificates", what, ISS_MAX_CHAIN);
			goto out;
		}
		OB_TRY(pem_append(x, o));
	}
	if (sk_X509_num(*out) == 0) {
		r = ob_errf(OB_ERR_ISSUER_CONFIG, "%s: no PEM certificate",
		    what);
		goto out;
	}
	if (text != NULL)
		OB_TRY(bio_text(o, text));
	r = OB_OK;
out:
	BIO_free(b);
	BIO_free(o);
	return r;
}

/* The first certificate of a chain signs certificates. */
static int
ca_check(X509 *ca, const char *what)
{
	if (X509_check_ca(ca) == 0 ||
	    ((X509_get_extension_flags(ca) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0))
		return ob_errf(OB_ERR_ISSUER_CHAIN, "%s[0] is not a CA that may "
		    "sign certificates", what);
	return OB_OK;
}

/*
 * The published chains in pub[0..n-1] (*np of them loaded, to free even on
 * an error): checked as the issuer's own, each holding a key no other
 * chain here holds, nor the issuer.
 */
static int
publish_load(const struct ob_issuer *is, const char *const *pem, size_t n,
    struct iss_pub *pub, size_t *np)
{
	struct iss_pub	*p;
	char		 what[32];
	size_t		 i, j;
	int		 r;

	*np = 0;
	if (n > OB_ISSUER_MAX_PUBLISH || (n > 0 && pem == NULL))
		return ob_errf(OB_ERR_ISSUER_CONFIG, "publish: at most %d "
		    "chains", OB_ISSUER_MAX_PUBLISH);
	for (i = 0; i < n; i++) {
		p = &pub[i];
		snprintf(what, sizeof(what), "publish[%zu]", i);
		if (pem[i] == NULL)
			return ob_errf(OB_ERR_ISSUER_CONFIG, "%s: no PEM", what);
		*np = i + 1;
		if ((r = chain_parse(pem[i], what, &p->chain, NULL)) != OB_OK ||
		    (r = ca_check(sk_X509_value(p->chain, 0), what)) != OB_OK)
			return r;
		if ((p->key = X509_get_pubkey(sk_X509_value(p->chain, 0))) ==
		    NULL || (p->alg = ob_alg_for_key(p->key)) ==
		    OB_ALG_INVALID || sig_nid(p->alg) == NID_undef)
			return ob_errf(OB_ERR_ISSUER_CHAIN, "%s[0]: no key of a "
			    "kind the issuer signs with", what);
		if (ob_pkey_equal(p->key, is->capub))
			return ob_errf(OB_ERR_ISSUER_CONFIG, "%s holds the "
			    "issuer's own key: publish lists other keys only",
			    what);
		for (j = 0; j < i; j++)
			if (ob_pkey_equal(p->key, pub[j].key))
				return ob_errf(OB_ERR_ISSUER_CONFIG, "%s holds "
				    "the key of publish[%zu]", what, j);
		if ((r = ob_pkey_thumbprint(p->key, p->kid)) != OB_OK)
			return r;
	}
	return OB_OK;
}

static void
publish_free(struct iss_pub *pub, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sk_X509_pop_free(pub[i].chain, X509_free);
		EVP_PKEY_free(pub[i].key);
	}
}

int
ob_issuer_open(const struct ob_issuer_cfg *cfg, struct ob_issuer **out)
{
	struct ob_token_opts	 topts;
	struct ob_issuer	*is = NULL;
	int			 r;

	ob_err_clear();
	if (cfg == NULL || out == NULL || cfg->key_uri == NULL ||
	    cfg->chain_pem == NULL || cfg->iss == NULL || *cfg->iss == '\0')
		return ob_errf(OB_ERR_ISSUER_CONFIG, "key_uri, chain_pem and "
		    "iss are required");
	if (cfg->lifetime < 0 || cfg->lifetime > OB_CRED_MAX_LIFETIME)
		return ob_errf(OB_ERR_ISSUER_CONFIG, "lifetime %lld s (1..%d)",
		    cfg->lifetime, OB_CRED_MAX_LIFETIME);
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return OB_ERR_ALLOC;
	ERR_set_mark();
	if (pthread_mutex_init(&is->mu, NULL) != 0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	is->mu_init = 1;
	is->lifetime = cfg->lifetime != 0 ? cfg->lifetime :
	    OB_CRED_DEF_LIFETIME;
	is->subject_ou = cfg->subject_ou;
	if ((is->iss = strdup(cfg->iss)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	/* Only numeric OIDs: a name could mean another extension. */
	is->oid = cfg->owner_oid == NULL ?
	    OBJ_nid2obj(NID_subject_directory_attributes) :
	    OBJ_txt2obj(cfg->owner_oid, 1);
	if (is->oid == NULL) {
		r = ob_errf(OB_ERR_ISSUER_CONFIG, "owner_oid \"%.64s\" is not a "
		    "dotted OID", cfg->owner_oid);
		goto out;
	}
	if (cfg->owner_oid != NULL && OBJ_obj2nid(is->oid) != NID_undef) {
		r = ob_errf(OB_ERR_ISSUER_CONFIG, "owner_oid %.64s is the OID "
		    "of something else (%s)", cfg->owner_oid,
		    OBJ_nid2sn(OBJ_obj2nid(is->oid)));
		goto out;
	}
	OB_TRY(chain_parse(cfg->chain_pem, "chain", &is->chain,
	    &is->chain_pem));
	is->ca = sk_X509_value(is->chain, 0);
	memset(&topts, 0, sizeof(topts));
	topts.pin = cfg->pin;
	topts.quiet = 1;
	topts.signer = cfg->signer;
	OB_TRY(ob_token_open(cfg->key_uri, &topts, &is->tok));
	is->alg = ob_token_alg(is->tok);
	is->concurrent = iss_concurrent(is);
	if (strcmp(ob_token_kind(is->tok), "remote") == 0) {
		if ((is->signer_key = strdup(cfg->key_uri +
		    strlen("signer:"))) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		is->signer = cfg->signer;
	}
	if (sig_nid(is->alg) == NID_undef) {
		r = ob_errf(OB_ERR_ISSUER_KEY, "%s", ob_alg_name(is->alg));
		goto out;
	}
	if ((is->capub = X509_get_pubkey(is->ca)) == NULL) {
		r = ob_errf(OB_ERR_ISSUER_CHAIN, "the certificate has no "
		    "usable key");
		goto out;
	}
	if (!ob_pkey_equal(is->capub, ob_token_pubkey(is->tok))) {
		r = ob_errf(OB_ERR_ISSUER_CHAIN, "chain[0] holds another key "
		    "than %.64s", cfg->key_uri);
		goto out;
	}
	OB_TRY(ca_check(is->ca, "chain"));
	OB_TRY(wic_ext_const(is));
	*out = is;
	is = NULL;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	ob_issuer_free(&is);
	return r;
}

void
ob_issuer_free(struct ob_issuer **ip)
{
	struct ob_issuer	*is;
	size_t			 i;

	if (ip == NULL || (is = *ip) == NULL)
		return;
	ob_token_close(&is->tok);
	EVP_PKEY_free(is->capub);
	sk_X509_pop_free(is->chain, X509_free);
	free(is->chain_pem);
	free(is->iss);
	free(is->signer_key);
	for (i = 0; i < WIC_EXT_N; i++)
		X509_EXTENSION_free(is->ext[i]);
	ASN1_OBJECT_free(is->oid);
	if (is->mu_init)
		(void)pthread_mutex_destroy(&is->mu);
	free(is);
	*ip = NULL;
}

/* One JWKS entry: key's public JWK, kid, alg, use and the chain as x5c. */
static int
jwks_entry(const EVP_PKEY *key, const char *kid, enum ob_alg alg,
    STACK_OF(X509) *chain, json_t *keys)
{
	json_t		*jwk = NULL, *x5c = NULL;
	unsigned char	*der = NULL;
	char		*b64 = NULL;
	int		 i, n, r;

	OB_TRY(ob_jwk_from_pkey(key, &jwk));
	r = OB_ERR_ALLOC;
	if ((x5c = json_array()) == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(chain); i++) {
		der = NULL;
		if ((n = i2d_X509(sk_X509_value(chain, i), &der)) <= 0)
			goto out;
		/* x5c is standard base64 with padding (RFC 7517 4.7). */
		if ((b64 = malloc((size_t)(n + 2) / 3 * 4 + 1)) == NULL)
			goto out;
		(void)EVP_EncodeBlock((unsigned char *)b64, der, n);
		OPENSSL_free(der);
		der = NULL;
		if (json_array_append_new(x5c, json_string(b64)))
			goto out;
		free(b64);
		b64 = NULL;
	}
	if (json_object_set_new(jwk, "kid", json_string(kid)) ||
	    json_object_set_new(jwk, "alg", json_string(ob_alg_name(alg))) ||
	    json_object_set_new(jwk, "use", json_string("sig")) ||
	    json_object_set(jwk, "x5c", x5c) || json_array_append(keys, jwk))
		goto out;
	r = OB_OK;
out:
	OPENSSL_free(der);
	free(b64);
	json_decref(jwk);
	json_decref(x5c);
	return r;
}

int
ob_issuer_jwks(const struct ob_issuer *is, const char *const *publish_pem,
    size_t npublish, json_t **out)
{
	struct iss_pub	 pub[OB_ISSUER_MAX_PUBLISH];
	json_t		*keys = NULL, *doc;
	size_t		 i, npub = 0;
	int		 r;

	if (is == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "issuer and out are "
		    "required");
	memset(pub, 0, sizeof(pub));
	ERR_set_mark();
	OB_TRY(publish_load(is, publish_pem, npublish, pub, &npub));
	if ((keys = json_array()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	/* The signing key first, then the published ones in their order. */
	OB_TRY(jwks_entry(ob_token_pubkey(is->tok), ob_token_kid(is->tok),
	    is->alg, is->chain, keys));
	for (i = 0; i < npub; i++)
		OB_TRY(jwks_entry(pub[i].key, pub[i].kid, pub[i].alg,
		    pub[i].chain, keys));
	if ((doc = json_pack("{s:O}", "keys", keys)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	*out = doc;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	publish_free(pub, npub);
	json_decref(keys);
	return r;
}
