/*
 * Passkey enrolment (server/enrol.c, server/enrol_reg.c): the
 * registration check on the seeds of fuzz/corpus/enrol (each refusal by
 * its own code), invites (unknown, expired, spent once, then used), the
 * enrolled-keys file (a key added to an existing owner and a new one, a
 * duplicate refused with nothing written) and the merged trust store.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "common/cliutil.h"
#include "core/err.h"
#include "core/jwk.h"
#include "server/enrol.h"
#include "server-verify/trust.h"
#include "tests/unit/obtest.h"

static const char *const origins[] = { "https://localhost:8443" };

static void
expect_init(struct ob_enrol_expect *e)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < sizeof(e->challenge); i++)
		e->challenge[i] = (unsigned char)i;
	e->rp_id = "localhost";
	e->origins = origins;
	e->norigins = 1;
	e->uv_required = 1;
}

static char *
seed(const char *name, size_t *len)
{
	const char	*dir = getenv("OB_ENROL_CORPUS");
	char		 p[1024], *buf = NULL;

	if (dir == NULL)
		skip();
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(ob_read_all(p, 1 << 20, &buf, len), OB_OK);
	return buf;
}

static void
test_seeds(void **state)
{
	static const struct {
		const char	*name;
		int		 code;
	} cases[] = {
		{ "good", OB_OK },
		{ "good-be-bs", OB_OK },
		{ "extra-members", OB_OK },	/* browsers add members */
		{ "type-get", OB_ERR_ENROL_TYPE },
		{ "wrong-challenge", OB_ERR_ENROL_CHALLENGE },
		{ "wrong-origin", OB_ERR_ENROL_ORIGIN },
		{ "cross-origin", OB_ERR_ENROL_ORIGIN },
		{ "wrong-rpid", OB_ERR_ENROL_RPID },
		{ "no-up", OB_ERR_ENROL_FLAGS },
		{ "no-uv", OB_ERR_ENROL_FLAGS },
		{ "bs-without-be", OB_ERR_ENROL_FLAGS },
		{ "packed", OB_ERR_ENROL_ATTESTATION },
		{ "eddsa", OB_ERR_ENROL_KEY },
		{ "trailing", OB_ERR_ENROL_REQUEST },
		{ "not-json", OB_ERR_ENROL_REQUEST },
		/* fuzz_enrol's first finding: an array head declaring
		 * billions of elements made cbor_load allocate for them. */
		{ "oom-array-count", OB_ERR_ENROL_REQUEST },
	};
	struct ob_enrol_expect	 e;
	struct ob_enrol_cred	 c;
	char			*b, kid[44];
	size_t			 i, n;
	int			 r;

	(void)state;
	expect_init(&e);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = seed(cases[i].name, &n);
		memset(&c, 0, sizeof(c));
		r = ob_enrol_verify(&e, b, n, &c);
		if (r != cases[i].code)
			fail_msg("%s: %s: %s", cases[i].name, ob_err_name(r),
			    ob_err_detail());
		/* Refused by the bounding walk, before cbor_load. */
		if (strcmp(cases[i].name, "oom-array-count") == 0)
			assert_non_null(strstr(ob_err_detail(),
			    "larger than the input"));
		if (r == OB_OK) {
			assert_int_equal(ob_jwk_thumbprint(c.jwk, kid), OB_OK);
			assert_string_equal(kid, c.kid);
			assert_int_equal(c.uv, 1);
			assert_int_equal(c.backup_eligible,
			    strcmp(cases[i].name, "good-be-bs") == 0);
			assert_string_equal(c.aaguid,
			    "00000000000000000000000000000000");
		} else
			assert_null(c.jwk);
		ob_enrol_cred_clear(&c);
		free(b);
	}
	/* UV not required: a registration without UV passes. */
	e.uv_required = 0;
	b = seed("no-uv", &n);
	assert_int_equal(ob_enrol_verify(&e, b, n, &c), OB_OK);
	assert_int_equal(c.uv, 0);
	ob_enrol_cred_clear(&c);
	free(b);
}

