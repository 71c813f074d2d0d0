/*
 * The verifier's negative corpus (tests/vectors/negative, made by
 * tests/vectors/gen_negative.c): every file is rejected with exactly the
 * code index.tsv names, every good*.json is accepted, and every single-bit
 * flip and every truncation of the good envelopes is rejected; every
 * trust-*.json fails to load with the code trust-index.tsv names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server-verify/verify_int.h"
#include "server-verify/state.h"

#define NOW	1767225600LL	/* GEN_NOW in tests/vectors/gen_common.h */
#define AUD	"https://id.example/"
#define MIN_NEGATIVE	110

static char		*dir;
static struct ob_trust	*trust;

static char *
slurp(const char *name, size_t *len)
{
	char	 path[1024];
	FILE	*f;
	char	*buf;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		print_error("cannot open %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static int
setup(void **st)
{
	const char	*v = getenv("OB_VECTORS");
	char		 path[1024];
	size_t		 n;

	(void)st;
	if (v == NULL)
		v = "tests/vectors";
	n = strlen(v) + sizeof("/negative");
	if ((dir = malloc(n)) == NULL)
		return -1;
	snprintf(dir, n, "%s/negative", v);
	snprintf(path, sizeof(path), "%s/trust.json", dir);
	if (ob_trust_load_file(path, &trust) != OB_OK) {
		print_error("trust store: %s: %s\n", ob_err_name(-1),
		    ob_err_detail());
		return -1;
	}
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	ob_trust_free(&trust);
	free(dir);
	return 0;
}

struct vopts {
	struct ob_verify_opts	 o;
	char			 proxy[64];
};

static int
verify_file(struct ob_state *state, const struct ob_verify_opts *o,
    const char *name)
{
	struct ob_verdict	*v = NULL;
	char			*buf;
	size_t			 len;
	int			 r;

	if ((buf = slurp(name, &len)) == NULL)
		return -9999;
	r = ob_verify(trust, state, o, buf, len, &v);
	ob_verdict_free(&v);
	free(buf);
	return r;
}

/* Apply one index.tsv option; returns 0 or -1 (and reports). */
static int
apply_opt(char *opt, struct vopts *vo, struct ob_state *state,
    const char *file)
{
	char	*a, *b, *c;
	int	 r;

	if (strcmp(opt, "-") == 0 || *opt == '\0')
		return 0;
	if (strcmp(opt, "channel=gateway") == 0) {
		vo->o.channel = OB_CHANNEL_GATEWAY;
		return 0;
	}
	if (strncmp(opt, "proxy=", 6) == 0) {
		snprintf(vo->proxy, sizeof(vo->proxy), "%s", opt + 6);
		vo->o.proxy = vo->proxy;
		return 0;
	}
	if (strncmp(opt, "nonce=", 6) == 0) {
		a = opt + 6;
		if ((b = strchr(a, '/')) == NULL || (c = strchr(b + 1,
		    '/')) == NULL)
			goto bad;
		*b++ = '\0';
		*c++ = '\0';
		r = state->ops->put_nonce(state->impl, a, NOW + strtoll(b,
		    NULL, 10),
		    strcmp(c, "-") == 0 ? NULL : c, NOW);
		return r == OB_OK ? 0 : -1;
	}
	if (strncmp(opt, "pre=", 4) == 0) {
		r = verify_file(state, &vo->o, opt + 4);
		if (r != OB_OK) {
			print_error("%s: pre %s: %s (%s)\n", file, opt + 4,
			    ob_err_name(r), ob_err_detail());
			return -1;
		}
		return 0;
	}
bad:
	print_error("%s: bad option \"%s\"\n", file, opt);
	return -1;
}

static void
test_corpus(void **st)
{
	char		 path[1024], line[1024], *file, *exp, *why, *opts, *o,
			*save;
	FILE		*f;
	struct ob_state	*state;
	struct vopts	 vo;
	int		 r, fail = 0, nneg = 0, ngood = 0, pre;

	(void)st;
	snprintf(path, sizeof(path), "%s/index.tsv", dir);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		file = strtok_r(line, "\t", &save);
		exp = strtok_r(NULL, "\t", &save);
		why = strtok_r(NULL, "\t", &save);
		opts = strtok_r(NULL, "\t", &save);
		assert_non_null(opts);
		memset(&vo, 0, sizeof(vo));
		vo.o.aud = AUD;
		vo.o.now = NOW;
		assert_int_equal(ob_state_open_memory(&state), OB_OK);
		/* Seeds and channel first, pre= files after. */
		pre = 0;
		for (pre = 0; pre < 2; pre++) {
			char	 copy[512], *s2;

			snprintf(copy, sizeof(copy), "%s", opts);
			for (o = strtok_r(copy, ";", &s2); o != NULL;
			    o = strtok_r(NULL, ";", &s2)) {
				if ((strncmp(o, "pre=", 4) == 0) != pre)
					continue;
				if (apply_opt(o, &vo, state, file) != 0)
					fail++;
			}
		}
		r = verify_file(state, &vo.o, file);
		if (getenv("OB_NEG_VERBOSE") != NULL)
			print_message("%s\t%s\t%s\n", file, ob_err_name(r),
			    ob_err_detail());
		if (strcmp(ob_err_name(r), exp) != 0) {
			print_error("%s (%s): expected %s, got %s: %s\n", file,
			    why, exp, ob_err_name(r), ob_err_detail());
			fail++;
		}
		if (strcmp(exp, "OB_OK") == 0)
			ngood++;
		else
			nneg++;
		ob_state_free(&state);
	}
	fclose(f);
	print_message("corpus: %d negative, %d good, %d failures\n", nneg,
	    ngood, fail);
	assert_int_equal(fail, 0);
	assert_true(nneg >= MIN_NEGATIVE);
	assert_true(ngood >= 1);
}

/*
 * Every one-bit change of a good envelope must be rejected.  A change that
 * passed every check but replay (OB_ERR_REPLAY / OB_ERR_FIDO_COUNTER on the
 * shared state) counts as accepted too.
 */
static void
flips(const char *name, const struct ob_verify_opts *o, int with_state)
{
	struct ob_state		*state = NULL;
	struct ob_verdict	*v = NULL;
	unsigned char		*buf;
	size_t			 len, i;
	int			 bit, r, bad = 0, n = 0;

	assert_non_null(buf = (unsigned char *)slurp(name, &len));
	if (with_state)
		assert_int_equal(ob_state_open_memory(&state), OB_OK);
	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (unsigned char)(1u << bit);
			r = ob_verify(trust, state, o, buf, len, &v);
			buf[i] ^= (unsigned char)(1u << bit);
			n++;
			if (r == OB_OK || r == OB_ERR_REPLAY ||
			    r == OB_ERR_FIDO_COUNTER) {
				print_error("%s: flip byte %zu bit %d accepted "
				    "(%s)\n", name, i, bit, ob_err_name(r));
				bad++;
			}
			ob_verdict_free(&v);
		}
	/* The unmodified envelope still verifies. */
	if (with_state) {
		ob_state_free(&state);
		assert_int_equal(ob_state_open_memory(&state), OB_OK);
	}
	r = ob_verify(trust, state, o, buf, len, &v);
	if (r != OB_OK)
		print_error("%s: %s\n", ob_err_name(r), ob_err_detail());
	assert_int_equal(r, OB_OK);
	ob_verdict_free(&v);
	ob_state_free(&state);
	free(buf);
	print_message("%s: %d flips, %d accepted\n", name, n, bad);
	assert_int_equal(bad, 0);
}

