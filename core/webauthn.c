#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/alg.h"
#include "core/b64url.h"
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
ob_authdata_parse(const unsigned char *ad, size_t len, struct ob_authdata *out)
{
	if (len < OB_AUTHDATA_MINLEN)
		return ob_errf(OB_ERR_FIDO_AUTHDATA, "%zu bytes, at least %d",
		    len, OB_AUTHDATA_MINLEN);
	memcpy(out->rpid_hash, ad, 32);
	out->flags = ad[32];
	out->counter = (uint32_t)ad[33] << 24 | (uint32_t)ad[34] << 16 |
	    (uint32_t)ad[35] << 8 | (uint32_t)ad[36];
	out->len = len;
	return OB_OK;
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
