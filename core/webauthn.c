#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/webauthn.h"

int
ob_webauthn_challenge(const char *signing_input, size_t len, char out[44])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	char		*s = NULL;
	int		 r;

	if ((r = ob_sha256(signing_input, len, md)) != OB_OK ||
	    (r = ob_b64url_encode(md, sizeof(md), &s)) != OB_OK)
		return r;
	memcpy(out, s, 44);
	free(s);
	return OB_OK;
}

int
ob_webauthn_clientdata(const char *signing_input, size_t len, char **out,
    size_t *outlen)
{
	char	 ch[44], *s;
	int	 n, r;

	if ((r = ob_webauthn_challenge(signing_input, len, ch)) != OB_OK)
		return r;
	/*
	 * WebAuthn 5.8.1.1 limited serialisation, member order fixed.  The
	 * challenge and origin need no JSON escaping (base64url, constant).
	 */
	n = asprintf(&s, "{\"type\":\"webauthn.get\",\"challenge\":\"%s\","
	    "\"origin\":\"%s\",\"crossOrigin\":false}", ch, OB_WEBAUTHN_ORIGIN);
	if (n < 0)
		return OB_ERR_ALLOC;
	*out = s;
	*outlen = (size_t)n;
	return OB_OK;
}

int
ob_webauthn_check_clientdata(const unsigned char *cdj, size_t cdjlen,
    const char *signing_input, size_t silen)
{
	json_t		*o = NULL;
	const char	*s;
	char		 ch[44], *want = NULL;
	size_t		 wantlen;
	int		 r;

	if ((r = ob_json_parse_object(cdj, cdjlen, &o)) != OB_OK) {
		r = ob_errf(OB_ERR_FIDO_CLIENTDATA, "%s", ob_err_text(r));
		goto out;
	}
	if ((r = ob_json_get_str(o, "type", 1, 64, OB_ERR_FIDO_TYPE,
	    OB_ERR_FIDO_TYPE, &s)) != OB_OK)
		goto out;
	if (strcmp(s, "webauthn.get") != 0) {
		r = ob_errf(OB_ERR_FIDO_TYPE, "type \"%.32s\"", s);
		goto out;
	}
	OB_TRY(ob_webauthn_challenge(signing_input, silen, ch));
	if ((r = ob_json_get_str(o, "challenge", 1, 128,
	    OB_ERR_FIDO_CHALLENGE, OB_ERR_FIDO_CHALLENGE, &s)) != OB_OK)
		goto out;
	if (strcmp(s, ch) != 0) {
		r = ob_errf(OB_ERR_FIDO_CHALLENGE, "challenge differs");
		goto out;
	}
	if ((r = ob_json_get_str(o, "origin", 1, 256, OB_ERR_FIDO_ORIGIN,
	    OB_ERR_FIDO_ORIGIN, &s)) != OB_OK)
		goto out;
	if (strcmp(s, OB_WEBAUTHN_ORIGIN) != 0) {
		r = ob_errf(OB_ERR_FIDO_ORIGIN, "origin \"%.64s\"", s);
		goto out;
	}
	OB_TRY(ob_webauthn_clientdata(signing_input, silen, &want, &wantlen));
	if (wantlen != cdjlen || memcmp(want, cdj, cdjlen) != 0) {
		r = ob_errf(OB_ERR_FIDO_CLIENTDATA, "not in canonical form");
		goto out;
	}
	r = OB_OK;
out:
	free(want);
	json_decref(o);
	return r;
}

