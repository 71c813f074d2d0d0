/*
 * server-verify/rp_wic.c: a WIC as a TLS client presents it (draft-ietf-
 * wimse-workload-creds, SPIFFE X509-SVID).  The certificates are parsed,
 * the leaf is held to the profile (cheap checks first), the chain is
 * verified against the configured issuer CAs at the time, and the owner
 * binding is decoded through the one bounded reader (core/buf.h).
 * docs/credentials.md gives the binding's ASN.1 and an example.
 */
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
#include "core/buf.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/jwk.h"
#include "core/pkey.h"
#include "server-verify/rp_int.h"

#define WIC_MAX_INPUT	(OB_RP_MAX_CERTS * OB_MAX_CERT * 2)
#define WIC_MAX_URI	2048

/* DER tags the owner binding uses. */
#define T_BITSTR	0x03
#define T_OCTSTR	0x04
#define T_OID		0x06
#define T_UTF8		0x0c
#define T_UTCTIME	0x17
#define T_GENTIME	0x18
#define T_SEQ		0x30
#define T_SET		0x31

/* The owner binding, decoded into buffers of its own. */
struct wic_owner {
	char		id[RP_MAX_ID + 1];
	char		gateway[RP_MAX_ID + 1];
	char		type[16], kind[16], assurance[16], model[24];
	char		hash[44];
	char		env[44];
	long long	approved_at;
};

/* ---- the certificates ---- */

static int
certs_pem(const void *buf, size_t len, STACK_OF(X509) *sk)
{
	BIO		*b;
	X509		*x;
	unsigned long	 e;
	int		 r = OB_OK;

	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return OB_ERR_ALLOC;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) == OB_RP_MAX_CERTS) {
			X509_free(x);
			r = ob_errf(OB_ERR_WIC_PROFILE, "more than %d "
			    "certificates", OB_RP_MAX_CERTS);
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	e = ERR_peek_last_error();
	if (sk_X509_num(sk) == 0 || (e != 0 &&
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE))
		r = ob_errf(OB_ERR_WIC_PROFILE, "%s", sk_X509_num(sk) == 0 ?
		    "no PEM certificate" : "a PEM block is not a certificate");
out:
	BIO_free(b);
	return r;
}

/* DER certificates one after the other, as in a TLS Certificate
 * message's list; every byte belongs to one. */
static int
certs_der(const unsigned char *buf, size_t len, STACK_OF(X509) *sk)
{
	const unsigned char	*p = buf, *end = buf + len;
	X509			*x;

	while (p < end) {
		if (sk_X509_num(sk) == OB_RP_MAX_CERTS)
			return ob_errf(OB_ERR_WIC_PROFILE, "more than %d "
			    "certificates", OB_RP_MAX_CERTS);
		if ((x = d2i_X509(NULL, &p, (long)(end - p))) == NULL)
			return ob_errf(OB_ERR_WIC_PROFILE, "certificate %d is "
			    "not DER", sk_X509_num(sk));
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			return OB_ERR_ALLOC;
		}
	}
	return OB_OK;
}

static int
certs_parse(const void *buf, size_t len, STACK_OF(X509) **out)
{
	STACK_OF(X509)	*sk;
	const char	*s = buf;
	size_t		 i = 0;
	int		 r;

	if (len == 0 || len > WIC_MAX_INPUT)
		return ob_errf(OB_ERR_WIC_PROFILE, "%zu bytes of certificates",
		    len);
	if ((sk = sk_X509_new_null()) == NULL)
		return OB_ERR_ALLOC;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
	    s[i] == '\n'))
		i++;
	if (len - i >= 10 && memcmp(s + i, "-----BEGIN", 10) == 0)
		r = certs_pem(buf, len, sk);
	else
		r = certs_der(buf, len, sk);
	if (r != OB_OK) {
		sk_X509_pop_free(sk, X509_free);
		return r;
	}
	*out = sk;
	return OB_OK;
}

/* ---- the X509-SVID profile ---- */

/* Exactly one URI SAN, a workload identifier; other names may be there
 * (draft-ietf-wimse-workload-creds: only the URI is the identity). */
