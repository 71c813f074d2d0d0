/*
 * ownerbind-dev-token: the PKCS#11 step of `ownerbind-gateway --dev`
 * (gateway/devmode.c), a program of its own so that the gateway links
 * no token library and loads no module.
 *
 *   ownerbind-dev-token MODULE LABEL SO_PIN_FILE USER_PIN_FILE KEY_URI PUB
 *
 * Initialises the first uninitialised token of MODULE (SOFTHSM2_CONF
 * names SoftHSM2's token directory) as LABEL with the SO PIN and the user
 * PIN read from their files (pin source file:, docs/pin-sources.md: the
 * PINs are never in argv), generates a P-256 key at KEY_URI (which names
 * the user PIN's file as its pin-source), the code path of `ownerbind
 * keygen --key pkcs11:...`, and writes its public key (PEM) to the new
 * file PUB.  Exits 0, or 1 with the error on stderr.  Not installed for
 * users: the gateway runs it from its own directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "common/process.h"
#include "core/err.h"
#include "ownerbind/ob_err.h"
#include "pkcs11/ob_p11.h"
#include "tokens/pin.h"

#define PROG	"ownerbind-dev-token"

/* A new file (never over one): the public key, not a secret. */
static int
write_new(const char *path, const char *data, size_t len)
{
	FILE	*f;
	int	 bad;

	if ((f = fopen(path, "wxe")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	bad = fwrite(data, 1, len, f) != len;
	if (fclose(f) != 0 || bad) {
		(void)unlink(path);
		return ob_errf(OB_ERR_IO, "%s: write failed", path);
	}
	return OB_OK;
}

static int
read_pin(const char *path, struct ob_pin_source **src, char **pin)
{
	char	spec[4096 + 8];
	int	n, r;

	n = snprintf(spec, sizeof(spec), "file:%s", path);
	if (n < 0 || (size_t)n >= sizeof(spec))
		return ob_errf(OB_ERR_INVALID_ARG, "%s: path too long", path);
	if ((r = ob_pin_source_parse(spec, src)) != OB_OK)
		return r;
	return ob_pin_read(*src, NULL, pin);
}

static int
run(char **argv)
{
	struct ob_pin_source	*sos = NULL, *us = NULL;
	struct ob_p11_pool	*pool = NULL;
	EVP_PKEY		*pk = NULL;
	BIO			*b = NULL;
	char			*so = NULL, *user = NULL, *data;
	long			 n;
	int			 r;

	OB_TRY(read_pin(argv[3], &sos, &so));
	OB_TRY(read_pin(argv[4], &us, &user));
	OB_TRY(ob_p11_init_token(argv[1], argv[2], so, user));
	OB_TRY(ob_p11_keygen(argv[5], OB_ALG_ES256, NULL, 1));
	OB_TRY(ob_p11_pool_open(argv[5], NULL, OB_P11_QUIET, 1, &pool));
	OB_TRY(ob_p11_pool_pubkey(pool, &pk));
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(b, pk) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		r = ob_errf(OB_ERR_CRYPTO, "the token's public key");
		goto out;
	}
	r = write_new(argv[6], data, (size_t)n);
out:
	BIO_free(b);
	EVP_PKEY_free(pk);
	ob_p11_pool_close(&pool);
	ob_pin_free(&so);
	ob_pin_free(&user);
	ob_pin_source_free(&sos);
	ob_pin_source_free(&us);
	ob_p11_shutdown();
	return r;
}

int
main(int argc, char **argv)
{
	int r;

	ob_process_harden();	/* PINs in memory: no core dump */
	if (argc != 7) {
		fprintf(stderr, "usage: %s MODULE LABEL SO_PIN_FILE "
		    "USER_PIN_FILE KEY_URI PUBKEY_OUT\n(run by "
		    "ownerbind-gateway --dev)\n", PROG);
		return 2;
	}
	if ((r = run(argv)) != OB_OK) {
		fprintf(stderr, "%s: %s: %s\n", PROG, ob_err_name(r),
		    ob_err_detail());
		return 1;
	}
	return 0;
}
