/*
 * The shapes ownerbind-signer signs (shape.h).  Every check reads the
 * bytes the way a relying party will: the WIT through the project's strict
 * JSON reader, the TBSCertificate as DER through the byte cursor (only
 * DER passes), the gateway entry through core/envelope.c, as the identity
 * server will parse it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

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

/*
 * The TBSCertificate is walked as DER with the byte cursor, field by
 * field, without building an X509: OpenSSL's d2i_X509 decodes the agent's
 * key through the provider decoders and cost the helper 1.69M
 * instructions a credential (docs/benchmarks.md).  Every length must be
 * DER's (definite, minimal); every field the shape constrains is checked
 * here; the fields it leaves free (the subject's strings, the key bits,
 * the values of EKU, SKI, AKI and non-critical extensions) are still
 * walked as TLVs, so that nothing hides after them.
 */

#define TAG_BOOLEAN	0x01
#define TAG_INTEGER	0x02
#define TAG_BITSTRING	0x03
#define TAG_OCTETSTRING	0x04
#define TAG_NULL	0x05
#define TAG_OID		0x06
#define TAG_UTCTIME	0x17
#define TAG_GENTIME	0x18
#define TAG_SEQUENCE	0x30
#define TAG_SET		0x31
#define TAG_CTX0	0xa0		/* [0] EXPLICIT, constructed */
#define TAG_CTX3	0xa3
#define TAG_URI		0x86		/* GeneralName uniformResourceIdentifier */

#define WIC_MAX_EXTS	16
#define WIC_MAX_URI	2048

/* id-ce-* (2.5.29.n) as the bytes of an OID's contents. */
#define CE(n)		{ 0x55, 0x1d, (n) }
static const uint8_t ce_bc[] = CE(19), ce_ku[] = CE(15), ce_san[] = CE(17),
    ce_eku[] = CE(37), ce_ski[] = CE(14), ce_aki[] = CE(35);

/* The AlgorithmIdentifier an issuer key puts into its certificates: RFC
 * 5758 3.2 and RFC 8410 3, without parameters. */
