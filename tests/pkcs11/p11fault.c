/*
 * p11fault: a PKCS#11 module for tests only.  It forwards to a real module
 * (SoftHSM2 by default, $P11FAULT_MODULE) and misbehaves on demand, so the
 * tests can show what ownerbind does when a token is reset, removed or
 * finalized under it, or lies to it.  Never part of a product binary.
 *
 * Environment:
 *   P11FAULT_MODULE       the real module
 *   P11FAULT_PIN_TRIES=N  emulate a user-PIN retry counter of N tries
 *                         (SoftHSM2 never locks): C_GetTokenInfo reports
 *                         CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED and
 *                         C_Login returns CKR_PIN_LOCKED once it is spent.
 *                         The counter lives in $P11FAULT_STATE (a file).
 *   P11FAULT_HIDE_MECHS   comma-separated mechanism numbers to hide
 *   P11FAULT_CORRUPT_SIG  flip a bit in every signature C_Sign returns
 *   P11FAULT_SHORT_SIG    drop the last byte of every signature
 *   P11FAULT_BAD_POINT    move CKA_EC_POINT off its curve
 *   P11FAULT_LOG=FILE     log every C_Login (user type, result) to FILE
 *   P11FAULT_REMOVED_FILE=PATH  while PATH exists, every C_SignInit says
 *                         CKR_DEVICE_REMOVED (a token pulled out and put
 *                         back, driven from outside the process)
 *   P11FAULT_SIGN_DELAY_US=N  every C_Sign waits N microseconds first
 *                         (an HSM whose signing is latency-bound, a
 *                         network HSM, for bench/run-bench-gateway.sh)
 *   P11FAULT_NO_SIGN      key pairs are generated with CKA_SIGN false
 *                         (pkcs11-tool cannot ask for that; SoftHSM2's
 *                         default is true)
 * In-process control (dlsym), for the pool test:
 *   p11fault_inject(P11FAULT_RESET, n)    the n-th next C_Sign first closes
 *       every session of the real module (a token reset: the pool's
 *       handles go stale and the token logs out)
 *   p11fault_inject(P11FAULT_REMOVED, n)  the next n C_SignInit calls say
 *       CKR_DEVICE_REMOVED
 *   p11fault_inject(P11FAULT_FINALIZE, 1) finalize the real module now;
 *       every call says CKR_CRYPTOKI_NOT_INITIALIZED until the caller
 *       runs C_Finalize + C_Initialize
 *   p11fault_fired(kind)                  how often each fault fired
 * Every forwarded call holds a read lock and the faults that finalize or
 * reset hold the write lock, so the real module is never finalized under
 * a call in flight.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define P11FAULT_RESET		1
#define P11FAULT_REMOVED	2
#define P11FAULT_FINALIZE	3

#define EXPORT __attribute__((visibility("default")))

EXPORT void p11fault_inject(int kind, int n);
EXPORT int p11fault_fired(int kind);
EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

static CK_FUNCTION_LIST		 fl;
static CK_FUNCTION_LIST		*real;
static void			*real_dl;
static pthread_rwlock_t		 life = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int		 reset_in, removed_n, finalized;
static atomic_int		 fired[4];

void
p11fault_inject(int kind, int n)
{
	switch (kind) {
	case P11FAULT_RESET:
		atomic_store(&reset_in, n);
		break;
	case P11FAULT_REMOVED:
		atomic_store(&removed_n, n);
		break;
	case P11FAULT_FINALIZE:
		pthread_rwlock_wrlock(&life);
		if (!atomic_load(&finalized)) {
			(void)real->C_Finalize(NULL);
			atomic_store(&finalized, 1);
			atomic_fetch_add(&fired[P11FAULT_FINALIZE], 1);
		}
		pthread_rwlock_unlock(&life);
		break;
	}
}

int
p11fault_fired(int kind)
{
	return kind > 0 && kind < 4 ? atomic_load(&fired[kind]) : 0;
}

/* ---- the emulated PIN retry counter ---------------------------------- */

static int
tries_max(void)
{
	const char	*v = getenv("P11FAULT_PIN_TRIES");
	char		*end;
	long		 n;

	if (v == NULL)
		return 0;
	n = strtol(v, &end, 10);
	return *v != '\0' && *end == '\0' && n > 0 && n < 100 ? (int)n : 0;
}