static int
wic_uri(X509 *x, char uri[WIC_MAX_URI + 1])
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	const unsigned char *p = NULL;
	char		 td[256];
	int		 i, n = 0, crit, len = 0;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit,
	    NULL)) == NULL)
		return ob_errf(OB_ERR_WIC_PROFILE, "%s", crit == -2 ? "more "
		    "than one subjectAltName" : "no subjectAltName");
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_URI)
			continue;
		if (n++ > 0)
			continue;
		p = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		uri[0] = '\0';
		if (len > 0 && len <= WIC_MAX_URI &&
		    memchr(p, '\0', (size_t)len) == NULL) {
			memcpy(uri, p, (size_t)len);
			uri[len] = '\0';
		}
	}
	GENERAL_NAMES_free(gens);
	if (n != 1)
		return ob_errf(OB_ERR_WIC_PROFILE, "%d URI SANs; an X509-SVID "
		    "has exactly one", n);
	if (uri[0] == '\0' || ob_sub_trust_domain(uri, td, sizeof(td)) !=
	    OB_OK)
		return ob_errf(OB_ERR_WIC_PROFILE, "the URI SAN is not a "
		    "wimse:// or spiffe:// workload identifier");
	return OB_OK;
}

static int
wic_profile(const struct ob_rp *rp, X509 *x, char uri[WIC_MAX_URI + 1],
    enum ob_alg *alg)
{
	uint32_t	flags = X509_get_extension_flags(x);
	uint32_t	ku = X509_get_key_usage(x);
	uint32_t	xku = X509_get_extended_key_usage(x);
	uint32_t	want = rp->purpose == OB_RP_PURPOSE_SERVER ?
			    XKU_SSL_SERVER : XKU_SSL_CLIENT;
	EVP_PKEY	*pk;

	if ((flags & EXFLAG_INVALID) != 0 || X509_get_version(x) !=
	    X509_VERSION_3)
		return ob_errf(OB_ERR_WIC_PROFILE, "not a well-formed v3 "
		    "certificate");
	if ((flags & EXFLAG_BCONS) == 0 || (flags & EXFLAG_CA) != 0)
		return ob_errf(OB_ERR_WIC_PROFILE, "basicConstraints is not "
		    "CA:FALSE");
	if ((flags & EXFLAG_KUSAGE) == 0 || (ku & KU_DIGITAL_SIGNATURE) == 0 ||
	    (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0)
		return ob_errf(OB_ERR_WIC_PROFILE, "keyUsage is not "
		    "digitalSignature without keyCertSign and cRLSign");
	if ((flags & EXFLAG_XKUSAGE) == 0 || (xku & want) == 0)
		return ob_errf(OB_ERR_WIC_PROFILE, "extendedKeyUsage lacks %s",
		    want == XKU_SSL_SERVER ? "serverAuth" : "clientAuth");
	if (wic_uri(x, uri) != OB_OK)
		return OB_ERR_WIC_PROFILE;
	if ((pk = X509_get0_pubkey(x)) == NULL || ob_pkey_check(pk) != OB_OK ||
	    !rp_alg_allowed(*alg = ob_alg_for_key(pk)))
		return ob_errf(OB_ERR_WIC_PROFILE, "the WIC's key is not one "
		    "an agent may hold");
	return OB_OK;
}

static int
wic_chain(const struct ob_rp *rp, STACK_OF(X509) *certs, long long now)
{
	STACK_OF(X509)	*untrusted = NULL;
	X509_STORE_CTX	*ctx = NULL;
	int		 i, r = OB_ERR_ALLOC;

	if ((untrusted = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 1; i < sk_X509_num(certs); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(certs, i)))
			goto out;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, rp->cas, sk_X509_value(certs, 0),
	    untrusted) != 1)
		goto out;
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	if (X509_verify_cert(ctx) != 1) {
		r = ob_errf(OB_ERR_WIC_CHAIN, "%s",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	r = OB_OK;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);	/* the certificates are the caller's */
	return r;
}

/* ---- the owner binding (docs/credentials.md, "The owner binding") ---- */

static int
bad(struct ob_rd *rd, const char *what)
{
	(void)ob_rd_fail(rd, OB_ERR_WIC_OWNER);
	return ob_errf(OB_ERR_WIC_OWNER, "owner binding: %s", what);
}

/* One DER TLV of tag: its content as a reader of its own.  Lengths in
 * their shortest form, at most 65535. */
