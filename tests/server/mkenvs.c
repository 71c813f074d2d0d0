/*
 * mkenvs: envelopes for the multi-instance Redis tests
 * (test_server_redis.sh), made in one process with the unit tests'
 * helpers instead of three `ownerbind` runs each, so that a test can
 * race hundreds of them.
 *
 *   mkenvs DIR REDIS_URI ROUNDS LOAD
 *
 * Writes DIR/trust.json (owner alice@example.com with a software key and
 * a FIDO2 key, may bind the agents of td.example) and, one envelope a
 * line, signed now and valid 300 s, audience https://id.example:
 *   jti.txt         ROUNDS envelopes, each to be posted to both servers
 *   nonce0/1.txt    ROUNDS pairs: two jti, one server nonce each round,
 *                   issued into the Redis state at REDIS_URI (prefix ob:)
 *   fido0/1.txt     ROUNDS pairs: two jti, one FIDO2 counter value each
 *                   round (round i: i + 1)
 *   rate.txt        8 envelopes from one agent key (the shared per-agent
 *                   bucket)
 *   load.txt        LOAD envelopes
 * Every other envelope has an agent key of its own.  A test stand-in,
 * never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "server-verify/redis.h"
#include "server-verify/state.h"
#include "tests/unit/obtest.h"

static EVP_PKEY *owner, *fido;
static long long now;

static FILE *
out(const char *dir, const char *name)
{
	char	 p[1024];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL) {
		perror(p);
		exit(1);
	}
	return f;
}

static void
put(FILE *f, char *env)
{
	if (strchr(env, '\n') != NULL) {
		fprintf(stderr, "mkenvs: an envelope with a newline\n");
		exit(1);
	}
	fprintf(f, "%s\n", env);
	free(env);
}

/* An envelope for jti from agent key ak (NULL: a new one). */
static char *
mk(EVP_PKEY *ak, const char *jti, const char *nonce, int counter)
{
	struct ob_envelope	*env;
	enum ob_model		 m = nonce != NULL ? OB_MODEL_SERVER_MEDIATED :
	    OB_MODEL_AGENT_MEDIATED;
	EVP_PKEY		*k = ak != NULL ? ak : t_key("P-256");
	char			*s;

	env = t_request(k, now, jti);
	if (counter > 0)
		t_sign_fido(env, fido, "ownerbind:", 0x05, (uint32_t)counter, m,
		    now, nonce);
	else
		t_sign(env, owner, OB_ROLE_OWNER, m, now, nonce, NULL);
	t_sign(env, k, OB_ROLE_AGENT, m, now, nonce, NULL);
	s = t_serialize(env);
	ob_envelope_free(&env);
	if (ak == NULL)
		EVP_PKEY_free(k);
	return s;
}

/* One owner, two keys: the software key's trust entry plus the FIDO2 one. */
static void
trust(const char *dir)
{
	json_t		*a, *b, *keys;
	json_error_t	 e;
	char		*sa, *sb;
	FILE		*f = out(dir, "trust.json");

	sa = t_trust(T_OWNER, "wimse://td.example/agents/*", owner, "software",
	    NULL, 0);
	sb = t_trust(T_OWNER, "wimse://td.example/agents/*", fido, "fido2",
	    "ownerbind:", 1);
	if ((a = json_loads(sa, 0, &e)) == NULL ||
	    (b = json_loads(sb, 0, &e)) == NULL) {
		fprintf(stderr, "mkenvs: trust: %s\n", e.text);
		exit(1);
	}
	keys = json_object_get(json_array_get(json_object_get(a, "owners"), 0),
	    "keys");
	json_array_append(keys, json_array_get(json_object_get(json_array_get(
	    json_object_get(b, "owners"), 0), "keys"), 0));
	json_dumpf(a, f, JSON_INDENT(1));
	fclose(f);
	json_decref(a);
	json_decref(b);
	free(sa);
	free(sb);
}

int
main(int argc, char **argv)
{
	struct ob_redis_cfg	 rc;
	struct ob_state		*st = NULL;
	EVP_PKEY		*ak;
	FILE			*fj, *fn[2], *ff[2], *fr, *fl;
	char			 jti[64], n[OB_NONCE_CHARS + 1], tag[16];
	unsigned char		 rnd[6];
	int			 rounds, load, i, p, r;

	if (argc != 5 || (rounds = (int)strtol(argv[3], NULL, 10)) < 1 ||
	    (load = (int)strtol(argv[4], NULL, 10)) < 0) {
		fprintf(stderr, "usage: mkenvs DIR REDIS_URI ROUNDS LOAD\n");
		return 2;
	}
	now = (long long)time(NULL);
	owner = t_key("P-256");
	fido = t_key("P-256");
	trust(argv[1]);
	memset(&rc, 0, sizeof(rc));
	rc.uri = argv[2];
	if ((r = ob_state_open_redis(&rc, &st)) != OB_OK) {
		fprintf(stderr, "mkenvs: %s: %s\n", ob_err_name(r),
		    ob_err_detail());
		return 1;
	}
	/* Distinct jti on every run, in case a Redis is reused. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return 1;
	for (i = 0; i < 6; i++)
		snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
	fj = out(argv[1], "jti.txt");
	fn[0] = out(argv[1], "nonce0.txt");
	fn[1] = out(argv[1], "nonce1.txt");
	ff[0] = out(argv[1], "fido0.txt");
	ff[1] = out(argv[1], "fido1.txt");
	fr = out(argv[1], "rate.txt");
	fl = out(argv[1], "load.txt");
	for (i = 0; i < rounds; i++) {
		snprintf(jti, sizeof(jti), "j-%s-%06daaaaaaa", tag, i);
		put(fj, mk(NULL, jti, NULL, 0));
		if ((r = ob_state_issue_nonce(st, now, 600, NULL, n)) != OB_OK) {
			fprintf(stderr, "mkenvs: nonce: %s: %s\n",
			    ob_err_name(r), ob_err_detail());
			return 1;
		}
		for (p = 0; p < 2; p++) {
			snprintf(jti, sizeof(jti), "n-%s-%06d-%daaaaa", tag, i, p);
			put(fn[p], mk(NULL, jti, n, 0));
			snprintf(jti, sizeof(jti), "f-%s-%06d-%daaaaa", tag, i, p);
			put(ff[p], mk(NULL, jti, NULL, i + 1));
		}
	}
	ak = t_key("P-256");
	for (i = 0; i < 8; i++) {
		snprintf(jti, sizeof(jti), "r-%s-%06daaaaaaa", tag, i);
		put(fr, mk(ak, jti, NULL, 0));
	}
	EVP_PKEY_free(ak);
	for (i = 0; i < load; i++) {
		snprintf(jti, sizeof(jti), "l-%s-%06daaaaaaa", tag, i);
		put(fl, mk(NULL, jti, NULL, 0));
	}
	if (fclose(fj) != 0 || fclose(fn[0]) != 0 || fclose(fn[1]) != 0 ||
	    fclose(ff[0]) != 0 || fclose(ff[1]) != 0 || fclose(fr) != 0 ||
	    fclose(fl) != 0)
		return 1;
	ob_state_free(&st);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(fido);
	return 0;
}
