/* TEST ONLY: see ob_fido2_test.h.  Kept in its own object file. */
#include "tokens/fido2/fido2_int.h"
#include "tokens/fido2/ob_fido2_test.h"

void
ob_fido2_set_io(const fido_dev_io_t *io)
{
	fido2_test_io = io;
}

void
ob_fido2_set_test_devices(const char *const *paths)
{
	fido2_test_paths = paths;
}