/* The test's own temporary directory and the files in it. */
static void
rmdir_all(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[1024];

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		assert_int_equal(unlink(p), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

/* dir/invite-HEX.json for invite, with the given expiry. */
static void
write_invite(const char *dir, const char *invite, long long exp)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	h[32];
	char		p[1024], hx[65], body[1024];
	size_t		i;

	SHA256((const unsigned char *)invite, strlen(invite), h);
	for (i = 0; i < 32; i++) {
		hx[2 * i] = hex[h[i] >> 4];
		hx[2 * i + 1] = hex[h[i] & 15];
	}
	hx[64] = '\0';
	snprintf(p, sizeof(p), "%s/invite-%s.json", dir, hx);
	snprintf(body, sizeof(body), "{\"ownerbind_invite\": 1, "
	    "\"owner\": \"alice@example.com\", \"may_bind\": "
	    "[\"wimse://td.example/web/*\"], \"rp_id\": \"localhost\", "
	    "\"origins\": [\"https://localhost:8443\"], \"uv\": \"required\", "
	    "\"resident_key\": \"required\", \"challenge\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\", \"created_at\": 1, "
	    "\"expires_at\": %lld}", exp);
	assert_int_equal(ob_write_all(p, body, strlen(body), 0600), OB_OK);
}

#define INV_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define INV_X	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void
test_invites(void **state)
{
	struct ob_enrol_expect	 e, want;
	const char		**o = NULL;
	char			 dir[] = "/tmp/ob-enrol-XXXXXX";
	json_t			*inv = NULL, *opt = NULL, *pk;
	long long		 now = (long long)time(NULL);

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(ob_enrol_invite_load(dir, INV_A, now, &inv),
	    OB_ERR_ENROL_UNKNOWN);
	assert_int_equal(ob_enrol_invite_load(dir, "short", now, &inv),
	    OB_ERR_ENROL_UNKNOWN);
	assert_int_equal(ob_enrol_invite_load(dir, "../../../etc/passwd!!!!"
	    "!!!!!!!!!!!!!!!!!!!!", now, &inv), OB_ERR_ENROL_UNKNOWN);
	write_invite(dir, INV_A, now + 60);
	write_invite(dir, INV_X, now - 1);
	assert_int_equal(ob_enrol_invite_load(dir, INV_X, now, &inv),
	    OB_ERR_ENROL_EXPIRED);
	assert_int_equal(ob_enrol_invite_load(dir, INV_A, now, &inv), OB_OK);
	assert_int_equal(ob_enrol_expect_of(inv, &e, &o), OB_OK);
	expect_init(&want);
	assert_memory_equal(e.challenge, want.challenge, sizeof(e.challenge));
	assert_string_equal(e.rp_id, "localhost");
	assert_int_equal(e.norigins, 1);
	assert_string_equal(e.origins[0], origins[0]);
	assert_true(e.uv_required);
	free(o);
	assert_int_equal(ob_enrol_options(inv, &opt), OB_OK);
	pk = json_object_get(opt, "publicKey");
	assert_string_equal(json_string_value(json_object_get(pk,
	    "attestation")), "none");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    pk, "rp"), "id")), "localhost");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(pk, "pubKeyCredParams"), 0), "alg")), -7);
	assert_int_equal(strlen(json_string_value(json_object_get(
	    json_object_get(pk, "user"), "id"))), 43);
	json_decref(opt);
	json_decref(inv);
	/* Spent once: the second is refused, and so is every load. */
	assert_int_equal(ob_enrol_consume(dir, INV_A), OB_OK);
	assert_int_equal(ob_enrol_consume(dir, INV_A), OB_ERR_ENROL_USED);
	assert_int_equal(ob_enrol_invite_load(dir, INV_A, now, &inv),
	    OB_ERR_ENROL_USED);
	assert_int_equal(ob_enrol_consume(dir, INV_X), OB_OK);
	rmdir_all(dir);
}

