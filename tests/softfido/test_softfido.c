/*
 * softfido driven end to end through the unmodified libfido2 public API:
 * getInfo, makeCredential (ES256, EdDSA; batch, self and none attestation),
 * getAssertion (allow list, discoverable, up=false), counters, clientPIN
 * (set, change, wrong PIN, auth-blocked, blocked; protocols 2 and 1),
 * touch simulation (yes, no, wait + touch, wait + cancel, wait + timeout),
 * reset, and state persistence across two instances.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>

#include "tests/softfido/softfido.h"

#define RP_ID		"example.org"
#define PIN		"1234"
#define PIN2		"5678"
#define BAD_PIN		"0000"

struct fx {
	struct softfido	*sf;
	fido_dev_t	*dev;
	char		 path[64];
};

static unsigned int next_id;

static void
fill(unsigned char *p, size_t n)
{
	static unsigned char seed;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(++seed * 31 + i);
}

static void
open_dev(struct fx *f)
{
	assert_non_null(f->dev = fido_dev_new());
	assert_int_equal(fido_dev_set_io_functions(f->dev, softfido_io()),
	    FIDO_OK);
	assert_int_equal(fido_dev_open(f->dev, f->path), FIDO_OK);
}

static void
close_dev(struct fx *f)
{
	if (f->dev == NULL)
		return;
	(void)fido_dev_close(f->dev);
	fido_dev_free(&f->dev);
}

/* Close and open again, e.g. after changing the profile. */
static void
reopen_dev(struct fx *f)
{
	close_dev(f);
	open_dev(f);
}

static struct fx *
fx_new(void)
{
	struct fx *f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	assert_non_null(f->sf = softfido_new());
	(void)snprintf(f->path, sizeof(f->path), "softfido:t%u", ++next_id);
	assert_int_equal(softfido_register(f->path, f->sf), SOFTFIDO_OK);
	open_dev(f);
	return f;
}

static void
fx_free(struct fx *f)
{
	close_dev(f);
	assert_int_equal(softfido_unregister(f->path), SOFTFIDO_OK);
	softfido_free(&f->sf);
	assert_null(f->sf);
	free(f);
}

static int
setup(void **state)
{
	*state = fx_new();
	return 0;
}

static int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static int
make_cred(fido_dev_t *dev, int type, bool rk, const char *pin,
    unsigned char user_byte, fido_cred_t **out)
{
	unsigned char	 cdh[32], uid[16];
	fido_cred_t	*c;

	fill(cdh, sizeof(cdh));
	memset(uid, user_byte, sizeof(uid));
	assert_non_null(c = fido_cred_new());
	assert_int_equal(fido_cred_set_type(c, type), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(c, cdh, sizeof(cdh)),
	    FIDO_OK);
	assert_int_equal(fido_cred_set_rp(c, RP_ID, "Example"), FIDO_OK);
	assert_int_equal(fido_cred_set_user(c, uid, sizeof(uid), "alice",
	    "Alice Example", NULL), FIDO_OK);
	if (rk)
		assert_int_equal(fido_cred_set_rk(c, FIDO_OPT_TRUE), FIDO_OK);
	*out = c;
	return fido_dev_make_cred(dev, c, pin);
}

static fido_assert_t *
new_assert(const fido_cred_t *allow, fido_opt_t up)
{
	unsigned char	 cdh[32];
	fido_assert_t	*a;

	fill(cdh, sizeof(cdh));
	assert_non_null(a = fido_assert_new());
	assert_int_equal(fido_assert_set_rp(a, RP_ID), FIDO_OK);
	assert_int_equal(fido_assert_set_clientdata_hash(a, cdh, sizeof(cdh)),
	    FIDO_OK);
	if (allow != NULL)
		assert_int_equal(fido_assert_allow_cred(a,
		    fido_cred_id_ptr(allow), fido_cred_id_len(allow)), FIDO_OK);
	if (up != FIDO_OPT_OMIT)
		assert_int_equal(fido_assert_set_up(a, up), FIDO_OK);
	return a;
}

static int
get_assert(fido_dev_t *dev, const fido_cred_t *allow, const char *pin,
    fido_opt_t up, fido_assert_t **out)
{
	*out = new_assert(allow, up);
	return fido_dev_get_assert(dev, *out, pin);
}

