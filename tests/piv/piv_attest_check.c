/*
 * piv_attest_check TRUST KID ROOTS.pem - run server-verify/piv_attest.c
 * on the attestation that `ownerbind enroll` recorded for KID in the
 * trust store TRUST, with the PIV roots from ROOTS.pem (what a trust
 * store's "piv_roots" would hold).  Prints "card-generated serial N" and
 * exits 0, or prints the error name and detail and exits 1; exits 2 when
 * the entry has no attestation member.  A test tool, not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/jwk.h"
#include "server-verify/piv_attest.h"

static json_t *
roots_from_pem(const char *path)
{
	static const char end[] = "-----END CERTIFICATE-----";
	FILE	*f;
	char	 buf[65536], *p, *e;
	size_t	 n;
	json_t	*a = json_array();

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (p = buf; (e = strstr(p, end)) != NULL; p = e) {
		e += sizeof(end) - 1;
		json_array_append_new(a, json_stringn(p, (size_t)(e - p)));
		while (*e == '\n' || *e == '\r')
			e++;
	}
	return a;
}

int
main(int argc, char **argv)
{
	struct ob_piv_attest_info	 info;
	json_error_t			 jerr;
	json_t				*doc, *o, *k, *roots, *att = NULL;
	const json_t			*jwk = NULL;
	X509_STORE			*st = NULL;
	EVP_PKEY			*pub = NULL;
	size_t				 i, j;
	int				 r;

	if (argc != 4) {
		fprintf(stderr, "usage: piv_attest_check TRUST KID ROOTS.pem\n");
		return 64;
	}
	if ((doc = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || (roots = roots_from_pem(argv[3])) == NULL) {
		fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[3]);
		return 64;
	}
	json_array_foreach(json_object_get(doc, "owners"), i, o)
		json_array_foreach(json_object_get(o, "keys"), j, k)
			if (strcmp(json_string_value(json_object_get(k, "kid")),
			    argv[2]) == 0) {
				att = json_object_get(k, "attestation");
				jwk = json_object_get(k, "jwk");
			}
	if (jwk == NULL) {
		fprintf(stderr, "kid %s not in %s\n", argv[2], argv[1]);
		return 64;
	}
	if (att == NULL) {
		printf("no attestation\n");
		return 2;
	}
	if ((r = ob_jwk_to_pkey(jwk, &pub)) == OB_OK &&
	    (r = ob_piv_roots_load(roots, &st)) == OB_OK &&
	    (r = ob_piv_attest_verify(att, pub, st, 0, &info)) == OB_OK)
		printf("card-generated serial %lu\n", info.have_serial ?
		    (unsigned long)info.serial : 0UL);
	else
		printf("%s: %s\n", ob_err_name(r), ob_err_detail());
	EVP_PKEY_free(pub);
	X509_STORE_free(st);
	json_decref(roots);
	json_decref(doc);
	return r == OB_OK ? 0 : 1;
}