static void
test_store(void **state)
{
	static const char gw[] = "{\"ownerbind_trust\": 1, \"owners\": [], "
	    "\"gateways\": []}";
	struct ob_enrol_expect	 e;
	struct ob_enrol_cred	 c;
	const struct ob_trust_owner *ow;
	struct ob_trust		*t = NULL;
	char			 dir[] = "/tmp/ob-enrol-XXXXXX", tp[1024];
	char			 ep[1024], *b, *tr, *before = NULL, *after;
	EVP_PKEY		*k = t_key("P-256");
	json_t			*inv;
	size_t			 n, n1, n2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(tp, sizeof(tp), "%s/trust.json", dir);
	snprintf(ep, sizeof(ep), "%s/" OB_ENROL_FILE, dir);
	tr = t_trust("alice@example.com", "wimse://td.example/agents/*", k,
	    "software", NULL, 0);
	assert_int_equal(ob_write_all(tp, tr, strlen(tr), 0644), OB_OK);
	/* No enrolled.json yet: the store alone. */
	assert_int_equal(ob_enrol_trust_load(tp, dir, &t), OB_OK);
	assert_int_equal(ob_trust_owner(t, "alice@example.com")->nkeys, 1);
	ob_trust_free(&t);
	expect_init(&e);
	b = seed("good", &n);
	assert_int_equal(ob_enrol_verify(&e, b, n, &c), OB_OK);
	free(b);
	assert_non_null(inv = json_pack("{s:s, s:[s], s:s, s:[s], s:s}",
	    "owner", "alice@example.com", "may_bind",
	    "wimse://td.example/web/*", "rp_id", "localhost", "origins",
	    origins[0], "uv", "required"));
	assert_int_equal(ob_enrol_store(tp, dir, inv, &c, 0), OB_OK);
	assert_int_equal(ob_enrol_trust_load(tp, dir, &t), OB_OK);
	assert_non_null(ow = ob_trust_owner(t, "alice@example.com"));
	assert_int_equal(ow->nkeys, 2);
	assert_int_equal(ow->keys[1].norigins, 1);
	assert_string_equal(ow->keys[1].rp_id, "localhost");
	assert_string_equal(ow->keys[1].credential_id, c.credential_id);
	assert_true(ow->keys[1].uv_required);
	assert_false(ow->keys[1].backup_eligible);
	ob_trust_free(&t);
	/* The same credential again: refused, nothing written. */
	assert_int_equal(ob_read_all(ep, 1 << 20, &before, &n1), OB_OK);
	assert_int_equal(ob_enrol_store(tp, dir, inv, &c, 0),
	    OB_ERR_ENROL_DUPLICATE);
	assert_int_equal(ob_read_all(ep, 1 << 20, &after, &n2), OB_OK);
	assert_true(n1 == n2 && memcmp(before, after, n1) == 0);
	free(after);
	ob_enrol_cred_clear(&c);
	/* A new owner: added whole. */
	b = seed("good-be-bs", &n);
	assert_int_equal(ob_enrol_verify(&e, b, n, &c), OB_OK);
	free(b);
	assert_int_equal(json_object_set_new(inv, "owner",
	    json_string("bob@example.com")), 0);
	assert_int_equal(ob_enrol_store(tp, dir, inv, &c, 0), OB_OK);
	assert_int_equal(ob_enrol_trust_load(tp, dir, &t), OB_OK);
	assert_non_null(ow = ob_trust_owner(t, "bob@example.com"));
	assert_int_equal(ow->nkeys, 1);
	assert_true(ow->keys[0].backup_eligible);
	ob_trust_free(&t);
	ob_enrol_cred_clear(&c);
	/* enrolled.json with more than owners: the merged store fails. */
	assert_int_equal(ob_write_all(ep, gw, strlen(gw), 0600), OB_OK);
	assert_int_equal(ob_enrol_trust_load(tp, dir, &t),
	    OB_ERR_TRUST_INVALID);
	assert_null(t);
	json_decref(inv);
	free(before);
	free(tr);
	EVP_PKEY_free(k);
	rmdir_all(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_invites),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
