/*
 * tokens/remote.c against the real ownerbind-signer ($OB_SIGNER): the
 * daemons' token library opens only signer: keys, signs through the
 * helper, fails closed when the helper dies or hangs, and gets it back
 * with backoff; a helper whose key changed is not used; a standalone
 * helper on a unix socket; threads signing at once; several requests in
 * flight on one connection, answered out of order, and all failing
 * closed when the helper dies under them.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/json.h"
#include "core/jwk.h"
#include "tokens/remote.h"
#include "tokens/token.h"

static char		 dir[64], cfgpath[128], keypath[128], gwpath[128];
static const char	*helper;
static EVP_PKEY		*isskey, *gwkey, *agent;
static char		*kid;

static void
write_file(const char *path, const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	fclose(f);
}

static void
write_key(const char *path, EVP_PKEY *k)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
}

static int
setup(void **state)
{
	X509	*ca;
	char	*pem, p[128];

	(void)state;
	if ((helper = getenv("OB_SIGNER")) == NULL)
		fail_msg("OB_SIGNER names the ownerbind-signer to test");
	snprintf(dir, sizeof(dir), "/tmp/test-remote.XXXXXX");
	assert_non_null(mkdtemp(dir));
	isskey = t_key("P-256");
	gwkey = t_key("P-256");
	agent = t_key("P-256");
	kid = t_kid(isskey);
	snprintf(keypath, sizeof(keypath), "%s/iss.pem", dir);
	write_key(keypath, isskey);
	snprintf(gwpath, sizeof(gwpath), "%s/gw.pem", dir);
	write_key(gwpath, gwkey);
	ca = t_cert(isskey, isskey, NULL, "remote test CA", 1, time(NULL));
	pem = t_cert_pem(ca);
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	write_file(p, pem);
	free(pem);
	X509_free(ca);
	snprintf(cfgpath, sizeof(cfgpath), "%s/signer.json", dir);
	write_file(cfgpath, "{\"keys\": ["
	    "{\"name\": \"issuer\", \"uri\": \"file:iss.pem\", \"role\": "
	    "\"issuer\", \"ca\": \"ca.pem\"},"
	    "{\"name\": \"gw\", \"uri\": \"file:gw.pem\", \"role\": "
	    "\"gateway\"}]}\n");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	EVP_PKEY_free(isskey);
	EVP_PKEY_free(gwkey);
	EVP_PKEY_free(agent);
	free(kid);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);	/* lint: ok: our mkdtemp */
	return 0;
}

static char *
b64_json(json_t *j)
{
	char	*s, *b;
	size_t	 n;

	assert_int_equal(ob_json_dump(j, &s, &n), OB_OK);
	assert_int_equal(ob_b64url_encode((unsigned char *)s, n, &b), OB_OK);
	free(s);
	json_decref(j);
	return b;
}

static char *
wit_input(void)
{
	json_t		*jwk = NULL;
	char		*h, *c, *s;
	long long	 now = time(NULL);
	size_t		 n;

	assert_int_equal(ob_jwk_from_pkey(agent, &jwk), OB_OK);
	h = b64_json(json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", kid,
	    "typ", "wit+jwt"));
	c = b64_json(json_pack("{s:s,s:s,s:I,s:I,s:s,s:{s:o}}", "iss",
	    "https://id.example", "sub", T_SUB, "iat", (json_int_t)now, "exp",
	    (json_int_t)(now + 600), "jti", "AAAAAAAAAAAAAAAAAAAAAA", "cnf",
	    "jwk", jwk));
	n = strlen(h) + strlen(c) + 2;
	assert_non_null(s = malloc(n));
	snprintf(s, n, "%s.%s", h, c);
	free(h);
	free(c);
	return s;
}

static const struct ob_approval wit_what = {
	T_SUB, "https://id.example", T_OWNER, "agent-mediated", "wit", 0
};

static struct ob_signer *
open_helper(int timeout_ms)
{
	struct ob_signer_cfg	 c;
	struct ob_signer	*s = NULL;

	memset(&c, 0, sizeof(c));
	c.program = helper;
	c.config = cfgpath;
	c.client = "test_remote";
	c.timeout_ms = timeout_ms;
	c.backoff_min_ms = 20;
	c.backoff_max_ms = 200;
	assert_int_equal(ob_signer_open(&c, &s), OB_OK);
	return s;
}

