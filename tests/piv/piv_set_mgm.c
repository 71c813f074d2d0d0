/*
 * piv_set_mgm READER OLD-ALG NEW-ALG - change a card's management key
 * (YubiKey SET MANAGEMENT KEY, INS FF) through the backend's own APDU
 * layer, so the tests can give the virtual card an AES key (yubico-piv-tool
 * 2.2 sets 3DES keys only).  The old and new keys are read as hex lines
 * from stdin (never argv).  A test tool, not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "tokens/piv/piv_int.h"

static uint8_t
alg_of(const char *s)
{
	if (strcmp(s, "3des") == 0)
		return PIV_ALG_3DES;
	if (strcmp(s, "aes128") == 0)
		return PIV_ALG_AES128;
	if (strcmp(s, "aes192") == 0)
		return PIV_ALG_AES192;
	if (strcmp(s, "aes256") == 0)
		return PIV_ALG_AES256;
	return 0;
}

static size_t
hexline(uint8_t *out, size_t cap)
{
	char		 line[130];
	size_t		 n = 0;
	unsigned int	 b;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	while (n < cap && sscanf(line + 2 * n, "%2x", &b) == 1)
		out[n++] = (uint8_t)b;
	OPENSSL_cleanse(line, sizeof(line));
	return n;
}

int
main(int argc, char **argv)
{
	struct piv_conn	 c;
	struct piv_rsp	 rsp;
	uint8_t		 old[32], new[32], cmd[3 + 32], oalg, nalg;
	size_t		 olen, nlen;
	int		 r;

	if (argc != 4 || (oalg = alg_of(argv[2])) == 0 ||
	    (nalg = alg_of(argv[3])) == 0) {
		fprintf(stderr, "usage: piv_set_mgm READER OLD-ALG NEW-ALG "
		    "<keys\n");
		return 64;
	}
	olen = hexline(old, sizeof(old));
	nlen = hexline(new, sizeof(new));
	cmd[0] = nalg;
	cmd[1] = 0x9b;
	cmd[2] = (uint8_t)nlen;
	memcpy(cmd + 3, new, nlen);
	if ((r = piv_ctx_open(&c)) == OB_OK &&
	    (r = piv_connect(&c, argv[1])) == OB_OK &&
	    (r = piv_tx_begin(&c)) == OB_OK &&
	    (r = piv_select(&c)) == OB_OK &&
	    (r = piv_mgm_auth(&c, oalg, old, olen)) == OB_OK &&
	    (r = piv_transmit(&c, 0xff, 0xff, 0xff, cmd, 3 + nlen, 0,
	    &rsp)) == OB_OK) {
		if (rsp.sw != 0x9000)
			r = piv_sw_err(rsp.sw, "SET MANAGEMENT KEY");
		piv_rsp_free(&rsp);
	}
	piv_conn_close(&c);
	OPENSSL_cleanse(old, sizeof(old));
	OPENSSL_cleanse(new, sizeof(new));
	OPENSSL_cleanse(cmd, sizeof(cmd));
	if (r != OB_OK) {
		fprintf(stderr, "piv_set_mgm: %s: %s\n", ob_err_name(r),
		    ob_err_detail());
		return 1;
	}
	return 0;
}
