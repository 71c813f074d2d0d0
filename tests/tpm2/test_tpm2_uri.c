/* tpm2: URI grammar (docs/tpm2.md, "Key URIs"): accepted and refused forms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tokens/tpm2/tpm2_int.h"

static void
t_valid(void **state)
{
	struct tpm2_uri u;

	(void)state;
	unsetenv("TPM2TOOLS_TCTI");
	unsetenv("TSS2_TCTI");
	assert_int_equal(tpm2_uri_parse("tpm2:handle=0x81000001", &u), OB_OK);
	assert_int_equal(u.handle, 0x81000001u);
	assert_null(u.file);
	assert_string_equal(u.tcti, "device:/dev/tpmrm0");
	assert_int_equal(u.auth, 0);
	tpm2_uri_free(&u);
	assert_int_equal(tpm2_uri_parse("tpm2:auth=yes;tcti=swtpm:path=/r/s;"
	    "file=/k%3Bx.pem", &u), OB_OK);
	assert_string_equal(u.file, "/k;x.pem");
	assert_string_equal(u.tcti, "swtpm:path=/r/s");
	assert_int_equal(u.auth, 1);
	tpm2_uri_free(&u);
	setenv("TSS2_TCTI", "mssim:port=1", 1);
	assert_int_equal(tpm2_uri_parse("tpm2:file=k", &u), OB_OK);
	assert_string_equal(u.tcti, "mssim:port=1");
	tpm2_uri_free(&u);
	setenv("TPM2TOOLS_TCTI", "swtpm:path=/a", 1);
	assert_int_equal(tpm2_uri_parse("tpm2:file=k;auth=no", &u), OB_OK);
	assert_string_equal(u.tcti, "swtpm:path=/a");
	tpm2_uri_free(&u);
	unsetenv("TPM2TOOLS_TCTI");
	unsetenv("TSS2_TCTI");
}

static void
t_invalid(void **state)
{
	static const char *const bad[] = {
		"tpm2:", "tpm2", "pkcs11:handle=0x81000001",
		"tpm2:handle=0x81000001;file=k",
		"tpm2:handle=0x81000001;handle=0x81000002",
		"tpm2:file=a;file=b", "tpm2:file=", "tpm2:handle=",
		"tpm2:handle=81000001", "tpm2:handle=0x80000001",
		"tpm2:handle=0x82000000", "tpm2:handle=0x81000001x",
		"tpm2:handle=0x181000001", "tpm2:handle=0x 81000001",
		"tpm2:handle=0x-81000001", "tpm2:handle=0x+81000001", "tpm2:slot=1;file=k",
		"tpm2:file=k;", "tpm2:file=k;;auth=yes", "tpm2:file",
		"tpm2:file=%", "tpm2:file=%4", "tpm2:file=%zz",
		"tpm2:file=a%00b", "tpm2:file=k;auth=maybe",
		"tpm2:file=k;auth=yes;auth=yes", "tpm2:file=k;tcti=",
		"tpm2:file=k;tcti=a;tcti=b", NULL
	};
	struct tpm2_uri	u;
	size_t		i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		memset(&u, 0, sizeof(u));
		if (tpm2_uri_parse(bad[i], &u) != OB_ERR_KEY_URI)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(u.tcti);
		assert_null(u.file);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_valid),
		cmocka_unit_test(t_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