static struct ob_token *
open_key(struct ob_signer *s, const char *uri)
{
	struct ob_token_opts	 o;
	struct ob_token		*t = NULL;

	memset(&o, 0, sizeof(o));
	o.signer = s;
	assert_int_equal(ob_token_open(uri, &o, &t), OB_OK);
	return t;
}

static int
sign_wit(struct ob_token *t)
{
	unsigned char	*sig = NULL;
	char		*in = wit_input();
	size_t		 siglen;
	int		 r;

	r = ob_token_sign(t, (unsigned char *)in, strlen(in), &wit_what, &sig,
	    &siglen);
	if (r == OB_OK)
		assert_int_equal(ob_sig_verify(OB_ALG_ES256, isskey,
		    (unsigned char *)in, strlen(in), sig, siglen), OB_OK);
	free(sig);
	free(in);
	return r;
}

/*
 * kill(SIGSTOP) returns before every thread of the target has stopped: on
 * a loaded machine a helper thread may still answer.  Wait (bounded) for
 * /proc to say stopped.
 */
static void
wait_stopped(long pid)
{
	char	path[64], buf[256], *p;
	FILE	*f;
	int	i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	for (i = 0; i < 1000; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			p = fgets(buf, sizeof(buf), f);
			fclose(f);
			if (p != NULL && (p = strrchr(buf, ')')) != NULL &&
			    (p[1] == ' ' && (p[2] == 'T' || p[2] == 't')))
				return;
		}
		usleep(1000);
	}
	fail_msg("helper %ld did not stop", pid);
}

/* Wait (bounded) until the supervisor says ready; the new pid. */
static long
wait_ready(struct ob_signer *s, long old)
{
	long	pid = 0;
	int	i;

	for (i = 0; i < 1000; i++) {
		if (ob_signer_state(s, &pid, NULL) == OB_SIGNER_READY &&
		    pid != old)
			return pid;
		usleep(10000);
	}
	fail_msg("the helper did not come back");
	return 0;
}

static void
test_open_sign(void **state)
{
	struct ob_signer	*s = open_helper(0);
	struct ob_token		*t;
	struct ob_token_opts	 o;
	struct ob_token		*f = NULL;
	char			 uri[160];
	long			 pid;

	(void)state;
	assert_int_equal(ob_signer_state(s, &pid, NULL), OB_SIGNER_READY);
	assert_true(pid > 0);
	t = open_key(s, "signer:issuer");
	assert_true(ob_pkey_equal(ob_token_pubkey(t), isskey));
	assert_string_equal(ob_token_kid(t), kid);
	assert_int_equal(ob_token_alg(t), OB_ALG_ES256);
	assert_int_equal(sign_wit(t), OB_OK);
	ob_token_close(&t);
	/* The helper's refusal comes back as its code. */
	t = open_key(s, "signer:gw");
	assert_int_equal(sign_wit(t), OB_ERR_SIGNER_PURPOSE);
	assert_non_null(strstr(ob_err_detail(), "does not sign wit"));
	assert_int_equal(ob_signer_state(s, NULL, NULL), OB_SIGNER_READY);
	ob_token_close(&t);
	/* The daemons' library opens no key itself. */
	memset(&o, 0, sizeof(o));
	o.signer = s;
	snprintf(uri, sizeof(uri), "file:%s", keypath);
	assert_int_equal(ob_token_open(uri, &o, &f), OB_ERR_KEY_SCHEME);
	assert_int_equal(ob_token_open("pkcs11:token=x;object=y", &o, &f),
	    OB_ERR_KEY_SCHEME);
	assert_int_equal(ob_token_open("signer:nosuch", &o, &f),
	    OB_ERR_SIGNER_KEY);
	o.signer = NULL;
	assert_int_equal(ob_token_open("signer:issuer", &o, &f),
	    OB_ERR_KEY_SCHEME);
	assert_null(f);
	ob_signer_free(&s);
	assert_null(s);
}