/* fido_assert_verify with the public key the credential came with. */
static int
verify_assert(const fido_assert_t *a, size_t idx, const fido_cred_t *c)
{
	const unsigned char	*pk = fido_cred_pubkey_ptr(c);
	size_t			 len = fido_cred_pubkey_len(c);
	es256_pk_t		*es = NULL;
	eddsa_pk_t		*ed = NULL;
	int			 r;

	switch (fido_cred_type(c)) {
	case COSE_ES256:
		assert_non_null(es = es256_pk_new());
		assert_int_equal(es256_pk_from_ptr(es, pk, len), FIDO_OK);
		r = fido_assert_verify(a, idx, COSE_ES256, es);
		es256_pk_free(&es);
		return r;
	case COSE_EDDSA:
		assert_non_null(ed = eddsa_pk_new());
		assert_int_equal(eddsa_pk_from_ptr(ed, pk, len), FIDO_OK);
		r = fido_assert_verify(a, idx, COSE_EDDSA, ed);
		eddsa_pk_free(&ed);
		return r;
	default:
		fail_msg("unexpected credential type %d", fido_cred_type(c));
		return -1;
	}
}

static void
test_error_table(void **state)
{
	static const int codes[] = {
#define CODE(name, value, text) (value),
		SOFTFIDO_ERRORS(CODE)
#undef CODE
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_non_null(softfido_errname(codes[i]));
		assert_true(strlen(softfido_strerror(codes[i])) > 0);
		assert_string_not_equal(softfido_strerror(codes[i]),
		    "unknown softfido status");
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(codes[i], codes[j]);
	}
	assert_null(softfido_errname(12345));
	assert_string_equal(softfido_strerror(12345),
	    "unknown softfido status");
}

static void
test_registry(void **state)
{
	struct softfido	*sf;
	fido_dev_t	*dev;

	(void)state;
	assert_non_null(sf = softfido_new());
	assert_int_equal(softfido_register("usb:0", sf),
	    SOFTFIDO_ERR_INVALID_ARGUMENT);
	assert_int_equal(softfido_register("softfido:reg", sf), SOFTFIDO_OK);
	assert_int_equal(softfido_register("softfido:reg", sf),
	    SOFTFIDO_ERR_EXISTS);
	/* the registry holds its own reference */
	softfido_free(&sf);
	assert_non_null(dev = fido_dev_new());
	assert_int_equal(fido_dev_set_io_functions(dev, softfido_io()),
	    FIDO_OK);
	assert_int_not_equal(fido_dev_open(dev, "softfido:nobody"), FIDO_OK);
	assert_int_equal(fido_dev_open(dev, "softfido:reg"), FIDO_OK);
	/* an open handle keeps the device alive after unregistering */
	assert_int_equal(softfido_unregister("softfido:reg"), SOFTFIDO_OK);
	assert_int_equal(softfido_unregister("softfido:reg"),
	    SOFTFIDO_ERR_NOT_FOUND);
	assert_true(fido_dev_is_fido2(dev));
	assert_int_equal(fido_dev_close(dev), FIDO_OK);
	fido_dev_free(&dev);
}