static int
der_get(struct ob_rd *rd, uint8_t tag, struct ob_rd *val, const char *what)
{
	uint8_t	t, l, b;
	size_t	len, i, n;

	if (ob_rd_u8(rd, &t) != OB_OK || t != tag ||
	    ob_rd_u8(rd, &l) != OB_OK)
		return bad(rd, what);
	len = l;
	if (l >= 0x80) {
		if ((n = l & 0x7f) == 0 || n > 2)
			return bad(rd, what);
		for (len = 0, i = 0; i < n; i++) {
			if (ob_rd_u8(rd, &b) != OB_OK || (i == 0 && b == 0))
				return bad(rd, what);
			len = len << 8 | b;
		}
		if (len < 0x80)
			return bad(rd, what);
	}
	if (ob_rd_sub(rd, len, val) != OB_OK)
		return bad(rd, what);
	return OB_OK;
}

static int
der_end(struct ob_rd *rd, const char *what)
{
	if (ob_rd_end(rd) != OB_OK)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: %s: trailing "
		    "bytes", what);
	return OB_OK;
}

/* Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }:
 * the next one must have this type; *set reads its values. */
static int
der_attr(struct ob_rd *rd, int nid, struct ob_rd *set)
{
	const ASN1_OBJECT	*o = OBJ_nid2obj(nid);
	const char		*what = OBJ_nid2sn(nid);
	struct ob_rd		 a, oid;
	int			 r;

	OB_TRY(der_get(rd, T_SEQ, &a, what));
	OB_TRY(der_get(&a, T_OID, &oid, what));
	if (ob_rd_left(&oid) != (size_t)OBJ_length(o) || ob_rd_expect(&oid,
	    OBJ_get0_data(o), (size_t)OBJ_length(o), OB_ERR_WIC_OWNER) !=
	    OB_OK)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: expected the "
		    "%s attribute", what);
	OB_TRY(der_get(&a, T_SET, set, what));
	r = der_end(&a, what);
out:
	return r;
}

/* The rest of a reader as a string, checked by rp_id_ok. */
static int
der_id(struct ob_rd *v, char *dst, size_t dstsz, const char *what)
{
	const uint8_t	*p;
	size_t		 n;

	if (ob_rd_rest(v, &p, &n) != OB_OK || n >= dstsz ||
	    !rp_id_ok((const char *)p, n, 0))
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: %s is not a "
		    "visible ASCII id", what);
	memcpy(dst, p, n);
	dst[n] = '\0';
	return OB_OK;
}

/* owner: SET { Name }, one RDN, uid = the owner id. */
static int
ob_owner(struct ob_rd *rd, struct wic_owner *w)
{
	const ASN1_OBJECT	*uid = OBJ_nid2obj(NID_userId);
	struct ob_rd		 set, name, rdn, atv, oid, str;
	int			 r;

	OB_TRY(der_attr(rd, NID_owner, &set));
	OB_TRY(der_get(&set, T_SEQ, &name, "owner Name"));
	OB_TRY(der_end(&set, "owner"));
	OB_TRY(der_get(&name, T_SET, &rdn, "owner RDN"));
	OB_TRY(der_end(&name, "owner Name"));
	OB_TRY(der_get(&rdn, T_SEQ, &atv, "owner uid"));
	OB_TRY(der_end(&rdn, "owner RDN"));
	OB_TRY(der_get(&atv, T_OID, &oid, "owner uid"));
	if (ob_rd_left(&oid) != (size_t)OBJ_length(uid) || ob_rd_expect(&oid,
	    OBJ_get0_data(uid), (size_t)OBJ_length(uid), OB_ERR_WIC_OWNER) !=
	    OB_OK)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: the owner "
		    "Name is not one uid");
	OB_TRY(der_get(&atv, T_UTF8, &str, "owner uid"));
	OB_TRY(der_end(&atv, "owner uid"));
	r = der_id(&str, w->id, sizeof(w->id), "the owner id");
out:
	return r;
}

/* 32 bytes into 43 characters of base64url. */
static int
b64_32(const uint8_t *p, char out[44])
{
	char	*s = NULL;
	int	 r;

	if ((r = ob_b64url_encode(p, 32, &s)) != OB_OK)
		return r;
	memcpy(out, s, 44);
	free(s);
	return OB_OK;
}