static void
truncations(const char *name, const struct ob_verify_opts *o,
    int with_state)
{
	struct ob_state		*state = NULL;
	struct ob_verdict	*v = NULL;
	char			*buf;
	size_t			 len, i;
	int			 r, bad = 0;

	assert_non_null(buf = slurp(name, &len));
	if (with_state)
		assert_int_equal(ob_state_open_memory(&state), OB_OK);
	for (i = 0; i < len; i++) {
		r = ob_verify(trust, state, o, buf, i, &v);
		if (r == OB_OK || r == OB_ERR_REPLAY) {
			print_error("%s: prefix of %zu bytes accepted\n", name,
			    i);
			bad++;
		}
		ob_verdict_free(&v);
	}
	ob_state_free(&state);
	free(buf);
	assert_int_equal(bad, 0);
}

static void
test_bitflips_good(void **st)
{
	struct ob_verify_opts o = { .aud = AUD, .now = NOW };

	(void)st;
	flips("good.json", &o, 0);
}

static void
test_bitflips_fido(void **st)
{
	struct ob_verify_opts o = { .aud = AUD, .now = NOW };

	(void)st;
	flips("good-fido.json", &o, 1);
}

static void
test_bitflips_gateway(void **st)
{
	struct ob_verify_opts o = { .aud = AUD, .now = NOW,
	    .channel = OB_CHANNEL_GATEWAY, .proxy = "proxy-1" };

	(void)st;
	flips("good-gateway.json", &o, 0);
}

static void
test_truncations(void **st)
{
	struct ob_verify_opts o = { .aud = AUD, .now = NOW };
	struct ob_verify_opts og = { .aud = AUD, .now = NOW,
	    .channel = OB_CHANNEL_GATEWAY, .proxy = "proxy-1" };

	(void)st;
	truncations("good.json", &o, 0);
	truncations("good-eddsa.json", &o, 0);
	truncations("good-fido.json", &o, 1);
	truncations("good-gateway.json", &og, 0);
}

/*
 * Trust stores that must not load (trust-index.tsv): the code, and the
 * specific code of the key rule in the detail.
 */
static void
test_trust_corpus(void **st)
{
	char		 path[1024], line[1024], *file, *exp, *inner, *why,
			*save;
	struct ob_trust	*t;
	FILE		*f;
	int		 r, fail = 0, n = 0;

	(void)st;
	snprintf(path, sizeof(path), "%s/trust-index.tsv", dir);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		file = strtok_r(line, "\t", &save);
		exp = strtok_r(NULL, "\t", &save);
		inner = strtok_r(NULL, "\t", &save);
		why = strtok_r(NULL, "\t", &save);
		assert_non_null(why);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		t = NULL;
		r = ob_trust_load_file(path, &t);
		n++;
		if (strcmp(ob_err_name(r), exp) != 0 ||
		    strstr(ob_err_detail(), inner) == NULL) {
			print_error("%s (%s): expected %s (%s), got %s: %s\n",
			    file, why, exp, inner, ob_err_name(r),
			    ob_err_detail());
			fail++;
		}
		ob_trust_free(&t);
	}
	fclose(f);
	print_message("trust corpus: %d stores refused, %d failures\n", n,
	    fail);
	assert_int_equal(fail, 0);
	assert_true(n >= 7);
}

/* A state-less dry run never accepts what needs state. */
static void
test_dry_run(void **st)
{
	struct ob_verify_opts o = { .aud = AUD, .now = NOW };

	(void)st;
	assert_int_equal(verify_file(NULL, &o, "good.json"), OB_OK);
	assert_int_equal(verify_file(NULL, &o, "good-fido.json"),
	    OB_ERR_STATE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_trust_corpus),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bitflips_good),
		cmocka_unit_test(test_bitflips_fido),
		cmocka_unit_test(test_bitflips_gateway),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