static bool
has_string(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int
option(const fido_cbor_info_t *ci, const char *name)
{
	char		**names = fido_cbor_info_options_name_ptr(ci);
	const bool	 *vals = fido_cbor_info_options_value_ptr(ci);

	for (size_t i = 0; i < fido_cbor_info_options_len(ci); i++)
		if (strcmp(names[i], name) == 0)
			return vals[i] ? 1 : 0;
	return -1;
}

static void
test_get_info(void **state)
{
	struct fx		*f = *state;
	fido_cbor_info_t	*ci;
	const uint8_t		*proto;

	assert_true(fido_dev_is_fido2(f->dev));
	assert_true(fido_dev_supports_pin(f->dev));
	assert_false(fido_dev_has_pin(f->dev));
	assert_true(fido_dev_supports_permissions(f->dev));
	assert_non_null(ci = fido_cbor_info_new());
	assert_int_equal(fido_dev_get_cbor_info(f->dev, ci), FIDO_OK);
	assert_true(has_string(fido_cbor_info_versions_ptr(ci),
	    fido_cbor_info_versions_len(ci), "FIDO_2_0"));
	assert_true(has_string(fido_cbor_info_versions_ptr(ci),
	    fido_cbor_info_versions_len(ci), "FIDO_2_1"));
	assert_int_equal(fido_cbor_info_aaguid_len(ci), 16);
	assert_int_equal(option(ci, "rk"), 1);
	assert_int_equal(option(ci, "up"), 1);
	assert_int_equal(option(ci, "clientPin"), 0);
	assert_int_equal(option(ci, "pinUvAuthToken"), 1);
	assert_int_equal(option(ci, "uv"), -1);
	assert_int_equal(fido_cbor_info_protocols_len(ci), 2);
	proto = fido_cbor_info_protocols_ptr(ci);
	assert_int_equal(proto[0], 2);
	assert_int_equal(proto[1], 1);
	assert_int_equal(fido_cbor_info_maxmsgsiz(ci), 1200);
	assert_int_equal(fido_cbor_info_algorithm_count(ci), 2);
	assert_int_equal(fido_cbor_info_algorithm_cose(ci, 0), COSE_ES256);
	assert_int_equal(fido_cbor_info_algorithm_cose(ci, 1), COSE_EDDSA);
	fido_cbor_info_free(&ci);
}

static void
check_new_cred(struct fx *f, int type)
{
	fido_cred_t	*c;
	fido_cbor_info_t *ci;
	unsigned char	*der = NULL;
	size_t		 der_len = 0;
	unsigned char	 other[32];

	assert_int_equal(make_cred(f->dev, type, false, NULL, 1, &c), FIDO_OK);
	assert_string_equal(fido_cred_fmt(c), "packed");
	assert_int_equal(fido_cred_type(c), type);
	assert_int_equal(fido_cred_verify(c), FIDO_OK);
	/* UP and AT, nothing else */
	assert_int_equal(fido_cred_flags(c), 0x41);
	assert_int_equal(fido_cred_sigcount(c), softfido_counter(f->sf));
	assert_int_equal(fido_cred_pubkey_len(c), type == COSE_ES256 ? 64 :
	    32);
	/* x5c is the device's batch certificate */
	assert_int_equal(softfido_attestation_cert(f->sf, &der, &der_len),
	    SOFTFIDO_OK);
	assert_int_equal(fido_cred_x5c_len(c), der_len);
	assert_memory_equal(fido_cred_x5c_ptr(c), der, der_len);
	free(der);
	/* AAGUID in authData matches getInfo */
	assert_non_null(ci = fido_cbor_info_new());
	assert_int_equal(fido_dev_get_cbor_info(f->dev, ci), FIDO_OK);
	assert_int_equal(fido_cred_aaguid_len(c), 16);
	assert_memory_equal(fido_cred_aaguid_ptr(c),
	    fido_cbor_info_aaguid_ptr(ci), 16);
	fido_cbor_info_free(&ci);

	/* the attestation signature covers the client data hash ... */
	fill(other, sizeof(other));
	assert_int_equal(fido_cred_set_clientdata_hash(c, other,
	    sizeof(other)), FIDO_OK);
	assert_int_equal(fido_cred_verify(c), FIDO_ERR_INVALID_SIG);
	/* ... and the RP */
	assert_int_equal(fido_cred_set_rp(c, "evil.example", NULL), FIDO_OK);
	assert_int_equal(fido_cred_verify(c), FIDO_ERR_INVALID_PARAM);
	fido_cred_free(&c);
}

static void
test_make_cred_es256(void **state)
{
	check_new_cred(*state, COSE_ES256);
}

static void
test_make_cred_eddsa(void **state)
{
	check_new_cred(*state, COSE_EDDSA);
}

static void
test_unsupported_alg(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;

	assert_int_equal(make_cred(f->dev, COSE_RS256, false, NULL, 1, &c),
	    FIDO_ERR_UNSUPPORTED_ALGORITHM);
	fido_cred_free(&c);
}

static void
test_self_and_none_attestation(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	const int	 types[] = { COSE_ES256, COSE_EDDSA };

	softfido_set_attestation(f->sf, SOFTFIDO_ATT_SELF);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(make_cred(f->dev, types[i], false, NULL, 1,
		    &c), FIDO_OK);
		assert_string_equal(fido_cred_fmt(c), "packed");
		assert_null(fido_cred_x5c_ptr(c));
		assert_int_equal(fido_cred_verify_self(c), FIDO_OK);
		assert_int_equal(fido_cred_verify(c),
		    FIDO_ERR_INVALID_ARGUMENT);
		fido_cred_free(&c);
	}
	softfido_set_attestation(f->sf, SOFTFIDO_ATT_NONE);
	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 1, &c),
	    FIDO_OK);
	assert_string_equal(fido_cred_fmt(c), "none");
	assert_int_not_equal(fido_cred_verify(c), FIDO_OK);
	fido_cred_free(&c);
}

