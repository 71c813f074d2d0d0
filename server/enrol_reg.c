/*
 * The registration check of passkey enrolment (server/enrol.h,
 * ob_enrol_verify): the body, clientDataJSON as strict JSON, the
 * attestation object and the COSE key through libcbor.  No file is read
 * or written here: fuzz/fuzz_enrol.c runs it alone.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/b64url.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/pkey.h"
#include "core/webauthn.h"
#include "server/enrol.h"

#define MAX_CDJ		8192
#define MAX_ATTOBJ	32768

void
ob_enrol_cred_clear(struct ob_enrol_cred *c)
{
	if (c == NULL)
		return;
	json_decref(c->jwk);
	free(c->credential_id);
	memset(c, 0, sizeof(*c));
}

/* ---- CBOR, through libcbor ---- */

/*
 * cbor_load allocates an array or map for the count its head declares
 * before it has seen one element (libcbor 0.8: a 9-byte head asks for
 * gigabytes).  So first one pass of libcbor's streaming decoder, which
 * allocates nothing: every declared element must be in the input,
 * nesting at most WALK_DEPTH deep, no indefinite lengths, no tags.  What
 * cbor_load then allocates is bounded by the input's size.
 */
#define WALK_DEPTH	16

struct walk {
	int	 kind;		/* 0 a leaf, 1 a container, -1 refused */
	size_t	 size;		/* a container's element count */
};

static void
w_leaf(void *c)
{
	((struct walk *)c)->kind = 0;
}

static void
w_bad(void *c)
{
	((struct walk *)c)->kind = -1;
}

static void
w_uint(void *c, uint64_t v)
{
	(void)v;
	w_leaf(c);
}

static void
w_u8(void *c, uint8_t v)
{
	w_uint(c, v);
}

static void
w_u16(void *c, uint16_t v)
{
	w_uint(c, v);
}

static void
w_u32(void *c, uint32_t v)
{
	w_uint(c, v);
}

static void
w_tag(void *c, uint64_t v)
{
	(void)v;
	w_bad(c);
}

static void
w_str(void *c, cbor_data d, size_t n)
{
	(void)d;
	(void)n;
	w_leaf(c);
}

static void
w_f(void *c, float v)
{
	(void)v;
	w_leaf(c);
}

static void
w_d(void *c, double v)
{
	(void)v;
	w_leaf(c);
}

static void
w_b(void *c, bool v)
{
	(void)v;
	w_leaf(c);
}

static void
w_array(void *c, size_t n)
{
	((struct walk *)c)->kind = 1;
	((struct walk *)c)->size = n;
}

static void
w_map(void *c, size_t n)
{
	/* A map of n pairs has 2n items; n above SIZE_MAX / 2 cannot fit. */
	((struct walk *)c)->kind = n > SIZE_MAX / 2 ? -1 : 1;
	((struct walk *)c)->size = n * 2;
}

static int
cbor_bounded(const unsigned char *b, size_t n, const char *what)
{
	static const struct cbor_callbacks cb = {
		.uint8 = w_u8, .uint16 = w_u16, .uint32 = w_u32,
		.uint64 = w_uint, .negint8 = w_u8, .negint16 = w_u16,
		.negint32 = w_u32, .negint64 = w_uint,
		.byte_string_start = w_bad, .byte_string = w_str,
		.string = w_str, .string_start = w_bad,
		.indef_array_start = w_bad, .array_start = w_array,
		.indef_map_start = w_bad, .map_start = w_map, .tag = w_tag,
		.float2 = w_f, .float4 = w_f, .float8 = w_d,
		.undefined = w_leaf, .null = w_leaf, .boolean = w_b,
		.indef_break = w_bad,
	};
	struct cbor_decoder_result	 res;
	struct walk			 w;
	size_t				 left[WALK_DEPTH], off = 0;
	int				 depth = 0;

	do {
		w.kind = -1;
		w.size = 0;
		res = cbor_stream_decode(b + off, n - off, &cb, &w);
		if (res.status != CBOR_DECODER_FINISHED || w.kind < 0)
			return ob_errf(OB_ERR_ENROL_REQUEST, "%s: not definite "
			    "CBOR without tags at byte %zu", what, off);
		off += res.read;
		if (w.kind == 1 && w.size > 0) {
			/* Each element takes at least one byte. */
			if (w.size > n - off || depth == WALK_DEPTH)
				return ob_errf(OB_ERR_ENROL_REQUEST, "%s: a "
				    "container at byte %zu is larger than the "
				    "input or nested too deep", what, off);
			left[depth++] = w.size;
			continue;
		}
		/* An item is complete: so may be the containers it ends. */
		while (depth > 0 && --left[depth - 1] == 0)
			depth--;
	} while (depth > 0);
	if (off != n)
		return ob_errf(OB_ERR_ENROL_REQUEST, "%s: %zu bytes after the "
		    "CBOR item", what, n - off);
	return OB_OK;
}

