/*
 * ownerbind inspect on a credential the identity server issued: a WIT (a
 * JWS compact JWT) or a WIC (a PEM certificate), so that its owner sees
 * when it was issued and when it expires.  Nothing is verified here:
 * ownerbind-verify wit / wic does that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cliutil.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/inspect_cred.h"
#include "owner/ownerbind.h"

#define WIT_PART_MAX	12288	/* decoded header or claims */

int
inspect_cred_kind(const char *buf, size_t len)
{
	size_t	i, dots = 0;

	if (len > 27 && strncmp(buf, "-----BEGIN CERTIFICATE-----", 27) == 0)
		return INSPECT_WIC;
	/* header.claims.signature, base64url only, an optional newline */
	for (i = 0; i < len; i++) {
		if (buf[i] == '.')
			dots++;
		else if (buf[i] == '\n' && i + 1 == len)
			break;
		else if (!(buf[i] >= 'A' && buf[i] <= 'Z') &&
		    !(buf[i] >= 'a' && buf[i] <= 'z') &&
		    !(buf[i] >= '0' && buf[i] <= '9') && buf[i] != '-' &&
		    buf[i] != '_')
			return INSPECT_ENVELOPE;
	}
	return dots == 2 ? INSPECT_WIT : INSPECT_ENVELOPE;
}

static int
part(const char *s, size_t n, json_t **out)
{
	unsigned char	*raw = NULL;
	size_t		 rawlen;
	int		 r;

	if ((r = ob_b64url_decode(s, n, WIT_PART_MAX, &raw, &rawlen)) !=
	    OB_OK)
		return r;
	r = ob_json_parse_object(raw, rawlen, out);
	free(raw);
	return r;
}

static long long
int_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* iat, exp and the relative times, for people or as members of o. */
static void
times(long long iat, long long exp, long long now, json_t *o)
{
	char	when[96];

	if (owner_json) {
		(void)json_object_set_new(o, "iat", json_integer(iat));
		(void)json_object_set_new(o, "exp", json_integer(exp));
		(void)json_object_set_new(o, "now", json_integer(now));
		(void)json_object_set_new(o, "issued_ago",
		    json_integer(now - iat));
		(void)json_object_set_new(o, "expires_in",
		    json_integer(exp - now));
		(void)json_object_set_new(o, "expired",
		    json_boolean(now >= exp));
		return;
	}
	ob_cli_when(iat, now, when, sizeof(when));
	printf("issued   %s\n", when);
	ob_cli_when(exp, now, when, sizeof(when));
	printf("%s  %s\n", now >= exp ? "EXPIRED" : "expires", when);
}

static int
emit(json_t *o)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_json_dump(o, &s, &n)) == OB_OK)
		printf("%s\n", s);
	free(s);
	return r;
}

static int
inspect_wit(const char *buf, size_t len, long long now)
{
	const char	*d1, *d2;
	json_t		*hdr = NULL, *cl = NULL, *o = NULL;
	char		*s = NULL;
	size_t		 n;
	int		 r;

	d1 = memchr(buf, '.', len);
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - buf));
	OB_TRY(part(buf, (size_t)(d1 - buf), &hdr));
	OB_TRY(part(d1 + 1, (size_t)(d2 - d1 - 1), &cl));
	if (owner_json) {
		if ((o = json_pack("{s:s,s:O,s:O}", "kind", "wit", "header",
		    hdr, "claims", cl)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		times(int_of(cl, "iat"), int_of(cl, "exp"), now, o);
		r = emit(o);
		goto out;
	}
	OB_TRY(ob_json_dump(hdr, &s, &n));
	printf("WIT header  %s\n", s);
	free(s);
	s = NULL;
	OB_TRY(ob_json_dump(cl, &s, &n));
	printf("claims      %s\n", s);
	times(int_of(cl, "iat"), int_of(cl, "exp"), now, NULL);
	printf("(not verified: ownerbind-verify wit checks it)\n");
	r = OB_OK;
out:
	free(s);
	json_decref(hdr);
	json_decref(cl);
	json_decref(o);
	return r;
}

static int
asn1_epoch(const ASN1_TIME *t, long long *out)
{
	struct tm	tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return ob_errf(OB_ERR_CRYPTO, "ASN1_TIME_to_tm");
	*out = (long long)timegm(&tm);
	return OB_OK;
}

static int
inspect_wic(const char *buf, size_t len, long long now)
{
	BIO		*b;
	X509		*x = NULL;
	json_t		*o = NULL;
	char		 subj[512], iss[512], san[512] = "";
	long long	 nb = 0, na = 0;
	int		 r, i;
	GENERAL_NAMES	*gens;

	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return OB_ERR_ALLOC;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		return ob_errf(OB_ERR_WIC_PROFILE, "not a PEM certificate");
	OB_TRY(asn1_epoch(X509_get0_notBefore(x), &nb));
	OB_TRY(asn1_epoch(X509_get0_notAfter(x), &na));
	(void)X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	(void)X509_NAME_oneline(X509_get_issuer_name(x), iss, sizeof(iss));
	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL)) != NULL) {
		for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

			if (g->type == GEN_URI)
				(void)snprintf(san, sizeof(san), "%.*s",
				    ASN1_STRING_length(g->d.uniformResourceIdentifier),
				    (const char *)ASN1_STRING_get0_data(
				    g->d.uniformResourceIdentifier));
		}
		GENERAL_NAMES_free(gens);
	}
	if (owner_json) {
		if ((o = json_pack("{s:s,s:s,s:s,s:s}", "kind", "wic", "subject",
		    subj, "issuer", iss, "uri_san", san)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		times(nb, na, now, o);
		r = emit(o);
		goto out;
	}
	printf("WIC subject  %s\nissuer       %s\nURI SAN      %s\n", subj, iss,
	    san);
	times(nb, na, now, NULL);
	printf("(not verified: ownerbind-verify wic checks it)\n");
	r = OB_OK;
out:
	json_decref(o);
	X509_free(x);
	return r;
}

int
inspect_cred(int kind, const char *buf, size_t len, long long now)
{
	return kind == INSPECT_WIT ? inspect_wit(buf, len, now) :
	    inspect_wic(buf, len, now);
}
