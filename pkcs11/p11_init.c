/*
 * A new token (ob_p11.h, ob_p11_init_token): what softhsm2-util
 * --init-token does, without its PINs on a command line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"

#define MAX_SLOTS	64

/* The label as PKCS#11 wants it: 32 bytes, blank-padded. */
static void
pad_label(const char *label, CK_UTF8CHAR out[32])
{
	size_t n = strlen(label);

	memset(out, ' ', 32);
	memcpy(out, label, n < 32 ? n : 32);
}

/* The slot whose token is (initialised and) labelled label, or not. */
static int
find_slot(CK_FUNCTION_LIST *f, const char *label, int initialized,
    CK_SLOT_ID *out)
{
	CK_SLOT_ID	slots[MAX_SLOTS];
	CK_ULONG	n = MAX_SLOTS, i;
	CK_TOKEN_INFO	ti;
	char		got[33];
	CK_RV		rv;

	if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return p11_err(rv, "C_GetSlotList", NULL);
	for (i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (((ti.flags & CKF_TOKEN_INITIALIZED) != 0) != initialized)
			continue;
		p11_trim(ti.label, sizeof(ti.label), got);
		if (!initialized || strcmp(got, label) == 0) {
			*out = slots[i];
			return OB_OK;
		}
	}
	return ob_errf(OB_ERR_TOKEN_ABSENT, initialized ? "no token "
	    "labelled \"%s\"" : "no slot with an uninitialised token (for "
	    "\"%s\")", label);
}

int
ob_p11_init_token(const char *module_path, const char *label,
    const char *so_pin, const char *user_pin)
{
	struct p11_module	*m;
	CK_FUNCTION_LIST	*f;
	CK_SESSION_HANDLE	 s = CK_INVALID_HANDLE;
	CK_SLOT_ID		 slot;
	CK_UTF8CHAR		 lab[32];
	CK_RV			 rv;
	int			 r, login = 0;

	if ((r = p11_module_load(module_path, &m)) != OB_OK)
		return r;
	f = m->f;
	pthread_rwlock_rdlock(&m->life);
	/* Another token of that name would be found instead of ours. */
	if (find_slot(f, label, 1, &slot) == OB_OK) {
		r = ob_errf(OB_ERR_KEY_EXISTS, "a token labelled \"%s\" is "
		    "there already", label);
		goto out;
	}
	OB_TRY(find_slot(f, label, 0, &slot));
	pad_label(label, lab);
	if ((rv = f->C_InitToken(slot, (CK_UTF8CHAR_PTR)(uintptr_t)so_pin,
	    strlen(so_pin), lab)) != CKR_OK) {
		r = p11_err(rv, "C_InitToken", label);
		goto out;
	}
	/* SoftHSM2 moves an initialised token to a new slot id. */
	OB_TRY(find_slot(f, label, 1, &slot));
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s)) != CKR_OK) {
		r = p11_err(rv, "C_OpenSession", label);
		goto out;
	}
	if ((rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)(uintptr_t)so_pin,
	    strlen(so_pin))) != CKR_OK) {
		r = p11_err(rv, "C_Login (security officer)", label);
		goto out;
	}
	login = 1;
	if ((rv = f->C_InitPIN(s, (CK_UTF8CHAR_PTR)(uintptr_t)user_pin,
	    strlen(user_pin))) != CKR_OK) {
		r = p11_err(rv, "C_InitPIN", label);
		goto out;
	}
	r = OB_OK;
out:
	if (login)
		(void)f->C_Logout(s);
	if (s != CK_INVALID_HANDLE)
		(void)f->C_CloseSession(s);
	pthread_rwlock_unlock(&m->life);
	return r;
}