static int
wic_sig_alg(enum ob_alg alg, const uint8_t **der, size_t *n,
    const char **name)
{
	static const uint8_t es256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	static const uint8_t es384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	    0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
	static const uint8_t ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
	    0x70 };

	switch (alg) {
	case OB_ALG_ES256:
		*der = es256;
		*n = sizeof(es256);
		*name = "ecdsa-with-SHA256";
		return OB_OK;
	case OB_ALG_ES384:
		*der = es384;
		*n = sizeof(es384);
		*name = "ecdsa-with-SHA384";
		return OB_OK;
	case OB_ALG_EDDSA:
		*der = ed25519;
		*n = sizeof(ed25519);
		*name = "ED25519";
		return OB_OK;
	default:
		return OB_ERR_SIGNER_SHAPE;
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

/* The next TLV, which must have tag `tag`: its contents as *in. */
static int
der_get(struct ob_rd *rd, uint8_t tag, struct ob_rd *in)
{
	uint8_t	t;
	size_t	len = 0;

	if (ob_rd_u8(rd, &t) != OB_OK || t != tag ||
	    der_len(rd, &len) != OB_OK || ob_rd_sub(rd, len, in) != OB_OK)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	return OB_OK;
}

/* The same, and the whole TLV (tag and length included) borrowed. */
static int
der_get_raw(struct ob_rd *rd, uint8_t tag, struct ob_rd *in,
    const uint8_t **p, size_t *n)
{
	struct ob_rd	at = *rd;
	int		r;

	if ((r = der_get(rd, tag, in)) != OB_OK)
		return r;
	*n = ob_rd_offset(rd) - ob_rd_offset(&at);
	return ob_rd_bytes(&at, *n, p);
}

/* The next TLV's tag, or 0 at the end. */
static uint8_t
der_peek(const struct ob_rd *rd)
{
	uint8_t t;

	return ob_rd_peek_u8(rd, &t) == OB_OK ? t : 0;
}

/* Any one TLV (single-byte tags only); a constructed one's contents are
 * walked as TLVs too, at most 8 deep. */
static int
der_skip(struct ob_rd *rd, int depth)
{
	struct ob_rd	in;
	uint8_t		t;
	int		r;

	if (depth > 8 || (t = der_peek(rd)) == 0 || (t & 0x1f) == 0x1f)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	if ((r = der_get(rd, t, &in)) != OB_OK)
		return r;
	if ((t & 0x20) != 0)
		while (ob_rd_left(&in) > 0)
			if (der_skip(&in, depth + 1) != OB_OK)
				return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	return OB_OK;
}

/* An OBJECT IDENTIFIER: 1..64 bytes, each arc minimal (X.690 8.19.2). */
static int
der_oid(struct ob_rd *rd, const uint8_t **p, size_t *n)
{
	struct ob_rd	in;
	const uint8_t	*b;
	size_t		 len, i;
	int		 r;

	if ((r = der_get(rd, TAG_OID, &in)) != OB_OK)
		return r;
	len = ob_rd_left(&in);
	if (len == 0 || len > 64 || ob_rd_bytes(&in, len, &b) != OB_OK ||
	    (b[len - 1] & 0x80) != 0)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	for (i = 0; i < len; i++)
		if (b[i] == 0x80 && (i == 0 || (b[i - 1] & 0x80) == 0))
			return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	*p = b;
	*n = len;
	return OB_OK;
}

static int
oid_is(const uint8_t *p, size_t n, const uint8_t *want, size_t wn)
{
	return n == wn && memcmp(p, want, n) == 0;
}

/* A positive INTEGER of 1..20 bytes in minimal form (RFC 5280 4.1.2.2),
 * as upper-case hex for the log. */
static int
der_serial(struct ob_rd *rd, char hex[43])
{
	static const char x[] = "0123456789ABCDEF";
	struct ob_rd	 in;
	const uint8_t	*b;
	size_t		 len, i, o = 0;
	int		 r;

	if ((r = der_get(rd, TAG_INTEGER, &in)) != OB_OK)
		return r;
	len = ob_rd_left(&in);
	if (len == 0 || len > 21 || ob_rd_bytes(&in, len, &b) != OB_OK ||
	    (b[0] & 0x80) != 0 || (len > 1 && b[0] == 0 &&
	    (b[1] & 0x80) == 0) || (len == 1 && b[0] == 0) ||
	    (len == 21 && b[0] != 0))
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	for (i = b[0] == 0 ? 1 : 0; i < len; i++) {
		hex[o++] = x[b[i] >> 4];
		hex[o++] = x[b[i] & 15];
	}
	hex[o] = '\0';
	return OB_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long long
days_from_civil(long long y, long long m, long long d)
{
	long long	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
digits(const uint8_t *p, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return 0;
}

/* A Time as RFC 5280 4.1.2.5 has it: UTCTime YYMMDDHHMMSSZ through 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ from 2050. */
static int
der_time(struct ob_rd *rd, long long *out)
{
	static const uint8_t mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	struct ob_rd	 in;
	const uint8_t	*b;
	uint8_t		 tag = der_peek(rd);
	size_t		 yl = tag == TAG_UTCTIME ? 2 : 4;
	unsigned	 y, mo, d, h, mi, s;
	int		 leap;

	if ((tag != TAG_UTCTIME && tag != TAG_GENTIME) ||
	    der_get(rd, tag, &in) != OB_OK ||
	    ob_rd_left(&in) != yl + 11 ||
	    ob_rd_bytes(&in, yl + 11, &b) != OB_OK || b[yl + 10] != 'Z' ||
	    digits(b, yl, &y) != 0 || digits(b + yl, 2, &mo) != 0 ||
	    digits(b + yl + 2, 2, &d) != 0 || digits(b + yl + 4, 2, &h) != 0 ||
	    digits(b + yl + 6, 2, &mi) != 0 || digits(b + yl + 8, 2, &s) != 0)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	if (tag == TAG_UTCTIME)
		y += y < 50 ? 2000 : 1900;
	else if (y < 2050)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + s;
	return OB_OK;
}

/* A Name: RDNs of one AttributeTypeAndValue each, a string value. */
static int
der_name(struct ob_rd *rd)
{
	struct ob_rd	 seq, rdn, atv;
	const uint8_t	*oid;
	size_t		 oidlen;
	uint8_t		 t;
	int		 r;

	if ((r = der_get(rd, TAG_SEQUENCE, &seq)) != OB_OK)
		return r;
	while (ob_rd_left(&seq) > 0) {
		if (der_get(&seq, TAG_SET, &rdn) != OB_OK ||
		    der_get(&rdn, TAG_SEQUENCE, &atv) != OB_OK ||
		    ob_rd_end(&rdn) != OB_OK ||
		    der_oid(&atv, &oid, &oidlen) != OB_OK)
			return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
		/* UTF8, Printable, Teletex, IA5, Universal, BMP strings */
		t = der_peek(&atv);
		if ((t != 0x0c && t != 0x13 && t != 0x14 && t != 0x16 &&
		    t != 0x1c && t != 0x1e) || der_skip(&atv, 0) != OB_OK ||
		    ob_rd_end(&atv) != OB_OK)
			return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	}
	return OB_OK;
}

/* SubjectPublicKeyInfo: { { OID, [OID or NULL] }, BIT STRING }. */
static int
der_spki(struct ob_rd *rd)
{
	struct ob_rd	 seq, alg, bits, nul;
	const uint8_t	*oid;
	size_t		 oidlen;
	uint8_t		 unused;

	if (der_get(rd, TAG_SEQUENCE, &seq) != OB_OK ||
	    der_get(&seq, TAG_SEQUENCE, &alg) != OB_OK ||
	    der_oid(&alg, &oid, &oidlen) != OB_OK)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	if (der_peek(&alg) == TAG_OID) {
		if (der_oid(&alg, &oid, &oidlen) != OB_OK)
			return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	} else if (der_peek(&alg) == TAG_NULL) {
		if (der_get(&alg, TAG_NULL, &nul) != OB_OK ||
		    ob_rd_left(&nul) != 0)
			return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	}
	if (ob_rd_end(&alg) != OB_OK ||
	    der_get(&seq, TAG_BITSTRING, &bits) != OB_OK ||
	    ob_rd_u8(&bits, &unused) != OB_OK || unused != 0 ||
	    ob_rd_left(&bits) == 0 || ob_rd_end(&seq) != OB_OK)
		return ob_rd_fail(rd, OB_ERR_SIGNER_SHAPE);
	return OB_OK;
}

/* basicConstraints must be CA:FALSE without pathLen: the empty
 * SEQUENCE (cA is DEFAULT FALSE, so DER leaves it out). */
static int
ext_bc(struct ob_rd *v)
{
	static const uint8_t ca_false[] = { TAG_SEQUENCE, 0x00 };

	if (ob_rd_left(v) != sizeof(ca_false) ||
	    ob_rd_expect(v, ca_false, sizeof(ca_false), OB_ERR_SIGNER_SHAPE) !=
	    OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "basicConstraints is not "
		    "CA:FALSE");
	return OB_OK;
}

/* keyUsage (a BIT STRING of 1 or 2 bytes, the unused bits zero) must not
 * allow keyCertSign (bit 5) or cRLSign (bit 6). */
static int
ext_ku(struct ob_rd *v)
{
	struct ob_rd	 bits;
	const uint8_t	*b;
	uint8_t		 unused;
	size_t		 n;

	if (der_get(v, TAG_BITSTRING, &bits) != OB_OK ||
	    ob_rd_end(v) != OB_OK || ob_rd_u8(&bits, &unused) != OB_OK ||
	    unused > 7 || (n = ob_rd_left(&bits)) == 0 || n > 2 ||
	    ob_rd_bytes(&bits, n, &b) != OB_OK ||
	    (b[n - 1] & ((1u << unused) - 1)) != 0)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed keyUsage");
	if ((b[0] & 0x06) != 0)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "keyUsage allows "
		    "certificate or CRL signing");
	return OB_OK;
}

/* subjectAltName: exactly one name, a URI of printable ASCII. */
static int
ext_san(struct ob_rd *v, char *uri, size_t size)
{
	struct ob_rd	 seq, u;
	const uint8_t	*s;
	size_t		 n, i;

	if (der_get(v, TAG_SEQUENCE, &seq) != OB_OK ||
	    ob_rd_end(v) != OB_OK || der_get(&seq, TAG_URI, &u) != OB_OK ||
	    ob_rd_end(&seq) != OB_OK || (n = ob_rd_left(&u)) == 0 ||
	    n >= size || ob_rd_bytes(&u, n, &s) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "the SAN is not exactly "
		    "one URI");
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return ob_errf(OB_ERR_SIGNER_SHAPE, "the SAN's URI is "
			    "not printable ASCII");
	memcpy(uri, s, n);
	uri[n] = '\0';
	return OB_OK;
}

/*
 * Extensions: each OID once; basicConstraints and subjectAltName present
 * and checked, keyUsage checked when present, EKU, SKI and AKI free;
 * any other extension (the owner binding, whose OID is the server's
 * configuration) only if it is not critical.
 */
static int
der_exts(struct ob_rd *rd, char *uri, size_t urisize)
{
	struct ob_rd	 ctx, seq, ext, val, b;
	const uint8_t	*oid, *seen[WIC_MAX_EXTS], *cb;
	size_t		 oidlen, seenlen[WIC_MAX_EXTS], ns = 0, i;
	int		 crit, have_bc = 0, have_san = 0, r;

	if (der_get(rd, TAG_CTX3, &ctx) != OB_OK ||
	    der_get(&ctx, TAG_SEQUENCE, &seq) != OB_OK ||
	    ob_rd_end(&ctx) != OB_OK || ob_rd_left(&seq) == 0)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "no or malformed "
		    "extensions");
	while (ob_rd_left(&seq) > 0) {
		crit = 0;
		if (der_get(&seq, TAG_SEQUENCE, &ext) != OB_OK ||
		    der_oid(&ext, &oid, &oidlen) != OB_OK)
			return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed "
			    "extension");
		/* DER: critical is DEFAULT FALSE, so present means TRUE. */
		if (der_peek(&ext) == TAG_BOOLEAN) {
			if (der_get(&ext, TAG_BOOLEAN, &b) != OB_OK ||
			    ob_rd_left(&b) != 1 ||
			    ob_rd_bytes(&b, 1, &cb) != OB_OK || cb[0] != 0xff)
				return ob_errf(OB_ERR_SIGNER_SHAPE, "an "
				    "extension's critical flag is not DER");
			crit = 1;
		}
		if (der_get(&ext, TAG_OCTETSTRING, &val) != OB_OK ||
		    ob_rd_end(&ext) != OB_OK)
			return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed "
			    "extension");
		for (i = 0; i < ns; i++)
			if (oid_is(oid, oidlen, seen[i], seenlen[i]))
				return ob_errf(OB_ERR_SIGNER_SHAPE, "repeated "
				    "extensions");
		if (ns == WIC_MAX_EXTS)
			return ob_errf(OB_ERR_SIGNER_SHAPE, "more than %d "
			    "extensions", WIC_MAX_EXTS);
		seen[ns] = oid;
		seenlen[ns++] = oidlen;
		if (oid_is(oid, oidlen, ce_bc, sizeof(ce_bc))) {
			if ((r = ext_bc(&val)) != OB_OK)
				return r;
			have_bc = 1;
		} else if (oid_is(oid, oidlen, ce_ku, sizeof(ce_ku))) {
			if ((r = ext_ku(&val)) != OB_OK)
				return r;
		} else if (oid_is(oid, oidlen, ce_san, sizeof(ce_san))) {
			if ((r = ext_san(&val, uri, urisize)) != OB_OK)
				return r;
			have_san = 1;
		} else if (!oid_is(oid, oidlen, ce_eku, sizeof(ce_eku)) &&
		    !oid_is(oid, oidlen, ce_ski, sizeof(ce_ski)) &&
		    !oid_is(oid, oidlen, ce_aki, sizeof(ce_aki)) && crit)
			return ob_errf(OB_ERR_SIGNER_SHAPE, "a critical "
			    "extension the shape does not know");
		else if (der_skip(&val, 0) != OB_OK || ob_rd_end(&val) !=
		    OB_OK)
			return ob_errf(OB_ERR_SIGNER_SHAPE, "an extension "
			    "value that is not one DER TLV");
	}
	if (!have_bc)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "basicConstraints is not "
		    "CA:FALSE");
	if (!have_san)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "no subjectAltName");
	return OB_OK;
}