/* x500UniqueIdentifier: SET { BIT STRING of 256 bits }. */
static int
ob_hash(struct ob_rd *rd, struct wic_owner *w)
{
	struct ob_rd	 set, bits;
	const uint8_t	*p;
	uint8_t		 unused;
	int		 r;

	OB_TRY(der_attr(rd, NID_x500UniqueIdentifier, &set));
	OB_TRY(der_get(&set, T_BITSTR, &bits, "x500UniqueIdentifier"));
	OB_TRY(der_end(&set, "x500UniqueIdentifier"));
	if (ob_rd_u8(&bits, &unused) != OB_OK || unused != 0 ||
	    ob_rd_bytes(&bits, 32, &p) != OB_OK || ob_rd_end(&bits) != OB_OK)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: "
		    "x500UniqueIdentifier is not 256 bits");
	r = b64_32(p, w->hash);
out:
	return r;
}

/* One description value, "name=value", into its slot. */
static int
ob_desc_one(const uint8_t *p, size_t n, struct wic_owner *w,
    unsigned *seen)
{
	static const char *const names[] = {
		"type", "kind", "model", "assurance", "gateway"
	};
	char		*slots[5];
	size_t		 sizes[5], i, k;
	const uint8_t	*eq;
	char		 v[RP_MAX_ID + 1];

	slots[0] = w->type, sizes[0] = sizeof(w->type);
	slots[1] = w->kind, sizes[1] = sizeof(w->kind);
	slots[2] = w->model, sizes[2] = sizeof(w->model);
	slots[3] = w->assurance, sizes[3] = sizeof(w->assurance);
	slots[4] = w->gateway, sizes[4] = sizeof(w->gateway);
	if ((eq = memchr(p, '=', n)) == NULL)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: a description "
		    "is not name=value");
	k = (size_t)(eq - p);
	for (i = 0; i < 5; i++)
		if (strlen(names[i]) == k && memcmp(names[i], p, k) == 0)
			break;
	if (i == 5 || (*seen & (1u << i)) != 0)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: description "
		    "\"%.*s\" is unknown or repeated", (int)(k < 32 ? k : 32),
		    (const char *)p);
	n -= k + 1;
	if (n >= sizes[i] || !rp_id_ok((const char *)eq + 1, n, 0))
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: %s is not a "
		    "visible ASCII value", names[i]);
	memcpy(v, eq + 1, n);
	v[n] = '\0';
	if (i < 4 && !rp_owner_value_ok(names[i], v))
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: %s \"%.32s\" "
		    "is not a known value", names[i], v);
	memcpy(slots[i], v, n + 1);
	*seen |= 1u << i;
	return OB_OK;
}

/* description: SET OF UTF8String in DER order (by length, then bytes:
 * the order of their encodings, which differ in the length first). */
static int
ob_desc(struct ob_rd *rd, struct wic_owner *w)
{
	struct ob_rd	 set, s;
	const uint8_t	*p, *prev = NULL;
	size_t		 n, prevn = 0;
	unsigned	 seen = 0;
	int		 r, om;

	OB_TRY(der_attr(rd, NID_description, &set));
	while (ob_rd_left(&set) > 0) {
		OB_TRY(der_get(&set, T_UTF8, &s, "description"));
		if (ob_rd_rest(&s, &p, &n) != OB_OK)
			return ob_errf(OB_ERR_WIC_OWNER, "owner binding: "
			    "description");
		if (prev != NULL && (n < prevn || (n == prevn &&
		    memcmp(prev, p, n) >= 0)))
			return ob_errf(OB_ERR_WIC_OWNER, "owner binding: the "
			    "descriptions are not in DER order");
		OB_TRY(ob_desc_one(p, n, w, &seen));
		prev = p;
		prevn = n;
	}
	OB_TRY(der_end(&set, "description"));
	if ((seen & 0x0f) != 0x0f)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: type, kind, "
		    "model and assurance are required");
	/* A gateway exactly for the owner-mediated model, as in the WIT. */
	om = strcmp(w->model, "owner-mediated") == 0;
	if (om != ((seen & 0x10) != 0) || om != (strcmp(w->kind,
	    "gateway") == 0))
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: gateway and "
		    "kind do not fit model %s", w->model);
	r = OB_OK;
out:
	return r;
}

static int
digits(const uint8_t *p, size_t n, int *out)
{
	int	v = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 1;
}

/* UTCTime YYMMDDHHMMSSZ until 2049, GeneralizedTime YYYYMMDDHHMMSSZ from
 * 2050 (RFC 5280 4.1.2.5, the rule the issuer's ASN1_TIME_set follows). */