static void
check_assert(struct fx *f, int type)
{
	fido_cred_t	*c, *other;
	fido_assert_t	*a, *b;
	unsigned char	 cdh[32];

	assert_int_equal(make_cred(f->dev, type, false, NULL, 1, &c), FIDO_OK);
	assert_int_equal(make_cred(f->dev, type, false, NULL, 2, &other),
	    FIDO_OK);
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_count(a), 1);
	assert_int_equal(fido_assert_id_len(a, 0), fido_cred_id_len(c));
	assert_memory_equal(fido_assert_id_ptr(a, 0), fido_cred_id_ptr(c),
	    fido_cred_id_len(c));
	/* UP only: no UV, never AT in an assertion */
	assert_int_equal(fido_assert_flags(a, 0), 0x01);
	assert_true(fido_assert_sigcount(a, 0) > fido_cred_sigcount(c));
	if (type == COSE_EDDSA)
		assert_int_equal(fido_assert_sig_len(a, 0), 64);
	else
		assert_int_equal(fido_assert_sig_ptr(a, 0)[0], 0x30); /* DER */
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	/* another credential's key does not verify it */
	assert_int_equal(verify_assert(a, 0, other), FIDO_ERR_INVALID_SIG);

	/* the counter moves strictly forward */
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &b),
	    FIDO_OK);
	assert_true(fido_assert_sigcount(b, 0) > fido_assert_sigcount(a, 0));
	assert_int_equal(fido_assert_sigcount(b, 0), softfido_counter(f->sf));
	assert_int_equal(verify_assert(b, 0, c), FIDO_OK);
	/* the signature covers the client data hash */
	fill(cdh, sizeof(cdh));
	assert_int_equal(fido_assert_set_clientdata_hash(b, cdh, sizeof(cdh)),
	    FIDO_OK);
	assert_int_equal(verify_assert(b, 0, c), FIDO_ERR_INVALID_SIG);
	fido_assert_free(&a);
	fido_assert_free(&b);

	/* a credential id is bound to its RP */
	a = new_assert(c, FIDO_OPT_OMIT);
	assert_int_equal(fido_assert_set_rp(a, "other.example"), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(f->dev, a, NULL),
	    FIDO_ERR_NO_CREDENTIALS);
	fido_assert_free(&a);
	fido_cred_free(&c);
	fido_cred_free(&other);
}

static void
test_assert_es256(void **state)
{
	check_assert(*state, COSE_ES256);
}

static void
test_assert_eddsa(void **state)
{
	check_assert(*state, COSE_EDDSA);
}

static void
test_assert_long_allow_list(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;
	unsigned char	 junk[62];

	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 1, &c),
	    FIDO_OK);
	/* seven foreign ids first: a request of several HID packets */
	a = new_assert(NULL, FIDO_OPT_OMIT);
	for (int i = 0; i < 7; i++) {
		fill(junk, sizeof(junk));
		junk[0] = 0x01;
		assert_int_equal(fido_assert_allow_cred(a, junk, sizeof(junk)),
		    FIDO_OK);
	}
	assert_int_equal(fido_assert_allow_cred(a, fido_cred_id_ptr(c),
	    fido_cred_id_len(c)), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(f->dev, a, NULL), FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	fido_assert_free(&a);

	/* nothing of ours in the list */
	a = new_assert(NULL, FIDO_OPT_OMIT);
	assert_int_equal(fido_assert_allow_cred(a, junk, sizeof(junk)),
	    FIDO_OK);
	assert_int_equal(fido_dev_get_assert(f->dev, a, NULL),
	    FIDO_ERR_NO_CREDENTIALS);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
test_up_false(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;

	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 1, &c),
	    FIDO_OK);
	/* no touch needed, and none claimed */
	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_NO);
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_FALSE, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_flags(a, 0), 0x00);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	/* a verifier that insists on UP rejects it */
	assert_int_equal(fido_assert_set_up(a, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_ERR_INVALID_PARAM);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
test_no_touch(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c, *c2;
	fido_assert_t	*a;
	uint32_t	 counter;

	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 1, &c),
	    FIDO_OK);
	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_NO);
	counter = softfido_counter(f->sf);
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_USER_ACTION_TIMEOUT);
	assert_int_equal(fido_assert_count(a), 0);
	assert_null(fido_assert_sig_ptr(a, 0));
	assert_int_equal(softfido_counter(f->sf), counter);
	fido_assert_free(&a);
	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 2, &c2),
	    FIDO_ERR_USER_ACTION_TIMEOUT);
	assert_null(fido_cred_id_ptr(c2));
	assert_int_equal(softfido_counter(f->sf), counter);
	fido_cred_free(&c2);

	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_YES);
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