int
ob_shape_wic_tbs(const struct ob_shape_key *k, const uint8_t *in, size_t n,
    char what[OB_SHAPE_WHAT])
{
	static const uint8_t v3[] = { TAG_INTEGER, 0x01, 0x02 };
	struct ob_rd	 rd, tbs, ver, val, name;
	const uint8_t	*alg, *iss;
	const char	*algname;
	char		 serial[43], uri[WIC_MAX_URI + 1];
	size_t		 alglen, isslen;
	long long	 nb = 0, na = 0;
	int		 r;

	if (wic_sig_alg(k->alg, &alg, &alglen, &algname) != OB_OK ||
	    k->ca_subject == NULL)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a %s key signs no "
		    "certificates", ob_alg_name(k->alg));
	ob_rd_init(&rd, in, n);
	if (der_get(&rd, TAG_SEQUENCE, &tbs) != OB_OK ||
	    ob_rd_end(&rd) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "not one DER SEQUENCE");
	if (der_get(&tbs, TAG_CTX0, &ver) != OB_OK ||
	    ob_rd_left(&ver) != sizeof(v3) ||
	    ob_rd_expect(&ver, v3, sizeof(v3), OB_ERR_SIGNER_SHAPE) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "not an X.509 v3 "
		    "TBSCertificate");
	if (der_serial(&tbs, serial) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "serialNumber is not a "
		    "positive DER INTEGER of at most 20 bytes");
	if (ob_rd_left(&tbs) < alglen ||
	    ob_rd_expect(&tbs, alg, alglen, OB_ERR_SIGNER_SHAPE) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "signature algorithm is "
		    "not %s without parameters", algname);
	/* The issuer is the CA's subject, byte for byte (RFC 5280 7.1). */
	if (der_get_raw(&tbs, TAG_SEQUENCE, &name, &iss, &isslen) != OB_OK ||
	    isslen != k->ca_subject_len ||
	    memcmp(iss, k->ca_subject, isslen) != 0)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "issuer is not this key's "
		    "CA");
	if (der_get(&tbs, TAG_SEQUENCE, &val) != OB_OK ||
	    der_time(&val, &nb) != OB_OK || der_time(&val, &na) != OB_OK ||
	    ob_rd_end(&val) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed validity");
	if (der_name(&tbs) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed subject");
	if (der_spki(&tbs) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "a malformed "
		    "SubjectPublicKeyInfo");
	/* No issuerUniqueID or subjectUniqueID ([1], [2]): extensions. */
	if ((r = der_exts(&tbs, uri, sizeof(uri))) != OB_OK)
		return r;
	if (ob_rd_end(&tbs) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_SHAPE, "fields after the "
		    "extensions");
	if ((r = times_ok(k, nb, na, "WIC")) != OB_OK)
		return r;
	(void)snprintf(what, OB_SHAPE_WHAT, "serial=%.64s uri=%.200s", serial,
	    uri);
	return OB_OK;
}

/* ---- gateway entries ---- */

/*
 * The entry read with core/envelope.c's own pieces, as ob_envelope_parse
 * reads a one-entry envelope, without wrapping the input into envelope
 * JSON and parsing that again: the payload through ob_claims_check, the
 * protected header through ob_envelope_append (with a placeholder
 * signature).  The bounds are the reader's: the envelope the input would
 * make (ENV_WRAP bytes of JSON around its two parts), the payload and the
 * protected header.
 */
#define ENV_WRAP	62	/* {"payload":"","signatures":[{"protected":"",
				   "signature":"AA"}]} less the '.' */