static void
test_killed_and_back(void **state)
{
	struct ob_signer	*s = open_helper(0);
	struct ob_token		*t = open_key(s, "signer:issuer");
	unsigned		 restarts;
	long			 pid, pid2;

	(void)state;
	assert_int_equal(ob_signer_start(s), OB_OK);
	assert_int_equal(ob_signer_state(s, &pid, NULL), OB_SIGNER_READY);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	/* The request in flight when it died fails closed. */
	assert_int_equal(sign_wit(t), OB_ERR_SIGNER_UNAVAILABLE);
	assert_true(ob_signer_retry_after(s) >= 1);
	pid2 = wait_ready(s, pid);
	assert_int_equal(sign_wit(t), OB_OK);
	(void)ob_signer_state(s, NULL, &restarts);
	assert_int_equal(restarts, 1);
	/* Killed while idle: noticed and replaced without a request. */
	(void)ob_signer_state(s, &pid, NULL);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	pid2 = wait_ready(s, pid);
	(void)ob_signer_state(s, NULL, &restarts);
	assert_int_equal(restarts, 2);
	assert_int_equal(sign_wit(t), OB_OK);
	/* A hung helper: the deadline, then a new one. */
	ob_token_close(&t);
	ob_signer_free(&s);
	s = open_helper(300);
	t = open_key(s, "signer:issuer");
	assert_int_equal(ob_signer_start(s), OB_OK);
	(void)ob_signer_state(s, &pid, NULL);
	assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
	wait_stopped(pid);
	assert_int_equal(sign_wit(t), OB_ERR_SIGNER_UNAVAILABLE);
	assert_non_null(strstr(ob_err_detail(), "in time"));
	pid2 = wait_ready(s, pid);
	assert_true(pid2 != pid);
	assert_int_equal(sign_wit(t), OB_OK);
	/* The stopped helper was ended by the launcher, not left behind. */
	assert_int_not_equal(kill((pid_t)pid, 0), 0);
	ob_token_close(&t);
	ob_signer_free(&s);
}

/*
 * A helper that comes back with another key under the same name (the
 * gateway key has no CA to catch it) is not used until the key is back.
 */
static void
test_key_changed(void **state)
{
	struct ob_signer	*s = open_helper(0);
	struct ob_token		*t = open_key(s, "signer:gw");
	EVP_PKEY		*other = t_key("P-256");
	char			 saved[160];
	long			 pid;
	int			 i;

	(void)state;
	assert_int_equal(ob_signer_start(s), OB_OK);
	snprintf(saved, sizeof(saved), "%s.saved", gwpath);
	assert_int_equal(rename(gwpath, saved), 0);
	write_key(gwpath, other);
	(void)ob_signer_state(s, &pid, NULL);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	assert_int_equal(sign_wit(t), OB_ERR_SIGNER_UNAVAILABLE);
	/* Restarts find another key and are refused, until "down". */
	for (i = 0; i < 1000 && ob_signer_state(s, NULL, NULL) !=
	    OB_SIGNER_DOWN; i++)
		usleep(10000);
	assert_int_equal(ob_signer_state(s, NULL, NULL), OB_SIGNER_DOWN);
	assert_int_equal(sign_wit(t), OB_ERR_SIGNER_UNAVAILABLE);
	/* The right key back: so is the helper (which answers again). */
	assert_int_equal(rename(saved, gwpath), 0);
	(void)wait_ready(s, pid);
	assert_int_equal(sign_wit(t), OB_ERR_SIGNER_PURPOSE);
	EVP_PKEY_free(other);
	ob_token_close(&t);
	ob_signer_free(&s);
}

static void
test_bad_helper(void **state)
{
	struct ob_signer_cfg	 c;
	struct ob_signer	*s = NULL;
	char			 bad[160];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.program = helper;
	snprintf(bad, sizeof(bad), "%s/missing.json", dir);
	c.config = bad;
	/* The helper cannot start: the daemon does not either. */
	assert_int_equal(ob_signer_open(&c, &s), OB_ERR_SIGNER_UNAVAILABLE);
	assert_non_null(strstr(ob_err_detail(), "HELLO"));
	assert_null(s);
	c.program = "/nonexistent/ownerbind-signer";
	assert_int_equal(ob_signer_open(&c, &s), OB_ERR_SIGNER_CONFIG);
	c.socket = "/tmp/x.sock";
	assert_int_equal(ob_signer_open(&c, &s), OB_ERR_SIGNER_CONFIG);
}