int
ob_webauthn_check_clientdata_web(const unsigned char *cdj, size_t cdjlen,
    const char *signing_input, size_t silen, char *const *origins, size_t n)
{
	json_t		*o = NULL;
	const json_t	*co;
	const char	*s, *origin;
	char		 ch[44];
	size_t		 i;
	int		 r;

	if ((r = ob_json_parse_object(cdj, cdjlen, &o)) != OB_OK)
		return ob_errf(OB_ERR_FIDO_CLIENTDATA, "%s", ob_err_text(r));
	if ((r = ob_json_get_str(o, "origin", 1, 256, OB_ERR_FIDO_ORIGIN,
	    OB_ERR_FIDO_ORIGIN, &origin)) != OB_OK)
		goto out;
	if (strcmp(origin, OB_WEBAUTHN_ORIGIN) == 0) {
		json_decref(o);
		return ob_webauthn_check_clientdata(cdj, cdjlen, signing_input,
		    silen);
	}
	for (i = 0; i < n; i++)
		if (strcmp(origins[i], origin) == 0)
			break;
	if (i == n) {
		r = ob_errf(OB_ERR_FIDO_ORIGIN, "origin \"%.64s\" is not one "
		    "of the credential's", origin);
		goto out;
	}
	if ((r = ob_json_get_str(o, "type", 1, 64, OB_ERR_FIDO_TYPE,
	    OB_ERR_FIDO_TYPE, &s)) != OB_OK)
		goto out;
	if (strcmp(s, "webauthn.get") != 0) {
		r = ob_errf(OB_ERR_FIDO_TYPE, "type \"%.32s\"", s);
		goto out;
	}
	OB_TRY(ob_webauthn_challenge(signing_input, silen, ch));
	if ((r = ob_json_get_str(o, "challenge", 1, 128,
	    OB_ERR_FIDO_CHALLENGE, OB_ERR_FIDO_CHALLENGE, &s)) != OB_OK)
		goto out;
	if (strcmp(s, ch) != 0) {
		r = ob_errf(OB_ERR_FIDO_CHALLENGE, "challenge differs");
		goto out;
	}
	/* Made inside a frame of another site: not this page's approval. */
	if (((co = json_object_get(o, "crossOrigin")) != NULL &&
	    !json_is_false(co)) || json_object_get(o, "topOrigin") != NULL) {
		r = ob_errf(OB_ERR_FIDO_ORIGIN, "a cross-origin assertion");
		goto out;
	}
	r = OB_OK;
out:
	json_decref(o);
	return r;
}

/* COSE keys nest two deep, the extensions CTAP2.1 defines three. */
#define CBOR_DEPTH_MAX	8

/* Taint the reader with our code; the detail says what and where. */
static int
ad_bad(struct ob_rd *rd, const char *what)
{
	size_t	off = ob_rd_offset(rd);

	(void)ob_rd_fail(rd, OB_ERR_FIDO_AUTHDATA);
	return ob_errf(OB_ERR_FIDO_AUTHDATA, "%s at offset %zu", what, off);
}

/*
 * Skip one CBOR data item (RFC 8949 section 3) without decoding it: the
 * initial byte and an argument of 0-8 bytes, then as many bytes (byte and
 * text strings) or items (arrays, maps, a tag's content) as it says.
 * Indefinite lengths and reserved additional information are refused:
 * CTAP2's canonical CBOR has neither.  Every item takes at least one byte,
 * so a count above what is left is refused before the loop runs, and the
 * recursion is bounded by depth.
 */
static int
cbor_skip(struct ob_rd *rd, int depth)
{
	uint64_t	arg = 0, per, i;
	uint32_t	a32;
	uint16_t	a16;
	uint8_t		ib, a8;
	int		r;

	if (depth > CBOR_DEPTH_MAX)
		return ad_bad(rd, "CBOR nested too deep");
	if ((r = ob_rd_u8(rd, &ib)) != OB_OK)
		return r;
	switch (ib & 0x1f) {
	case 24:
		if ((r = ob_rd_u8(rd, &a8)) == OB_OK)
			arg = a8;
		break;
	case 25:
		if ((r = ob_rd_u16(rd, &a16)) == OB_OK)
			arg = a16;
		break;
	case 26:
		if ((r = ob_rd_u32(rd, &a32)) == OB_OK)
			arg = a32;
		break;
	case 27:
		r = ob_rd_u64(rd, &arg);
		break;
	case 28:
	case 29:
	case 30:
	case 31:
		return ad_bad(rd, "CBOR indefinite length or reserved value");
	default:
		arg = ib & 0x1f;
		break;
	}
	if (r != OB_OK)
		return r;
	switch (ib >> 5) {
	case 0:		/* unsigned and negative integers */
	case 1:
		return OB_OK;
	case 2:		/* byte and text strings */
	case 3:
		if (arg > ob_rd_left(rd))
			return ad_bad(rd, "CBOR string overruns the data");
		return ob_rd_skip(rd, (size_t)arg);
	case 4:		/* arrays and maps */
	case 5:
		per = ib >> 5 == 5 ? 2 : 1;
		if (arg > ob_rd_left(rd) / per)
			return ad_bad(rd, "CBOR count overruns the data");
		for (i = 0; i < arg * per; i++)
			if ((r = cbor_skip(rd, depth + 1)) != OB_OK)
				return r;
		return OB_OK;
	case 6:		/* a tag, then its content */
		return cbor_skip(rd, depth + 1);
	default:	/* simple values and floats */
		if ((ib & 0x1f) == 24 && arg < 32)
			return ad_bad(rd, "CBOR simple value not well-formed");
		return OB_OK;
	}
}