struct toucher {
	struct fx	*f;
	bool		 cancel;
	atomic_int	 done;
};

static void *
toucher_main(void *arg)
{
	struct toucher		*t = arg;
	struct timespec		 ts = { 0, 50 * 1000 * 1000 };

	(void)nanosleep(&ts, NULL);
	if (!t->cancel) {
		softfido_touch(t->f->sf);
		return NULL;
	}
	/* CANCEL before the request is parked is ignored: repeat */
	while (atomic_load(&t->done) == 0) {
		(void)fido_dev_cancel(t->f->dev);
		(void)nanosleep(&ts, NULL);
	}
	return NULL;
}

static int
assert_with_helper(struct fx *f, const fido_cred_t *c, bool cancel,
    fido_assert_t **a)
{
	struct toucher	t;
	pthread_t	thr;
	int		r;

	t.f = f;
	t.cancel = cancel;
	atomic_init(&t.done, 0);

	assert_int_equal(pthread_create(&thr, NULL, toucher_main, &t), 0);
	r = get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, a);
	atomic_store(&t.done, 1);
	assert_int_equal(pthread_join(thr, NULL), 0);
	return r;
}

static void
test_touch_wait(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;

	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 1, &c),
	    FIDO_OK);
	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_WAIT);
	/* the user touches from another thread */
	assert_int_equal(assert_with_helper(f, c, false, &a), FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	fido_assert_free(&a);
	/* the client cancels */
	assert_int_equal(assert_with_helper(f, c, true, &a),
	    FIDO_ERR_KEEPALIVE_CANCEL);
	assert_int_equal(fido_assert_count(a), 0);
	fido_assert_free(&a);
	/* nobody does anything */
	softfido_set_touch_timeout(f->sf, 300);
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_USER_ACTION_TIMEOUT);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
test_pin_set_change_uv(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;
	int		 retries = -1;

	assert_int_equal(fido_dev_get_retry_count(f->dev, &retries), FIDO_OK);
	assert_int_equal(retries, 8);
	/* 4 bytes but 3 code points: the authenticator's policy says no */
	assert_int_equal(fido_dev_set_pin(f->dev, "\xc3\xa9" "ab", NULL),
	    FIDO_ERR_PIN_POLICY_VIOLATION);
	assert_false(fido_dev_has_pin(f->dev));
	assert_int_equal(fido_dev_set_pin(f->dev, PIN, NULL), FIDO_OK);
	assert_true(fido_dev_has_pin(f->dev));
	/* setPIN again is refused: it takes changePIN */
	assert_int_equal(fido_dev_set_pin(f->dev, PIN2, NULL),
	    FIDO_ERR_PIN_AUTH_INVALID);

	/* with a PIN set, makeCredential needs it */
	assert_int_equal(make_cred(f->dev, COSE_ES256, false, NULL, 1, &c),
	    FIDO_ERR_PIN_REQUIRED);
	fido_cred_free(&c);
	assert_int_equal(make_cred(f->dev, COSE_ES256, false, PIN, 1, &c),
	    FIDO_OK);
	assert_int_equal(fido_cred_flags(c), 0x45);	/* UP UV AT */
	assert_int_equal(fido_cred_set_uv(c, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_cred_verify(c), FIDO_OK);

	/* getAssertion with the PIN: UV */
	assert_int_equal(get_assert(f->dev, c, PIN, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_flags(a, 0), 0x05);
	assert_int_equal(fido_assert_set_uv(a, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	fido_assert_free(&a);
	/* without: allowed, but no UV, and a verifier asking for UV says no */
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_flags(a, 0), 0x01);
	assert_int_equal(fido_assert_set_uv(a, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_ERR_INVALID_PARAM);
	fido_assert_free(&a);

	/* a wrong PIN costs a retry, a right one restores them */
	assert_int_equal(get_assert(f->dev, c, BAD_PIN, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_PIN_INVALID);
	assert_int_equal(fido_assert_count(a), 0);
	fido_assert_free(&a);
	assert_int_equal(fido_dev_get_retry_count(f->dev, &retries), FIDO_OK);
	assert_int_equal(retries, 7);
	assert_int_equal(softfido_pin_retries(f->sf), 7);

	/* changePIN: wrong old PIN, then right */
	assert_int_equal(fido_dev_set_pin(f->dev, PIN2, BAD_PIN),
	    FIDO_ERR_PIN_INVALID);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN2, PIN), FIDO_OK);
	assert_int_equal(fido_dev_get_retry_count(f->dev, &retries), FIDO_OK);
	assert_int_equal(retries, 8);
	assert_int_equal(get_assert(f->dev, c, PIN, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_PIN_INVALID);
	fido_assert_free(&a);
	assert_int_equal(get_assert(f->dev, c, PIN2, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_flags(a, 0), 0x05);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
wrong_pin(struct fx *f, int want, int retries_after)
{
	fido_assert_t	*a;
	int		 retries = -1;

	assert_int_equal(get_assert(f->dev, NULL, BAD_PIN, FIDO_OPT_OMIT, &a),
	    want);
	fido_assert_free(&a);
	assert_int_equal(fido_dev_get_retry_count(f->dev, &retries), FIDO_OK);
	assert_int_equal(retries, retries_after);
}

static void
test_pin_blocked(void **state)
{
	struct fx	*f = *state;
	fido_assert_t	*a;

	assert_int_equal(softfido_set_pin(f->sf, "12"),
	    SOFTFIDO_ERR_PIN_POLICY);
	assert_int_equal(softfido_set_pin(f->sf, PIN), SOFTFIDO_OK);
	reopen_dev(f);
	assert_true(fido_dev_has_pin(f->dev));

	wrong_pin(f, FIDO_ERR_PIN_INVALID, 7);
	wrong_pin(f, FIDO_ERR_PIN_INVALID, 6);
	wrong_pin(f, FIDO_ERR_PIN_AUTH_BLOCKED, 5);
	/* until a power cycle even the right PIN is refused, at no cost */
	assert_int_equal(get_assert(f->dev, NULL, PIN, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_PIN_AUTH_BLOCKED);
	fido_assert_free(&a);
	assert_int_equal(softfido_pin_retries(f->sf), 5);

	softfido_power_cycle(f->sf);
	wrong_pin(f, FIDO_ERR_PIN_INVALID, 4);
	wrong_pin(f, FIDO_ERR_PIN_INVALID, 3);
	wrong_pin(f, FIDO_ERR_PIN_AUTH_BLOCKED, 2);
	softfido_power_cycle(f->sf);
	wrong_pin(f, FIDO_ERR_PIN_INVALID, 1);
	wrong_pin(f, FIDO_ERR_PIN_BLOCKED, 0);
	/* blocked for good: the right PIN, a power cycle, changePIN */
	softfido_power_cycle(f->sf);
	assert_int_equal(get_assert(f->dev, NULL, PIN, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_PIN_BLOCKED);
	fido_assert_free(&a);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN2, PIN),
	    FIDO_ERR_PIN_BLOCKED);
	assert_int_equal(softfido_pin_retries(f->sf), 0);
}

static void
test_ctap20_pin_protocol1(void **state)
{
	struct fx		*f = *state;
	fido_cbor_info_t	*ci;
	fido_cred_t		*c;
	fido_assert_t		*a;

	softfido_set_profile(f->sf, SOFTFIDO_PROFILE_CTAP20);
	reopen_dev(f);
	assert_false(fido_dev_supports_permissions(f->dev));
	assert_non_null(ci = fido_cbor_info_new());
	assert_int_equal(fido_dev_get_cbor_info(f->dev, ci), FIDO_OK);
	assert_int_equal(fido_cbor_info_versions_len(ci), 1);
	assert_string_equal(fido_cbor_info_versions_ptr(ci)[0], "FIDO_2_0");
	assert_int_equal(fido_cbor_info_protocols_len(ci), 1);
	assert_int_equal(fido_cbor_info_protocols_ptr(ci)[0], 1);
	fido_cbor_info_free(&ci);

	/* setPIN, getPinToken and pinAuth all on protocol 1 */
	assert_int_equal(fido_dev_set_pin(f->dev, PIN, NULL), FIDO_OK);
	assert_int_equal(make_cred(f->dev, COSE_EDDSA, false, PIN, 1, &c),
	    FIDO_OK);
	assert_int_equal(fido_cred_flags(c), 0x45);
	assert_int_equal(fido_cred_verify(c), FIDO_OK);
	assert_int_equal(get_assert(f->dev, c, PIN, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_flags(a, 0), 0x05);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	fido_assert_free(&a);
	assert_int_equal(get_assert(f->dev, c, BAD_PIN, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_PIN_INVALID);
	fido_assert_free(&a);
	assert_int_equal(softfido_pin_retries(f->sf), 7);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN2, PIN), FIDO_OK);
	assert_int_equal(get_assert(f->dev, c, PIN2, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
test_resident(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c1, *c2;
	fido_assert_t	*a;

	assert_int_equal(make_cred(f->dev, COSE_ES256, true, NULL, 1, &c1),
	    FIDO_OK);
	assert_int_equal(make_cred(f->dev, COSE_EDDSA, true, NULL, 2, &c2),
	    FIDO_OK);
	assert_int_equal(softfido_resident_count(f->sf), 2);
	/* no allow list: both, newest first, through getNextAssertion */
	assert_int_equal(get_assert(f->dev, NULL, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_count(a), 2);
	assert_memory_equal(fido_assert_id_ptr(a, 0), fido_cred_id_ptr(c2),
	    fido_cred_id_len(c2));
	assert_memory_equal(fido_assert_id_ptr(a, 1), fido_cred_id_ptr(c1),
	    fido_cred_id_len(c1));
	assert_int_equal(fido_assert_user_id_len(a, 0), 16);
	assert_int_equal(fido_assert_user_id_ptr(a, 0)[0], 2);
	assert_int_equal(verify_assert(a, 0, c2), FIDO_OK);
	assert_int_equal(verify_assert(a, 1, c1), FIDO_OK);
	assert_true(fido_assert_sigcount(a, 1) > fido_assert_sigcount(a, 0));
	fido_assert_free(&a);

	/* same RP and user id again: replaced, not added */
	fido_cred_free(&c1);
	assert_int_equal(make_cred(f->dev, COSE_ES256, true, NULL, 1, &c1),
	    FIDO_OK);
	assert_int_equal(softfido_resident_count(f->sf), 2);
	fido_cred_free(&c1);
	fido_cred_free(&c2);
}

static void
test_reset(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;

	assert_int_equal(softfido_set_pin(f->sf, PIN), SOFTFIDO_OK);
	reopen_dev(f);
	assert_int_equal(make_cred(f->dev, COSE_ES256, true, PIN, 1, &c),
	    FIDO_OK);
	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_NO);
	assert_int_equal(fido_dev_reset(f->dev), FIDO_ERR_USER_ACTION_TIMEOUT);
	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_YES);
	assert_int_equal(fido_dev_reset(f->dev), FIDO_OK);
	reopen_dev(f);
	assert_false(fido_dev_has_pin(f->dev));
	assert_int_equal(softfido_resident_count(f->sf), 0);
	/* old credential ids no longer open */
	assert_int_equal(get_assert(f->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_NO_CREDENTIALS);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static char *
temp_dir(void)
{
	const char	*base = getenv("TMPDIR");
	char		*dir;
	size_t		 n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = strlen(base) + sizeof("/softfido.XXXXXX");
	assert_non_null(dir = malloc(n));
	(void)snprintf(dir, n, "%s/softfido.XXXXXX", base);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static char *
join(const char *dir, const char *name)
{
	size_t	 n = strlen(dir) + strlen(name) + 2;
	char	*p;

	assert_non_null(p = malloc(n));
	(void)snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void
copy_corrupted(const char *from, const char *to, long flip, long truncate)
{
	FILE		*in, *out;
	unsigned char	 buf[65536];
	size_t		 n;

	assert_non_null(in = fopen(from, "rb"));
	n = fread(buf, 1, sizeof(buf), in);
	assert_true(n > 0 && n < sizeof(buf));
	(void)fclose(in);
	if (flip >= 0 && (size_t)flip < n)
		buf[flip] ^= 0x01;
	if (truncate >= 0 && (size_t)truncate < n)
		n = (size_t)truncate;
	assert_non_null(out = fopen(to, "wb"));
	assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(fclose(out), 0);
}

static void
test_state_persistence(void **state)
{
	struct fx	*f1 = *state, *f2;
	fido_cred_t	*c, *rk;
	fido_assert_t	*a;
	char		*dir = temp_dir();
	char		*file = join(dir, "state.cbor");
	char		*bad = join(dir, "bad.cbor");
	char		*auto_file = join(dir, "auto.cbor");
	struct stat	 st;
	uint32_t	 counter;

	assert_int_equal(softfido_set_pin(f1->sf, PIN), SOFTFIDO_OK);
	reopen_dev(f1);
	assert_int_equal(make_cred(f1->dev, COSE_ES256, false, PIN, 1, &c),
	    FIDO_OK);
	assert_int_equal(make_cred(f1->dev, COSE_EDDSA, true, PIN, 2, &rk),
	    FIDO_OK);
	assert_int_equal(get_assert(f1->dev, c, BAD_PIN, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_PIN_INVALID);
	fido_assert_free(&a);
	counter = softfido_counter(f1->sf);
	assert_int_equal(softfido_save(f1->sf, file), SOFTFIDO_OK);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a second authenticator, as in another process */
	f2 = fx_new();
	assert_int_equal(get_assert(f2->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_ERR_NO_CREDENTIALS);
	fido_assert_free(&a);
	assert_int_equal(softfido_load(f2->sf, "/nonexistent/state"),
	    SOFTFIDO_ERR_IO);
	copy_corrupted(file, bad, -1, 40);
	assert_int_equal(softfido_load(f2->sf, bad),
	    SOFTFIDO_ERR_STATE_FORMAT);
	copy_corrupted(file, bad, 0, -1);
	assert_int_equal(softfido_load(f2->sf, bad),
	    SOFTFIDO_ERR_STATE_FORMAT);
	assert_int_equal(softfido_counter(f2->sf), 0);	/* unchanged */

	assert_int_equal(softfido_load(f2->sf, file), SOFTFIDO_OK);
	reopen_dev(f2);
	assert_true(fido_dev_has_pin(f2->dev));
	assert_int_equal(softfido_pin_retries(f2->sf), 7);
	assert_int_equal(softfido_resident_count(f2->sf), 1);
	assert_int_equal(get_assert(f2->dev, c, PIN, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	assert_int_equal(fido_assert_sigcount(a, 0), counter + 1);
	assert_int_equal(fido_assert_flags(a, 0), 0x05);
	fido_assert_free(&a);
	assert_int_equal(softfido_pin_retries(f2->sf), 8);
	/* the discoverable one too */
	assert_int_equal(get_assert(f2->dev, NULL, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(fido_assert_count(a), 1);
	assert_int_equal(verify_assert(a, 0, rk), FIDO_OK);
	fido_assert_free(&a);

	/* autosave: every change lands in the file */
	assert_int_equal(softfido_set_autosave(f2->sf, auto_file),
	    SOFTFIDO_OK);
	assert_int_equal(get_assert(f2->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	counter = fido_assert_sigcount(a, 0);
	fido_assert_free(&a);
	assert_int_equal(softfido_set_autosave(f2->sf, NULL), SOFTFIDO_OK);
	fx_free(f2);
	f2 = fx_new();
	assert_int_equal(softfido_load(f2->sf, auto_file), SOFTFIDO_OK);
	assert_int_equal(softfido_counter(f2->sf), counter);
	assert_int_equal(get_assert(f2->dev, c, NULL, FIDO_OPT_OMIT, &a),
	    FIDO_OK);
	assert_int_equal(verify_assert(a, 0, c), FIDO_OK);
	assert_int_equal(fido_assert_sigcount(a, 0), counter + 1);
	fido_assert_free(&a);
	fx_free(f2);

	fido_cred_free(&c);
	fido_cred_free(&rk);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(unlink(bad), 0);
	assert_int_equal(unlink(auto_file), 0);
	assert_int_equal(rmdir(dir), 0);
	free(file);
	free(bad);
	free(auto_file);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_registry),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_get_info),
		T(test_make_cred_es256),
		T(test_make_cred_eddsa),
		T(test_unsupported_alg),
		T(test_self_and_none_attestation),
		T(test_assert_es256),
		T(test_assert_eddsa),
		T(test_assert_long_allow_list),
		T(test_up_false),
		T(test_no_touch),
		T(test_touch_wait),
		T(test_pin_set_change_uv),
		T(test_pin_blocked),
		T(test_ctap20_pin_protocol1),
		T(test_resident),
		T(test_reset),
		T(test_state_persistence),
#undef T
	};

	fido_init(getenv("SOFTFIDO_DEBUG") != NULL ? FIDO_DEBUG : 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