/* What the helper sends is parsed as strictly as what it is sent. */
static int
fake_helper(const char *frame, const char *want)
{
	struct ob_signer_cfg	 c;
	struct ob_signer	*s = NULL;
	char			 prog[160];
	FILE			*f;
	int			 r;

	snprintf(prog, sizeof(prog), "%s/fake-helper", dir);
	assert_non_null(f = fopen(prog, "w"));
	/* One frame, then silence until the daemon goes. */
	fprintf(f, "#!/bin/sh\nprintf '%s' >&3\nexec sleep 10 <&3\n", frame);
	fclose(f);
	assert_int_equal(chmod(prog, 0700), 0);
	memset(&c, 0, sizeof(c));
	c.program = prog;
	c.config = cfgpath;
	c.timeout_ms = 2000;
	r = ob_signer_open(&c, &s);
	assert_null(s);
	assert_non_null(strstr(ob_err_detail(), want));
	return r;
}

static void
test_garbled_helper(void **state)
{
	(void)state;
	/* A body that is no reply. */
	assert_int_equal(fake_helper("\\000\\000\\000\\005junk!",
	    "does not parse"), OB_ERR_SIGNER_UNAVAILABLE);
	/* An ERROR (OB_ERR_SIGNER_PROTOCOL) to HELLO: the helper is gone. */
	assert_int_equal(fake_helper("\\000\\000\\000\\014\\001\\377"
	    "\\000\\000\\000\\001\\377\\377\\373\\263\\000\\000",
	    "refused the request"), OB_ERR_SIGNER_UNAVAILABLE);
}

static void
test_socket(void **state)
{
	struct ob_signer_cfg	 c;
	struct ob_signer	*s = NULL;
	struct ob_token		*t;
	struct stat		 st;
	char			 path[160];
	pid_t			 pid;
	int			 i, status;

	(void)state;
	snprintf(path, sizeof(path), "%s/signer.sock", dir);
	if ((pid = fork()) == 0) {
		execl(helper, helper, "--config", cfgpath, "--listen", path,
		    (char *)NULL);
		_exit(127);
	}
	/* Bounded, and generous: a sanitizer build starts slowly. */
	for (i = 0; i < 3000 && stat(path, &st) != 0; i++)
		usleep(10000);
	if (stat(path, &st) != 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		fail_msg("the helper made no socket");
	}
	memset(&c, 0, sizeof(c));
	c.socket = path;
	/* A failure must not leave the helper running (ctest would wait on
	 * its output for ever). */
	if (ob_signer_open(&c, &s) != OB_OK) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		fail_msg("connect to the helper's socket: %s", ob_err_detail());
	}
	t = open_key(s, "signer:issuer");
	assert_int_equal(sign_wit(t), OB_OK);
	ob_token_close(&t);
	ob_signer_free(&s);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct job {
	struct ob_token		*t;
	struct ob_signer	*s;	/* test_sign_all */
	const char		*in;
};

/* No cmocka asserts off the main thread: a failure is the result. */
static void *
signer_thread(void *v)
{
	struct job	*j = v;
	unsigned char	*sig;
	size_t		 siglen;
	int		 i, bad = 0;

	for (i = 0; i < 40 && !bad; i++) {
		if (ob_token_sign(j->t, (const unsigned char *)j->in,
		    strlen(j->in), &wit_what, &sig, &siglen) != OB_OK)
			return (void *)1;
		bad = ob_sig_verify(OB_ALG_ES256, isskey,
		    (const unsigned char *)j->in, strlen(j->in), sig,
		    siglen) != OB_OK;
		free(sig);
	}
	return bad ? (void *)1 : NULL;
}

static void
test_threads(void **state)
{
	struct ob_signer	*s = open_helper(0);
	struct job		 j;
	pthread_t		 th[4];
	char			*in = wit_input();
	void			*rv;
	int			 i;

	(void)state;
	j.t = open_key(s, "signer:issuer");
	j.in = in;
	assert_int_equal(ob_signer_start(s), OB_OK);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, signer_thread,
		    &j), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	free(in);
	ob_token_close(&j.t);
	ob_signer_free(&s);
}

/*
 * Several requests in flight on one connection.  A fake helper (Python,
 * on the launcher's fd 3) greets, waits until it holds NREQ SIGNs, then
 * answers them last first, each with its own input as the "signature",
 * or (mode "stray") answers one with an id no request has.
 */
#define NREQ	3