/* One CBOR item that is all of b[0..n). */
static int
cbor_whole(const unsigned char *b, size_t n, const char *what,
    cbor_item_t **out)
{
	struct cbor_load_result	 res;
	cbor_item_t		*it;
	int			 r;

	if (n == 0)
		return ob_errf(OB_ERR_ENROL_REQUEST, "%s: empty", what);
	if ((r = cbor_bounded(b, n, what)) != OB_OK)
		return r;
	it = cbor_load(b, n, &res);
	if (it == NULL || res.error.code != CBOR_ERR_NONE) {
		if (it != NULL)
			cbor_decref(&it);
		return ob_errf(OB_ERR_ENROL_REQUEST, "%s: not CBOR (libcbor "
		    "error %d at byte %zu)", what, (int)res.error.code,
		    res.error.position);
	}
	if (res.read != n) {
		cbor_decref(&it);
		return ob_errf(OB_ERR_ENROL_REQUEST, "%s: %zu bytes after the "
		    "CBOR item", what, n - res.read);
	}
	*out = it;
	return OB_OK;
}

static int
cbor_text_eq(const cbor_item_t *it, const char *s)
{
	size_t n = strlen(s);

	return cbor_isa_string(it) && cbor_string_is_definite(it) &&
	    cbor_string_length(it) == n &&
	    memcmp(cbor_string_handle(it), s, n) == 0;
}

static int
cbor_bytes(const cbor_item_t *it, const unsigned char **p, size_t *n)
{
	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return 0;
	*p = cbor_bytestring_handle(it);
	*n = cbor_bytestring_length(it);
	return 1;
}

/* A CBOR integer (major type 0 or 1) within long long. */
static int
cbor_ll(const cbor_item_t *it, long long *v)
{
	uint64_t u;

	if (!cbor_isa_uint(it) && !cbor_isa_negint(it))
		return 0;
	if ((u = cbor_get_int(it)) > (uint64_t)LLONG_MAX)
		return 0;
	*v = cbor_isa_uint(it) ? (long long)u : -1 - (long long)u;
	return 1;
}

/*
 * The credential public key: a COSE_Key map with exactly kty 2 (EC2),
 * alg -7 (ES256), crv 1 (P-256), x and y of 32 bytes (RFC 9053 7.1.1),
 * then the project's key rules (on the curve).
 */
static int
cose_es256(const unsigned char *p, size_t n, struct ob_enrol_cred *c)
{
	cbor_item_t		*m = NULL;
	struct cbor_pair	*pr;
	const unsigned char	*x = NULL, *y = NULL;
	unsigned char		 pt[65];
	EVP_PKEY		*pk = NULL;
	long long		 k, v;
	size_t			 i, np, xl = 0, yl = 0;
	unsigned		 seen = 0, bit;
	int			 r;

	if ((r = cbor_whole(p, n, "credential public key", &m)) != OB_OK)
		return ob_errf(OB_ERR_ENROL_KEY, "%s", ob_err_detail());
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m)) {
		r = ob_errf(OB_ERR_ENROL_KEY, "the COSE key is not a map");
		goto out;
	}
	np = cbor_map_size(m);
	pr = cbor_map_handle(m);
	for (i = 0; i < np; i++) {
		if (!cbor_ll(pr[i].key, &k) || k < -3 || k > 3 || k == 0 ||
		    k == 2) {
			r = ob_errf(OB_ERR_ENROL_KEY, "COSE key member %zu is "
			    "not one of kty, alg, crv, x, y", i);
			goto out;
		}
		bit = 1u << (unsigned)(k + 3);
		if (seen & bit) {
			r = ob_errf(OB_ERR_ENROL_KEY, "COSE key member %lld "
			    "twice", k);
			goto out;
		}
		seen |= bit;
		if (k == -2 || k == -3) {
			if (!cbor_bytes(pr[i].value, k == -2 ? &x : &y,
			    k == -2 ? &xl : &yl)) {
				r = ob_errf(OB_ERR_ENROL_KEY, "COSE key x or y "
				    "is not a byte string");
				goto out;
			}
			continue;
		}
		if (!cbor_ll(pr[i].value, &v) || (k == 1 && v != 2) ||
		    (k == 3 && v != -7) || (k == -1 && v != 1)) {
			r = ob_errf(OB_ERR_ENROL_KEY, "not an ES256 P-256 key "
			    "(COSE %s)", k == 1 ? "kty" : k == 3 ? "alg" :
			    "crv");
			goto out;
		}
	}
	if (seen != 0x57 || xl != 32 || yl != 32) {
		r = ob_errf(OB_ERR_ENROL_KEY, "the COSE key needs kty, alg, "
		    "crv and 32-byte x and y");
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	if ((r = ob_pkey_from_ec_point(OB_KEY_P256, pt, sizeof(pt), &pk)) !=
	    OB_OK) {
		r = ob_errf(OB_ERR_ENROL_KEY, "the public key: %s: %s",
		    ob_err_name(r), ob_err_detail());
		goto out;
	}
	OB_TRY(ob_jwk_from_pkey(pk, &c->jwk));
	OB_TRY(ob_jwk_thumbprint(c->jwk, c->kid));
out:
	EVP_PKEY_free(pk);
	cbor_decref(&m);
	return r;
}