static int
der_time(uint8_t tag, const uint8_t *p, size_t n, long long *out)
{
	struct tm	tm, chk;
	time_t		t;
	int		y, mo, d, h, mi, s;
	size_t		yl = tag == T_UTCTIME ? 2 : 4;

	if (n != yl + 11 || p[n - 1] != 'Z' || !digits(p, yl, &y) ||
	    !digits(p + yl, 2, &mo) || !digits(p + yl + 2, 2, &d) ||
	    !digits(p + yl + 4, 2, &h) || !digits(p + yl + 6, 2, &mi) ||
	    !digits(p + yl + 8, 2, &s))
		return 0;
	if (tag == T_UTCTIME)
		y += y < 50 ? 2000 : 1900;
	else if (y < 2050)
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    s > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	/* 31 February would come back as March. */
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &chk) == NULL ||
	    chk.tm_mday != d || chk.tm_mon != mo - 1)
		return 0;
	*out = (long long)t;
	return 1;
}

/* signingTime: SET { Time }, the approval. */
static int
ob_time(struct ob_rd *rd, struct wic_owner *w)
{
	struct ob_rd	 set, tv;
	const uint8_t	*p;
	uint8_t		 tag;
	size_t		 n;
	int		 r;

	OB_TRY(der_attr(rd, NID_pkcs9_signingTime, &set));
	if (ob_rd_peek_u8(&set, &tag) != OB_OK || (tag != T_UTCTIME &&
	    tag != T_GENTIME))
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: signingTime "
		    "is not a Time");
	OB_TRY(der_get(&set, tag, &tv, "signingTime"));
	OB_TRY(der_end(&set, "signingTime"));
	if (ob_rd_rest(&tv, &p, &n) != OB_OK || !der_time(tag, p, n,
	    &w->approved_at) || w->approved_at <= 0)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: signingTime "
		    "is not a DER time");
	r = OB_OK;
out:
	return r;
}

/* messageDigest: SET { OCTET STRING (32) }, the envelope's SHA-256. */
static int
ob_digest(struct ob_rd *rd, struct wic_owner *w)
{
	struct ob_rd	 set, os;
	const uint8_t	*p;
	int		 r;

	OB_TRY(der_attr(rd, NID_pkcs9_messageDigest, &set));
	OB_TRY(der_get(&set, T_OCTSTR, &os, "messageDigest"));
	OB_TRY(der_end(&set, "messageDigest"));
	if (ob_rd_bytes(&os, 32, &p) != OB_OK || ob_rd_end(&os) != OB_OK)
		return ob_errf(OB_ERR_WIC_OWNER, "owner binding: messageDigest "
		    "is not 32 bytes");
	r = b64_32(p, w->env);
out:
	return r;
}

/* The extension value: SEQUENCE SIZE (5) OF Attribute, in that order. */
static int
wic_owner_decode(const uint8_t *p, size_t n, struct wic_owner *w)
{
	struct ob_rd	rd, seq;
	int		r;

	ob_rd_init(&rd, p, n);
	OB_TRY(der_get(&rd, T_SEQ, &seq, "OwnerBinding"));
	OB_TRY(der_end(&rd, "OwnerBinding"));
	OB_TRY(ob_owner(&seq, w));
	OB_TRY(ob_hash(&seq, w));
	OB_TRY(ob_desc(&seq, w));
	OB_TRY(ob_time(&seq, w));
	OB_TRY(ob_digest(&seq, w));
	r = der_end(&seq, "OwnerBinding");
out:
	return r;
}

static int
wic_owner(const struct ob_rp *rp, X509 *x, struct wic_owner *w)
{
	const ASN1_OBJECT	*oid = rp->oid;
	X509_EXTENSION		*e;
	const ASN1_OCTET_STRING	*v;
	int			 i;

	if (oid == NULL)
		oid = OBJ_nid2obj(NID_subject_directory_attributes);
	if ((i = X509_get_ext_by_OBJ(x, oid, -1)) < 0)
		return ob_errf(OB_ERR_WIC_OWNER, "no owner-binding extension "
		    "(%s)", rp->oid != NULL ? "the configured OID" :
		    "2.5.29.9");
	if (X509_get_ext_by_OBJ(x, oid, i) >= 0)
		return ob_errf(OB_ERR_WIC_OWNER, "two owner-binding "
		    "extensions");
	if ((e = X509_get_ext(x, i)) == NULL ||
	    (v = X509_EXTENSION_get_data(e)) == NULL)
		return ob_errf(OB_ERR_WIC_OWNER, "the owner-binding extension");
	memset(w, 0, sizeof(*w));
	return wic_owner_decode(ASN1_STRING_get0_data(v),
	    (size_t)ASN1_STRING_length(v), w);
}