static const char fake_py[] =
    "import os, struct, sys, time\n"
    "fd = 3\n"
    "buf = b''\n"
    "def frame():\n"
    "    global buf\n"
    "    while True:\n"
    "        if len(buf) >= 4:\n"
    "            n = struct.unpack('>I', buf[:4])[0]\n"
    "            if len(buf) >= 4 + n:\n"
    "                b = buf[4:4 + n]\n"
    "                buf = buf[4 + n:]\n"
    "                return b\n"
    "        d = os.read(fd, 65536)\n"
    "        if not d:\n"
    "            sys.exit(0)\n"
    "        buf += d\n"
    "def send(body):\n"
    "    os.write(fd, struct.pack('>I', len(body)) + body)\n"
    "h = frame()\n"
    "name = b'ownerbind-signer'\n"
    "send(b'\\x01\\x81' + h[2:6] + b'\\0\\0\\0\\0\\x01' +\n"
    "    bytes([len(name)]) + name)\n"
    "reqs = []\n"
    "while len(reqs) < %d:\n"
    "    b = frame()\n"
    "    i = 6\n"
    "    i += 1 + b[i]\n"
    "    i += 1\n"
    "    i += 2 + struct.unpack('>H', b[i:i + 2])[0]\n"
    "    n = struct.unpack('>I', b[i:i + 4])[0]\n"
    "    reqs.append((b[2:6], b[i + 4:i + 4 + n]))\n"
    "for k, (rid, inp) in enumerate(reversed(reqs)):\n"
    "    if '%s' == 'stray' and k == 0:\n"
    "        rid = struct.pack('>I', struct.unpack('>I', rid)[0] + 1000)\n"
    "    send(b'\\x01\\x83' + rid + b'\\0\\0\\0\\0' +\n"
    "        struct.pack('>H', len(inp)) + inp)\n"
    "while os.read(fd, 65536):\n"
    "    pass\n";

struct ooo {
	struct ob_signer	*s;
	char			 in[16];
	int			 r;
	int			 mine;		/* the reply was its input */
};

static void *
ooo_thread(void *v)
{
	struct ooo	*o = v;
	unsigned char	*sig = NULL;
	size_t		 siglen = 0;

	o->r = ob_signer_sign(o->s, "gw", OB_SP_GATEWAY_ENTRY, "test",
	    (const uint8_t *)o->in, strlen(o->in), &sig, &siglen);
	o->mine = o->r == OB_OK && siglen == strlen(o->in) &&
	    memcmp(sig, o->in, siglen) == 0;	/* lint: ok: a test echo */
	free(sig);
	return NULL;
}

static void
run_fake(const char *mode, struct ooo *o)
{
	struct ob_signer_cfg	 c;
	struct ob_signer	*s = NULL;
	pthread_t		 th[NREQ];
	char			 prog[160];
	FILE			*f;
	int			 i;

	snprintf(prog, sizeof(prog), "%s/fake-%s", dir, mode);
	assert_non_null(f = fopen(prog, "w"));
	fprintf(f, "#!/usr/bin/env python3\n");
	fprintf(f, fake_py, NREQ, mode);
	fclose(f);
	assert_int_equal(chmod(prog, 0700), 0);
	memset(&c, 0, sizeof(c));
	c.program = prog;
	c.config = cfgpath;
	c.timeout_ms = 10000;
	assert_int_equal(ob_signer_open(&c, &s), OB_OK);
	for (i = 0; i < NREQ; i++) {
		o[i].s = s;
		snprintf(o[i].in, sizeof(o[i].in), "request-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, ooo_thread,
		    &o[i]), 0);
	}
	for (i = 0; i < NREQ; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	if (strcmp(mode, "stray") == 0)
		assert_int_not_equal(ob_signer_state(s, NULL, NULL),
		    OB_SIGNER_READY);
	else
		assert_int_equal(ob_signer_state(s, NULL, NULL),
		    OB_SIGNER_READY);
	ob_signer_free(&s);
}