/* ---- the registration ---- */

static int
check_clientdata(const struct ob_enrol_expect *e, const unsigned char *cdj,
    size_t n, struct ob_enrol_cred *c)
{
	json_t		*d = NULL, *co;
	const char	*type, *ch, *origin;
	unsigned char	*chb = NULL;
	size_t		 i, chlen = 0;
	int		 r;

	if (ob_json_parse_object(cdj, n, &d) != OB_OK)
		return ob_errf(OB_ERR_ENROL_REQUEST, "clientDataJSON is not "
		    "one JSON object: %s", ob_err_detail());
	type = json_string_value(json_object_get(d, "type"));
	ch = json_string_value(json_object_get(d, "challenge"));
	origin = json_string_value(json_object_get(d, "origin"));
	if (type == NULL || ch == NULL || origin == NULL) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "clientDataJSON needs type, "
		    "challenge and origin strings");
		goto out;
	}
	if (strcmp(type, "webauthn.create") != 0) {
		r = ob_errf(OB_ERR_ENROL_TYPE, "type \"%.32s\"", type);
		goto out;
	}
	if (ob_b64url_decode(ch, strlen(ch), 64, &chb, &chlen) != OB_OK ||
	    chlen != OB_ENROL_CHALLENGE_LEN ||
	    CRYPTO_memcmp(chb, e->challenge, chlen) != 0) {
		r = ob_errf(OB_ERR_ENROL_CHALLENGE, "not the invite's "
		    "challenge");
		goto out;
	}
	for (i = 0; i < e->norigins; i++)
		if (strcmp(origin, e->origins[i]) == 0)
			break;
	if (i == e->norigins || strlen(origin) >= sizeof(c->origin)) {
		r = ob_errf(OB_ERR_ENROL_ORIGIN, "origin \"%.128s\" is not "
		    "one the invite allows", origin);
		goto out;
	}
	/* Made inside a frame of another site: refused. */
	co = json_object_get(d, "crossOrigin");
	if ((co != NULL && !json_is_false(co)) ||
	    json_object_get(d, "topOrigin") != NULL) {
		r = ob_errf(OB_ERR_ENROL_ORIGIN, "a cross-origin "
		    "registration");
		goto out;
	}
	memcpy(c->origin, origin, strlen(origin) + 1);
	r = OB_OK;
out:
	free(chb);
	json_decref(d);
	return r;
}