/* The subject's OU, the owner's group, when there is one. */
static int
wic_group(X509 *x, char group[RP_MAX_ID + 1], int *has)
{
	X509_NAME	*nm = X509_get_subject_name(x);
	ASN1_STRING	*s;
	int		 i, n;

	*has = 0;
	if ((i = X509_NAME_get_index_by_NID(nm, NID_organizationalUnitName,
	    -1)) < 0)
		return OB_OK;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
	n = ASN1_STRING_length(s);
	if (n <= 0 || n > RP_MAX_ID ||
	    !rp_id_ok((const char *)ASN1_STRING_get0_data(s), (size_t)n, 1))
		return ob_errf(OB_ERR_WIC_PROFILE, "the subject's OU is not an "
		    "owner group");
	memcpy(group, ASN1_STRING_get0_data(s), (size_t)n);
	group[n] = '\0';
	*has = 1;
	return OB_OK;
}

static int
wic_result(X509 *x, const char *uri, enum ob_alg alg,
    const struct wic_owner *w, const char *group, struct ob_rp_result **out)
{
	struct ob_rp_result	*res;
	struct rp_owner		 o;
	char			 jkt[44];
	int			 r;

	if ((r = ob_pkey_thumbprint(X509_get0_pubkey(x), jkt)) != OB_OK)
		return r;
	memset(&o, 0, sizeof(o));
	o.id = w->id;
	o.type = w->type;
	o.kind = w->kind;
	o.assurance = w->assurance;
	o.model = w->model;
	o.gateway = w->gateway[0] != '\0' ? w->gateway : NULL;
	o.group = group;
	o.hash = w->hash;
	o.envelope_sha256 = w->env;
	o.approved_at = w->approved_at;
	if ((res = calloc(1, sizeof(*res))) == NULL)
		return OB_ERR_ALLOC;
	r = OB_ERR_ALLOC;
	if (rp_dup(&res->via, "wic") != OB_OK ||
	    rp_dup(&res->agent, uri) != OB_OK ||
	    rp_dup(&res->agent_jkt, jkt) != OB_OK ||
	    rp_dup(&res->agent_alg, ob_alg_name(alg)) != OB_OK ||
	    rp_result_owner(res, &o) != OB_OK)
		goto out;
	if (!rp_asn1_epoch(X509_get0_notAfter(x), &res->exp)) {
		r = ob_errf(OB_ERR_WIC_PROFILE, "notAfter");
		goto out;
	}
	*out = res;
	res = NULL;
	r = OB_OK;
out:
	ob_rp_result_free(&res);
	return r;
}

int
ob_rp_verify_wic(const struct ob_rp *rp, const void *certs, size_t len,
    struct ob_rp_result **out)
{
	STACK_OF(X509)		*sk = NULL;
	struct wic_owner	 w;
	enum ob_alg		 alg = OB_ALG_INVALID;
	X509			*leaf;
	char			 uri[WIC_MAX_URI + 1], group[RP_MAX_ID + 1];
	int			 r, has_group;

	ob_err_clear();
	if (rp == NULL || certs == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp, certs and out are "
		    "required");
	if (rp->cas == NULL)
		return ob_errf(OB_ERR_RP_CONFIG, "no issuer CA configured");
	ERR_set_mark();
	OB_TRY(certs_parse(certs, len, &sk));
	leaf = sk_X509_value(sk, 0);
	OB_TRY(wic_profile(rp, leaf, uri, &alg));
	OB_TRY(wic_group(leaf, group, &has_group));
	OB_TRY(wic_chain(rp, sk, rp_now(rp)));
	OB_TRY(wic_owner(rp, leaf, &w));
	r = wic_result(leaf, uri, alg, &w, has_group ? group : NULL, out);
out:
	(void)ERR_pop_to_mark();
	sk_X509_pop_free(sk, X509_free);
	return r;
}