static void
test_out_of_order(void **state)
{
	struct ooo	o[NREQ];
	int		i;

	(void)state;
	memset(o, 0, sizeof(o));
	/* All NREQ in flight at once (the fake answers none before), the
	 * replies last first: each reaches its own waiter. */
	run_fake("reverse", o);
	for (i = 0; i < NREQ; i++) {
		assert_int_equal(o[i].r, OB_OK);
		assert_true(o[i].mine);
	}
	/* A reply with an id nobody waits for: the connection is not
	 * trusted any more, every request in flight on it fails closed. */
	memset(o, 0, sizeof(o));
	run_fake("stray", o);
	for (i = 0; i < NREQ; i++) {
		assert_int_equal(o[i].r, OB_ERR_SIGNER_UNAVAILABLE);
		assert_false(o[i].mine);
	}
}

/*
 * The kill test with several requests in flight: the helper is stopped
 * (requests pile up on the connection), then killed.  Every request
 * either has a valid signature or fails with OB_ERR_SIGNER_UNAVAILABLE,
 * each thread sees its in-flight request fail, and signing resumes.
 */
struct burst {
	struct ob_token	*t;
	const char	*in;
	int		 stop, fails, ok_after, bad;	/* atomic */
};

static void *
burst_thread(void *v)
{
	struct burst	*b = v;
	unsigned char	*sig;
	size_t		 siglen;
	int		 r;

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		sig = NULL;
		r = ob_token_sign(b->t, (const unsigned char *)b->in,
		    strlen(b->in), &wit_what, &sig, &siglen);
		if (r == OB_OK) {
			if (ob_sig_verify(OB_ALG_ES256, isskey,
			    (const unsigned char *)b->in, strlen(b->in), sig,
			    siglen) != OB_OK)
				__atomic_add_fetch(&b->bad, 1, __ATOMIC_RELAXED);
			else if (__atomic_load_n(&b->fails, __ATOMIC_RELAXED) >
			    0)
				__atomic_add_fetch(&b->ok_after, 1,
				    __ATOMIC_RELAXED);
		} else if (r == OB_ERR_SIGNER_UNAVAILABLE) {
			__atomic_add_fetch(&b->fails, 1, __ATOMIC_RELAXED);
			usleep(2000);
		} else
			__atomic_add_fetch(&b->bad, 1, __ATOMIC_RELAXED);
		free(sig);
	}
	return NULL;
}

static void
test_killed_in_flight(void **state)
{
	struct ob_signer	*s = open_helper(0);
	struct ob_token		*t = open_key(s, "signer:issuer");
	struct burst		 b[4];
	pthread_t		 th[4];
	char			*in = wit_input();
	long			 pid;
	int			 i, j;

	(void)state;
	assert_int_equal(ob_signer_start(s), OB_OK);
	(void)ob_signer_state(s, &pid, NULL);
	memset(b, 0, sizeof(b));
	for (i = 0; i < 4; i++) {
		b[i].t = t;
		b[i].in = in;
		assert_int_equal(pthread_create(&th[i], NULL, burst_thread,
		    &b[i]), 0);
	}
	usleep(200000);
	/* Stopped: each thread's next request stays in flight. */
	assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
	wait_stopped(pid);
	usleep(300000);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	(void)wait_ready(s, pid);
	/* Until every thread signed again after its failure (bounded). */
	for (i = 0; i < 1000; i++) {
		for (j = 0; j < 4 && __atomic_load_n(&b[j].ok_after,
		    __ATOMIC_RELAXED) > 0; j++)
			;
		if (j == 4)
			break;
		usleep(10000);
	}
	for (i = 0; i < 4; i++)
		__atomic_store_n(&b[i].stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(b[i].bad, 0);
		assert_true(b[i].fails >= 1);
		assert_true(b[i].ok_after >= 1);
	}
	free(in);
	ob_token_close(&t);
	ob_signer_free(&s);
}

/* Two inputs at once with ob_signer_sign_all; 0 when both verify. */
static int
sign_two(struct ob_signer *s, const char *key, const char *in)
{
	struct ob_signer_job	 jobs[2];
	int			 r, k;

	memset(jobs, 0, sizeof(jobs));
	for (k = 0; k < 2; k++) {
		jobs[k].purpose = OB_SP_WIT;
		jobs[k].in = (const uint8_t *)in;
		jobs[k].len = strlen(in);
	}
	if ((r = ob_signer_sign_all(s, key, T_SUB, T_OWNER, jobs, 2)) !=
	    OB_OK) {
		if (jobs[0].sig != NULL || jobs[1].sig != NULL)
			return OB_ERR_INTERNAL;	/* not all or nothing */
		return r;
	}
	for (k = 0; k < 2 && r == OB_OK; k++)
		r = ob_sig_verify(OB_ALG_ES256, isskey,
		    (const unsigned char *)in, strlen(in), jobs[k].sig,
		    jobs[k].siglen);
	free(jobs[0].sig);
	free(jobs[1].sig);
	return r;
}