static int
tries_left(void)
{
	const char	*path = getenv("P11FAULT_STATE");
	FILE		*f;
	int		 n = tries_max();

	if (path != NULL && (f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &n) != 1)
			n = tries_max();
		fclose(f);
	}
	return n;
}

static void
tries_set(int n)
{
	const char	*path = getenv("P11FAULT_STATE");
	FILE		*f;

	if (path != NULL && (f = fopen(path, "w")) != NULL) {
		fprintf(f, "%d\n", n);
		fclose(f);
	}
}

static int
mech_hidden(CK_MECHANISM_TYPE m)
{
	const char	*v = getenv("P11FAULT_HIDE_MECHS");
	char		*end;
	unsigned long	 x;

	while (v != NULL && *v != '\0') {
		x = strtoul(v, &end, 0);
		if (end == v)
			break;
		if (x == m)
			return 1;
		v = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* ---- forwarding ------------------------------------------------------ */

#define ENTER() do { pthread_rwlock_rdlock(&life); \
	if (atomic_load(&finalized)) { pthread_rwlock_unlock(&life); \
	return CKR_CRYPTOKI_NOT_INITIALIZED; } } while (0)
#define LEAVE(rv) do { CK_RV rv_ = (rv); pthread_rwlock_unlock(&life); \
	return rv_; } while (0)

static CK_RV
f_Initialize(CK_VOID_PTR args)
{
	CK_RV rv;

	pthread_rwlock_wrlock(&life);
	rv = real->C_Initialize(args);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		atomic_store(&finalized, 0);
	pthread_rwlock_unlock(&life);
	return rv;
}

static CK_RV
f_Finalize(CK_VOID_PTR r)
{
	CK_RV rv = CKR_OK;

	pthread_rwlock_wrlock(&life);
	if (!atomic_load(&finalized))
		rv = real->C_Finalize(r);
	atomic_store(&finalized, 1);
	pthread_rwlock_unlock(&life);
	return rv;
}

static CK_RV
f_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
	CK_RV	rv;
	int	max = tries_max(), left;

	ENTER();
	rv = real->C_GetTokenInfo(slot, ti);
	if (rv == CKR_OK && max > 0) {
		left = tries_left();
		ti->flags &= ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY |
		    CKF_USER_PIN_LOCKED);
		if (left <= 0)
			ti->flags |= CKF_USER_PIN_LOCKED;
		else if (left == 1)
			ti->flags |= CKF_USER_PIN_FINAL_TRY |
			    CKF_USER_PIN_COUNT_LOW;
		else if (left < max)
			ti->flags |= CKF_USER_PIN_COUNT_LOW;
	}
	LEAVE(rv);
}

/* P11FAULT_LOG=FILE: one line per C_Login (user type and result). */
static void
log_login(CK_USER_TYPE u, CK_RV rv)
{
	const char	*path = getenv("P11FAULT_LOG");
	FILE		*f;

	if (path != NULL && (f = fopen(path, "a")) != NULL) {
		fprintf(f, "C_Login user=%lu rv=0x%lx\n", (unsigned long)u,
		    (unsigned long)rv);
		fclose(f);
	}
}

static CK_RV
f_Login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
	CK_RV	rv;
	int	max = tries_max(), left = 0;

	ENTER();
	if (max > 0 && u != CKU_SO && (left = tries_left()) <= 0)
		LEAVE(CKR_PIN_LOCKED);
	rv = real->C_Login(s, u, pin, len);
	log_login(u, rv);
	if (max > 0 && u != CKU_SO) {
		if (rv == CKR_PIN_INCORRECT)
			tries_set(left - 1);
		else if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
			tries_set(max);
	}
	LEAVE(rv);
}