/* One CBOR map, borrowed from the reader. */
static int
cbor_map(struct ob_rd *rd, const uint8_t **p, size_t *n)
{
	struct ob_rd	c;
	size_t		len;
	uint8_t		ib;
	int		r;

	if ((r = ob_rd_peek_u8(rd, &ib)) != OB_OK)
		return ad_bad(rd, "CBOR map missing");
	if (ib >> 5 != 5)
		return ad_bad(rd, "not a CBOR map");
	/* Walk a copy to learn the map's length, then take that many. */
	c = *rd;
	if ((r = cbor_skip(&c, 0)) != OB_OK)
		return ob_rd_fail(rd, r);
	len = ob_rd_offset(&c) - ob_rd_offset(rd);
	if ((r = ob_rd_bytes(rd, len, p)) != OB_OK)
		return r;
	*n = len;
	return OB_OK;
}

static int
rd_head(struct ob_rd *rd, size_t len, struct ob_authdata *a)
{
	if (ob_rd_copy(rd, a->rpid_hash, sizeof(a->rpid_hash)) != OB_OK ||
	    ob_rd_u8(rd, &a->flags) != OB_OK ||
	    ob_rd_u32(rd, &a->counter) != OB_OK)
		return ob_errf(OB_ERR_FIDO_AUTHDATA, "%zu bytes, at least %d",
		    len, OB_AUTHDATA_MINLEN);
	a->len = len;
	return OB_OK;
}

int
ob_authdata_head(const unsigned char *ad, size_t len, struct ob_authdata *out)
{
	struct ob_authdata	a;
	struct ob_rd		rd;
	int			r;

	memset(&a, 0, sizeof(a));
	ob_rd_init(&rd, ad, len);
	if ((r = rd_head(&rd, len, &a)) != OB_OK)
		return r;
	*out = a;
	return OB_OK;
}

int
ob_authdata_parse(const unsigned char *ad, size_t len, struct ob_authdata *out)
{
	struct ob_authdata	a;
	struct ob_rd		rd;
	int			r;

	memset(&a, 0, sizeof(a));
	ob_rd_init(&rd, ad, len);
	if ((r = rd_head(&rd, len, &a)) != OB_OK)
		return r;
	if (a.flags & OB_AD_AT) {
		OB_TRY(ob_rd_bytes(&rd, 16, &a.aaguid));
		OB_TRY(ob_rd_lv16(&rd, OB_AUTHDATA_CRED_ID_MAX, &a.cred_id,
		    &a.cred_id_len));
		if (a.cred_id_len == 0) {
			r = ad_bad(&rd, "empty credential id");
			goto out;
		}
		OB_TRY(cbor_map(&rd, &a.cose_key, &a.cose_key_len));
	}
	if (a.flags & OB_AD_ED)
		OB_TRY(cbor_map(&rd, &a.ext, &a.ext_len));
	OB_TRY(ob_rd_end(&rd));
	*out = a;
	r = OB_OK;
out:
	return r == OB_OK ? OB_OK : ob_err_prefix(OB_ERR_FIDO_AUTHDATA,
	    "authenticatorData");
}

int
ob_webauthn_message(const unsigned char *ad, size_t adlen,
    const unsigned char *cdj, size_t cdjlen, unsigned char **msg,
    size_t *msglen)
{
	unsigned char	*m;
	int		 r;

	if (adlen > OB_AUTHDATA_MINLEN * 64 ||
	    (m = malloc(adlen + SHA256_DIGEST_LENGTH)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(m, ad, adlen);
	if ((r = ob_sha256(cdj, cdjlen, m + adlen)) != OB_OK) {
		free(m);
		return r;
	}
	*msg = m;
	*msglen = adlen + SHA256_DIGEST_LENGTH;
	return OB_OK;
}

int
ob_rpid_hash(const char *rp_id, unsigned char out[32])
{
	return ob_sha256(rp_id, strlen(rp_id), out);
}