static void *
sign_all_thread(void *v)
{
	struct job	*j = v;
	int		 i;

	for (i = 0; i < 40; i++)
		if (sign_two(j->s, "issuer", j->in) != OB_OK)
			return (void *)1;
	return NULL;
}

/*
 * Several signatures in flight for one caller: each verifies, a refusal
 * leaves no signature, the count is bounded, and callers of both kinds
 * share the connection from four threads.  (Whether the reading is
 * handed on to the right slot is not caught here: while others keep
 * calling, a new caller takes the reading up.)
 */
static void
test_sign_all(void **state)
{
	struct ob_signer	*s = open_helper(0);
	struct ob_signer_job	 jobs[OB_SIGNER_JOBS_MAX + 1];
	struct job		 j;
	pthread_t		 th[4];
	char			*in = wit_input();
	void			*rv;
	int			 i;

	(void)state;
	j.t = open_key(s, "signer:issuer");
	j.s = s;
	j.in = in;
	assert_int_equal(sign_two(s, "issuer", in), OB_OK);
	assert_int_equal(sign_two(s, "gw", in), OB_ERR_SIGNER_PURPOSE);
	assert_int_equal(ob_signer_state(s, NULL, NULL), OB_SIGNER_READY);
	memset(jobs, 0, sizeof(jobs));
	assert_int_equal(ob_signer_sign_all(s, "issuer", NULL, NULL, jobs, 0),
	    OB_ERR_INVALID_ARG);
	assert_int_equal(ob_signer_sign_all(s, "issuer", NULL, NULL, jobs,
	    OB_SIGNER_JOBS_MAX + 1), OB_ERR_INVALID_ARG);
	/* A frame that cannot be made: refused here, the helper kept. */
	jobs[0].purpose = jobs[1].purpose = OB_SP_WIT;
	jobs[0].in = (const uint8_t *)in;
	jobs[0].len = strlen(in);
	jobs[1].in = (const uint8_t *)in;
	jobs[1].len = 0;
	assert_int_equal(ob_signer_sign_all(s, "issuer", NULL, NULL, jobs, 2),
	    OB_ERR_INVALID_ARG);
	assert_null(jobs[0].sig);
	assert_int_equal(ob_signer_state(s, NULL, NULL), OB_SIGNER_READY);
	assert_int_equal(sign_two(s, "issuer", in), OB_OK);
	assert_int_equal(ob_signer_start(s), OB_OK);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, i % 2 == 0 ?
		    sign_all_thread : signer_thread, &j), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	free(in);
	ob_token_close(&j.t);
	ob_signer_free(&s);
}

/* A helper killed or hung under ob_signer_sign_all fails both, closed. */
static void
test_sign_all_fails(void **state)
{
	struct ob_signer	*s = open_helper(300);
	char			*in = wit_input();
	long			 pid;

	(void)state;
	assert_int_equal(ob_signer_start(s), OB_OK);
	(void)ob_signer_state(s, &pid, NULL);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	assert_int_equal(sign_two(s, "issuer", in), OB_ERR_SIGNER_UNAVAILABLE);
	pid = wait_ready(s, pid);
	assert_int_equal(sign_two(s, "issuer", in), OB_OK);
	assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
	wait_stopped(pid);
	assert_int_equal(sign_two(s, "issuer", in), OB_ERR_SIGNER_UNAVAILABLE);
	assert_non_null(strstr(ob_err_detail(), "in time"));
	(void)wait_ready(s, pid);
	assert_int_equal(sign_two(s, "issuer", in), OB_OK);
	free(in);
	ob_signer_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_sign),
		cmocka_unit_test(test_killed_and_back),
		cmocka_unit_test(test_key_changed),
		cmocka_unit_test(test_bad_helper),
		cmocka_unit_test(test_garbled_helper),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_killed_in_flight),
		cmocka_unit_test(test_sign_all),
		cmocka_unit_test(test_sign_all_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