static CK_RV
f_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR l, CK_ULONG_PTR n)
{
	CK_MECHANISM_TYPE	*all;
	CK_ULONG		 cnt = 0, i, k = 0;
	CK_RV			 rv;

	ENTER();
	if ((rv = real->C_GetMechanismList(slot, NULL, &cnt)) != CKR_OK)
		LEAVE(rv);
	if ((all = calloc(cnt + 1, sizeof(*all))) == NULL)
		LEAVE(CKR_HOST_MEMORY);
	if ((rv = real->C_GetMechanismList(slot, all, &cnt)) != CKR_OK) {
		free(all);
		LEAVE(rv);
	}
	for (i = 0; i < cnt; i++)
		if (!mech_hidden(all[i]))
			all[k++] = all[i];
	if (l != NULL && *n < k)
		rv = CKR_BUFFER_TOO_SMALL;
	else if (l != NULL)
		memcpy(l, all, k * sizeof(*all));
	*n = k;
	free(all);
	LEAVE(rv);
}

static CK_RV
f_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE m,
    CK_MECHANISM_INFO_PTR mi)
{
	ENTER();
	if (mech_hidden(m))
		LEAVE(CKR_MECHANISM_INVALID);
	LEAVE(real->C_GetMechanismInfo(slot, m, mi));
}

static CK_RV
f_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	ENTER();
	if (m != NULL && mech_hidden(m->mechanism))
		LEAVE(CKR_MECHANISM_INVALID);
	if (atomic_load(&removed_n) > 0 &&
	    atomic_fetch_sub(&removed_n, 1) > 0) {
		atomic_fetch_add(&fired[P11FAULT_REMOVED], 1);
		LEAVE(CKR_DEVICE_REMOVED);
	}
	if (getenv("P11FAULT_REMOVED_FILE") != NULL &&
	    access(getenv("P11FAULT_REMOVED_FILE"), F_OK) == 0) {
		atomic_fetch_add(&fired[P11FAULT_REMOVED], 1);
		LEAVE(CKR_DEVICE_REMOVED);
	}
	LEAVE(real->C_SignInit(s, m, k));
}

static void
token_reset(void)
{
	CK_SLOT_ID	slots[16];
	CK_ULONG	n = 16, i;

	/* Write lock: no call is in flight while the token "resets". */
	pthread_rwlock_wrlock(&life);
	if (real->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK)
		for (i = 0; i < n; i++)
			(void)real->C_CloseAllSessions(slots[i]);
	atomic_fetch_add(&fired[P11FAULT_RESET], 1);
	pthread_rwlock_unlock(&life);
}

/* P11FAULT_SIGN_DELAY_US: a sleep, not CPU, as a network HSM's round trip. */
static void
sign_delay(void)
{
	const char	*v = getenv("P11FAULT_SIGN_DELAY_US");
	struct timespec	 ts;
	long		 us;

	if (v == NULL || (us = strtol(v, NULL, 10)) <= 0 || us > 10000000)
		return;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) != 0)
		;
}

static CK_RV
f_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig,
    CK_ULONG_PTR sl)
{
	CK_RV rv;

	if (atomic_load(&reset_in) > 0 &&
	    atomic_fetch_sub(&reset_in, 1) == 1)
		token_reset();
	ENTER();
	/* Not for the length query (sig NULL): one wait per signature. */
	if (sig != NULL)
		sign_delay();
	rv = real->C_Sign(s, d, dl, sig, sl);
	if (rv == CKR_OK && sig != NULL && *sl > 0) {
		if (getenv("P11FAULT_CORRUPT_SIG") != NULL)
			sig[*sl / 2] ^= 0x01;
		if (getenv("P11FAULT_SHORT_SIG") != NULL)
			(*sl)--;
	}
	LEAVE(rv);
}

static CK_RV
f_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	CK_RV		rv;
	CK_ULONG	i;

	ENTER();
	rv = real->C_GetAttributeValue(s, o, t, n);
	if (rv == CKR_OK && getenv("P11FAULT_BAD_POINT") != NULL)
		for (i = 0; i < n; i++)
			if (t[i].type == CKA_EC_POINT && t[i].pValue != NULL &&
			    t[i].ulValueLen > 8)
				((CK_BYTE *)t[i].pValue)[t[i].ulValueLen - 1]
				    ^= 0x01;
	LEAVE(rv);
}

/* Plain forwarding under the read lock. */
#define FWD(name, decl, args) \
static CK_RV f_##name decl { ENTER(); LEAVE(real->C_##name args); }