static int
gw_read(const uint8_t *in, size_t n, size_t dot, struct ob_envelope *env)
{
	static const unsigned char placeholder[1];
	char	*ph = NULL;
	int	 r;

	if (n > OB_MAX_ENVELOPE - ENV_WRAP)
		return ob_errf(OB_ERR_ENV_TOO_LARGE, "%zu bytes", n);
	if ((r = ob_b64url_decode((const char *)in + dot + 1, n - dot - 1,
	    OB_MAX_PAYLOAD, &env->payload, &env->payload_len)) != OB_OK)
		return ob_err_prefix(r, "payload");
	if ((r = ob_json_parse_object(env->payload, env->payload_len,
	    &env->payload_json)) != OB_OK)
		return ob_err_prefix(r == OB_ERR_JSON_SYNTAX ?
		    OB_ERR_PAYLOAD_INVALID : r, "payload");
	OB_TRY(ob_claims_check(env->payload_json, &env->claims));
	if ((ph = strndup((const char *)in, dot)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (strlen(ph) != dot) {
		r = ob_errf(OB_ERR_ENV_MEMBER, "a NUL in the protected header");
		goto out;
	}
	if ((r = ob_envelope_append(env, ph, NULL, placeholder,
	    sizeof(placeholder))) != OB_OK)
		r = ob_err_prefix(r, "entry 0");
out:
	free(ph);
	return r;
}

int
ob_shape_gateway_entry(const struct ob_shape_key *k, const uint8_t *in,
    size_t n, char what[OB_SHAPE_WHAT])
{
	struct ob_envelope	*env = NULL;
	const struct ob_entry	*e;
	size_t			 dot;
	int			 r;

	OB_TRY(split_jws(in, n, &dot));
	if ((env = calloc(1, sizeof(*env))) == NULL)
		return OB_ERR_ALLOC;
	if ((r = gw_read(in, n, dot, env)) != OB_OK) {
		r = r == OB_ERR_ALLOC ? r : ob_err_prefix(OB_ERR_SIGNER_SHAPE,
		    "%s", ob_err_name(r));
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
	return r;
}