/* The attestation object: {fmt "none", attStmt {}, authData}. */
static int
check_attobj(const struct ob_enrol_expect *e, const unsigned char *ao,
    size_t n, struct ob_enrol_cred *c)
{
	cbor_item_t		*m = NULL, *fmt = NULL, *st = NULL, *adi = NULL;
	struct cbor_pair	*pr;
	struct ob_authdata	 a;
	const unsigned char	*ad;
	unsigned char		 h[32];
	size_t			 i, adlen;
	int			 r;

	OB_TRY(cbor_whole(ao, n, "attestationObject", &m));
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m) ||
	    cbor_map_size(m) != 3) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "attestationObject is not a "
		    "map of fmt, attStmt and authData");
		goto out;
	}
	pr = cbor_map_handle(m);
	for (i = 0; i < 3; i++) {
		cbor_item_t **slot = cbor_text_eq(pr[i].key, "fmt") ? &fmt :
		    cbor_text_eq(pr[i].key, "attStmt") ? &st :
		    cbor_text_eq(pr[i].key, "authData") ? &adi : NULL;

		if (slot == NULL || *slot != NULL) {
			r = ob_errf(OB_ERR_ENROL_REQUEST, "attestationObject "
			    "member %zu is not fmt, attStmt or authData once",
			    i);
			goto out;
		}
		*slot = pr[i].value;
	}
	if (!cbor_isa_string(fmt) || !cbor_string_is_definite(fmt)) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "fmt is not a text string");
		goto out;
	}
	/* Attestation "none" is what the options ask for: no statement is
	 * verified, so no other format is taken as if it were. */
	if (!cbor_text_eq(fmt, "none") || !cbor_isa_map(st) ||
	    cbor_map_size(st) != 0) {
		r = ob_errf(OB_ERR_ENROL_ATTESTATION, "fmt \"%.*s\"",
		    (int)(cbor_string_length(fmt) > 32 ? 32 :
		    cbor_string_length(fmt)), cbor_string_handle(fmt));
		goto out;
	}
	if (!cbor_bytes(adi, &ad, &adlen)) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "authData is not a byte "
		    "string");
		goto out;
	}
	if ((r = ob_authdata_parse(ad, adlen, &a)) != OB_OK) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "authData: %s",
		    ob_err_detail());
		goto out;
	}
	OB_TRY(ob_rpid_hash(e->rp_id, h));
	if (CRYPTO_memcmp(h, a.rpid_hash, 32) != 0) {
		r = ob_errf(OB_ERR_ENROL_RPID, "rpIdHash is not SHA-256 of "
		    "\"%.64s\"", e->rp_id);
		goto out;
	}
	if (!(a.flags & OB_AD_UP) || (e->uv_required && !(a.flags &
	    OB_AD_UV)) || !(a.flags & OB_AD_AT) || ((a.flags & OB_AD_BS) &&
	    !(a.flags & OB_AD_BE))) {
		r = ob_errf(OB_ERR_ENROL_FLAGS, "flags 0x%02x: %s", a.flags,
		    !(a.flags & OB_AD_UP) ? "UP clear" : !(a.flags & OB_AD_AT) ?
		    "AT clear" : !(a.flags & OB_AD_BE) && (a.flags & OB_AD_BS) ?
		    "BS without BE" : "UV clear and required");
		goto out;
	}
	c->uv = (a.flags & OB_AD_UV) != 0;
	c->backup_eligible = (a.flags & OB_AD_BE) != 0;
	c->backed_up = (a.flags & OB_AD_BS) != 0;
	(void)ob_bin_to_hex(a.aaguid, 16, c->aaguid, sizeof(c->aaguid));
	OB_TRY(ob_b64url_encode(a.cred_id, a.cred_id_len, &c->credential_id));
	r = cose_es256(a.cose_key, a.cose_key_len, c);
out:
	if (m != NULL)
		cbor_decref(&m);
	return r;
}

static int
b64_member(const json_t *o, const char *k, size_t max, unsigned char **out,
    size_t *outlen)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL || ob_b64url_decode(s, strlen(s), max, out, outlen) !=
	    OB_OK)
		return ob_errf(OB_ERR_ENROL_REQUEST, "%s is not base64url of "
		    "at most %zu bytes", k, max);
	return OB_OK;
}

int
ob_enrol_verify(const struct ob_enrol_expect *e, const void *body,
    size_t len, struct ob_enrol_cred *out)
{
	static const char *const m[] = { "clientDataJSON",
	    "attestationObject", NULL };
	struct ob_enrol_cred	 c;
	json_t			*doc = NULL;
	unsigned char		*cdj = NULL, *ao = NULL;
	size_t			 cdjlen = 0, aolen = 0;
	int			 r;

	memset(&c, 0, sizeof(c));
	if (ob_json_parse_object(body, len, &doc) != OB_OK) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "not one JSON object: %s",
		    ob_err_detail());
		goto out;
	}
	if (ob_json_only_members(doc, m, OB_ERR_ENROL_REQUEST) != OB_OK) {
		r = ob_errf(OB_ERR_ENROL_REQUEST, "only clientDataJSON and "
		    "attestationObject: %s", ob_err_detail());
		goto out;
	}
	OB_TRY(b64_member(doc, "clientDataJSON", MAX_CDJ, &cdj, &cdjlen));
	OB_TRY(b64_member(doc, "attestationObject", MAX_ATTOBJ, &ao, &aolen));
	OB_TRY(check_clientdata(e, cdj, cdjlen, &c));
	OB_TRY(check_attobj(e, ao, aolen, &c));
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	ob_enrol_cred_clear(&c);
	json_decref(doc);
	free(cdj);
	free(ao);
	return r;
}

