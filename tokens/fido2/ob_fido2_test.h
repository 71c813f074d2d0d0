/*
 * TEST ONLY.  Route the FIDO2 backend's libfido2 devices through custom
 * io functions (tests/softfido) and replace device discovery with a fixed
 * list of paths.  Defined in fido2_testhook.c, which nothing in the
 * shipped tool references, so a static link of ownerbind leaves it out
 * (tests/fido2 checks with nm).  io NULL restores the hidraw defaults;
 * paths NULL restores fido_dev_info_manifest.  Both are borrowed and must
 * outlive their use.
 */
#ifndef OB_TOKENS_OB_FIDO2_TEST_H
#define OB_TOKENS_OB_FIDO2_TEST_H

#include <fido.h>

void ob_fido2_set_io(const fido_dev_io_t *io);
void ob_fido2_set_test_devices(const char *const *paths);

#endif