FWD(GetInfo, (CK_INFO_PTR i), (i))
FWD(GetSlotList, (CK_BBOOL p, CK_SLOT_ID_PTR l, CK_ULONG_PTR n), (p, l, n))
FWD(GetSlotInfo, (CK_SLOT_ID s, CK_SLOT_INFO_PTR i), (s, i))
FWD(OpenSession, (CK_SLOT_ID s, CK_FLAGS f, CK_VOID_PTR a, CK_NOTIFY n,
    CK_SESSION_HANDLE_PTR h), (s, f, a, n, h))
FWD(CloseSession, (CK_SESSION_HANDLE s), (s))
FWD(CloseAllSessions, (CK_SLOT_ID s), (s))
FWD(GetSessionInfo, (CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR i), (s, i))
FWD(Logout, (CK_SESSION_HANDLE s), (s))
FWD(FindObjectsInit, (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n),
    (s, t, n))
FWD(FindObjects, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR o, CK_ULONG m,
    CK_ULONG_PTR n), (s, o, m, n))
FWD(FindObjectsFinal, (CK_SESSION_HANDLE s), (s))

/* P11FAULT_NO_SIGN: the private key is made with CKA_SIGN false. */
static CK_RV
f_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pt, CK_ULONG pn, CK_ATTRIBUTE_PTR vt, CK_ULONG vn,
    CK_OBJECT_HANDLE_PTR ph, CK_OBJECT_HANDLE_PTR vh)
{
	CK_ATTRIBUTE	t[64];
	CK_BBOOL	no = CK_FALSE;
	CK_ULONG	i, n = 0;

	ENTER();
	if (getenv("P11FAULT_NO_SIGN") == NULL || vn >= 63)
		LEAVE(real->C_GenerateKeyPair(s, m, pt, pn, vt, vn, ph, vh));
	for (i = 0; i < vn; i++)
		if (vt[i].type != CKA_SIGN)
			t[n++] = vt[i];
	t[n].type = CKA_SIGN;
	t[n].pValue = &no;
	t[n++].ulValueLen = sizeof(no);
	LEAVE(real->C_GenerateKeyPair(s, m, pt, pn, t, n, ph, vh));
}
FWD(DestroyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o), (s, o))

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	CK_C_GetFunctionList	gfl;
	const char		*path = getenv("P11FAULT_MODULE");
	CK_RV			 rv;

	if (path == NULL)
		path = "/usr/lib/softhsm/libsofthsm2.so";
	if (real == NULL) {
		if ((real_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
			return CKR_GENERAL_ERROR;
		*(void **)&gfl = dlsym(real_dl, "C_GetFunctionList");
		if (gfl == NULL || (rv = gfl(&real)) != CKR_OK)
			return CKR_GENERAL_ERROR;
		fl = *real;
		fl.C_Initialize = f_Initialize;
		fl.C_Finalize = f_Finalize;
		fl.C_GetInfo = f_GetInfo;
		fl.C_GetSlotList = f_GetSlotList;
		fl.C_GetSlotInfo = f_GetSlotInfo;
		fl.C_GetTokenInfo = f_GetTokenInfo;
		fl.C_GetMechanismList = f_GetMechanismList;
		fl.C_GetMechanismInfo = f_GetMechanismInfo;
		fl.C_OpenSession = f_OpenSession;
		fl.C_CloseSession = f_CloseSession;
		fl.C_CloseAllSessions = f_CloseAllSessions;
		fl.C_GetSessionInfo = f_GetSessionInfo;
		fl.C_Login = f_Login;
		fl.C_Logout = f_Logout;
		fl.C_GetAttributeValue = f_GetAttributeValue;
		fl.C_FindObjectsInit = f_FindObjectsInit;
		fl.C_FindObjects = f_FindObjects;
		fl.C_FindObjectsFinal = f_FindObjectsFinal;
		fl.C_GenerateKeyPair = f_GenerateKeyPair;
		fl.C_DestroyObject = f_DestroyObject;
		fl.C_SignInit = f_SignInit;
		fl.C_Sign = f_Sign;
		fl.C_GetFunctionList = C_GetFunctionList;
	}
	*list = &fl;
	return CKR_OK;
}
