/*
 * bench-server: credentials issued per second by a running
 * ownerbind-server, against the bare cryptography of one credential.
 *
 *   bench-server [-c CONNS] [-t SECONDS] [-n MAX] -k OWNER.pem -O OWNER
 *       [-s SUB] [-L] DEV.json
 *
 * DEV.json is what `ownerbind-server --dev DIR` writes (url, aud, tls_ca,
 * client_cert, client_key); OWNER.pem is a file: owner key already
 * enrolled in that server's trust store as OWNER, allowed to bind SUB
 * (default wimse://example.org/agents/bench).  The url must be loopback.
 *
 * Before any timing, 2 x MAX agent-mediated envelopes are built in this
 * process with the project's own calls (ob_file_keygen for a fresh P-256
 * agent key in a temporary file, ob_envelope_new, ob_token_sign_entry with
 * the owner's and then the agent's file: token, ob_envelope_serialize),
 * each with a fresh jti and agent key: MAX for the throughput phase and
 * MAX for the paced phase, since the server refuses replays.
 *
 * CONNS keep-alive mutual-TLS connections (OpenSSL directly) are opened
 * once, after the envelopes are built, and each made to answer one
 * GET /v1/keys (the handshake, the server's session tickets) before any
 * timing; every phase after that uses the same connections.  The HTTP/1.1
 * client is minimal: one request at a time per connection, written in
 * one piece (headers and body), responses must carry Content-Length (no
 * chunked encoding), a "Connection: close" answer or a dropped connection
 * makes the thread reconnect.
 *
 * Throughput phase: CONNS threads, a connection each, POST
 * /v1/credentials back to back until MAX requests or SECONDS, in three
 * rounds (MAX/3 requests, SECONDS/3 each) alternating with the raw line's
 * rounds (one second each, before each round), so that both see the same
 * machine.  issued/s counts 201 answers over the rounds' wall time.
 *
 * Raw: the cryptography one credential needs, on one thread: two ECDSA
 * P-256 verifications (owner and agent entries) and two ECDSA P-256
 * signatures (WIT and WIC) with EVP_DigestSign/EVP_DigestVerify over
 * messages of envelope size, keys parsed in advance.  ratio = issued/raw
 * (run the server with limits.workers 1 for a per-core comparison).
 *
 * Paced phase: the same connections, request i due at t0 + i/rate with
 * rate = issued/2, for at most SECONDS and MAX requests.  Prints p50 and
 * p99 in microseconds of the latency from writing a request to reading
 * its whole answer, then the same from the time the request was due
 * (which also counts the time a request waited for a free connection:
 * with CONNS connections the client is not open-loop once CONNS requests
 * are in flight) and how many were written more than 1 ms late.  -L
 * stops after one throughput round (for tests/server/soak.sh).  Never run
 * by the tests.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ownerbind/ob_verify.h"
#include "common/cliutil.h"
#include "core/b64url.h"
#include "core/envelope.h"
#include "tokens/file.h"
#include "core/jwk.h"
#include "tokens/token.h"

#define RBUF	65536
#define TTL	300
#define ROUNDS	3	/* throughput rounds, each after a raw round */
#define MAXCONN	1024

struct job {
	char		**body;
	size_t		*len;
	size_t		 n;
	double		 rate;		/* 0: back to back */
	double		 t0;
	double		 deadline;
	atomic_size_t	 next;
	atomic_ulong	 status[600];
	atomic_ulong	 neterr;
	long		*lat_us;	/* per request, -1 if none */
	long		*due_us;	/* paced: from the due time, or NULL */
};

/* Answers by status over the rounds of a phase. */
struct tally {
	unsigned long	 status[600];
	unsigned long	 neterr;
};

static char		 host[64];
static int		 port;
static SSL_CTX		*ctx;
static struct job	*job;
static SSL		*cs[MAXCONN];	/* connection k, kept across phases */

static void
die(const char *what)
{
	fprintf(stderr, "bench-server: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL) {
		fprintf(stderr, "bench-server: dev.json has no %s\n", k);
		exit(1);
	}
	return s;
}

/* One envelope: fresh agent key (temporary file), owner then agent entry. */
static void
build_one(struct ob_token *owner, const char *dir, size_t i, const char *sub,
    const char *aud, const char *ownerid, char **out, size_t *outlen)
{
	struct ob_envelope	*env = NULL;
	struct ob_token		*agent = NULL;
	struct ob_token_opts	 opts;
	json_t			*c, *jwk = NULL;
	EVP_PKEY		*key = NULL;
	unsigned char		 rnd[16];
	char			 path[4096], uri[4200], *jti = NULL;
	long long		 now = (long long)time(NULL);

	snprintf(path, sizeof(path), "%s/agent-%zu.pem", dir, i);
	snprintf(uri, sizeof(uri), "file:%s", path);
	if (ob_file_keygen(path, OB_ALG_ES256, NULL, &key) != OB_OK ||
	    ob_jwk_from_pkey(key, &jwk) != OB_OK)
		die("agent key");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    ob_b64url_encode(rnd, sizeof(rnd), &jti) != OB_OK)
		die("jti");
	c = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:{s:O}}", "sub", sub,
	    "aud", aud, "iat", (json_int_t)now, "exp", (json_int_t)(now + TTL),
	    "jti", jti, "owner", ownerid, "cnf", "jwk", jwk);
	if (c == NULL || ob_envelope_new(c, &env) != OB_OK)
		die("envelope");
	if (ob_token_sign_entry(owner, env, OB_ROLE_OWNER,
	    OB_MODEL_AGENT_MEDIATED, NULL, NULL, NULL, now) != OB_OK)
		die("owner signature");
	memset(&opts, 0, sizeof(opts));
	opts.quiet = 1;
	if (ob_token_open(uri, &opts, &agent) != OB_OK ||
	    ob_token_sign_entry(agent, env, OB_ROLE_AGENT,
	    OB_MODEL_AGENT_MEDIATED, NULL, NULL, NULL, now) != OB_OK)
		die("agent signature");
	if (ob_envelope_serialize(env, out, outlen) != OB_OK)
		die("serialize");
	unlink(path);
	ob_token_close(&agent);
	ob_envelope_free(&env);
	json_decref(c);
	json_decref(jwk);
	EVP_PKEY_free(key);
	free(jti);
}

static SSL *
conn_open(void)
{
	struct sockaddr_in	 sa;
	SSL			*ssl;
	int			 fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return NULL;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (ssl = SSL_new(ctx)) == NULL) {
		close(fd);
		return NULL;
	}
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 ||
	    SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

static void
conn_close(SSL **sslp)
{
	int fd;

	if (*sslp == NULL)
		return;
	fd = SSL_get_fd(*sslp);
	SSL_shutdown(*sslp);
	SSL_free(*sslp);
	close(fd);
	*sslp = NULL;
}

static int
write_all(SSL *ssl, const char *p, size_t n)
{
	size_t w;

	while (n > 0) {
		if (SSL_write_ex(ssl, p, n, &w) != 1)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/*
 * Read one response: status line, headers up to CRLFCRLF, a Content-Length
 * body.  Returns the status (or -1), *keep 0 if the server closes.
 */
static int
read_resp(SSL *ssl, char *buf, int *keep)
{
	size_t	 have = 0, got, hlen, clen = 0;
	char	*end, *p;
	int	 status;

	*keep = 1;
	for (;;) {
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (have >= RBUF - 1 ||
		    SSL_read_ex(ssl, buf + have, RBUF - 1 - have, &got) != 1)
			return -1;
		have += got;
	}
	hlen = (size_t)(end - buf) + 4;
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0 || !isdigit((unsigned char)buf[9]) ||
	    !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) || buf[12] != ' ')
		return -1;
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + buf[11] - '0';
	if (status < 100 || status > 599)
		return -1;
	for (p = strstr(buf, "\r\n"); p != NULL && p < end;
	    p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			clen = strtoul(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Connection: close", 17) == 0)
			*keep = 0;
	}
	if (hlen + clen > RBUF - 1)
		return -1;
	while (have < hlen + clen) {
		if (SSL_read_ex(ssl, buf + have, hlen + clen - have, &got) != 1)
			return -1;
		have += got;
	}
	return status;
}

static void
sleep_until(double t)
{
	struct timespec	ts;
	double		d = t - now_s();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Request i's headers and body in one buffer, written at once. */
static size_t
mkreq(const struct job *j, size_t i, char **req, size_t *cap)
{
	size_t	need = 256 + j->len[i];
	int	hl;

	if (need > *cap) {
		free(*req);
		if ((*req = malloc(need)) == NULL)
			die("malloc");
		*cap = need;
	}
	hl = snprintf(*req, 256, "POST /v1/credentials HTTP/1.1\r\nHost: "
	    "%s:%d\r\nContent-Type: application/jose+json\r\nContent-Length:"
	    " %zu\r\n\r\n", host, port, j->len[i]);
	if (hl < 0 || hl >= 256)
		die("request headers");
	memcpy(*req + hl, j->body[i], j->len[i]);
	return (size_t)hl + j->len[i];
}

static void *
worker(void *arg)
{
	struct job	*j = job;
	SSL		**sslp = arg;
	char		*buf, *req = NULL;
	size_t		 i, rl, cap = 0;
	double		 due = 0, t1, t2;
	int		 st, keep;

	if ((buf = malloc(RBUF)) == NULL)
		die("malloc");
	for (;;) {
		i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		if (j->rate > 0) {
			due = j->t0 + (double)i / j->rate;
			sleep_until(due);
		}
		if (now_s() >= j->deadline)
			break;
		if (*sslp == NULL && (*sslp = conn_open()) == NULL) {
			atomic_fetch_add(&j->neterr, 1);
			continue;
		}
		rl = mkreq(j, i, &req, &cap);
		t1 = now_s();
		if (write_all(*sslp, req, rl) != 0 ||
		    (st = read_resp(*sslp, buf, &keep)) < 0) {
			atomic_fetch_add(&j->neterr, 1);
			conn_close(sslp);
			continue;
		}
		t2 = now_s();
		j->lat_us[i] = (long)((t2 - t1) * 1e6);
		if (j->due_us != NULL)
			j->due_us[i] = (long)((t2 - due) * 1e6);
		atomic_fetch_add(&j->status[st], 1);
		if (!keep)
			conn_close(sslp);
	}
	free(req);
	free(buf);
	return NULL;
}

/*
 * Open the connections and have each answer one GET /v1/keys: the
 * handshakes (and the session tickets a TLS 1.3 server sends after one)
 * happen here, before any timing.
 */
static void
conns_open(int conns)
{
	char	*buf, req[256];
	int	 k, hl, keep;

	if ((buf = malloc(RBUF)) == NULL)
		die("malloc");
	hl = snprintf(req, sizeof(req), "GET /v1/keys HTTP/1.1\r\nHost: %s:%d"
	    "\r\n\r\n", host, port);
	for (k = 0; k < conns; k++) {
		if ((cs[k] = conn_open()) == NULL ||
		    write_all(cs[k], req, (size_t)hl) != 0 ||
		    read_resp(cs[k], buf, &keep) != 200)
			die("warm-up: GET /v1/keys on a new connection");
		if (!keep)
			conn_close(&cs[k]);
	}
	free(buf);
}

static void
conns_close(int conns)
{
	int k;

	for (k = 0; k < conns; k++)
		conn_close(&cs[k]);
}

static double
run(char **body, size_t *len, size_t n, int conns, double secs, double rate,
    long *lat, long *due)
{
	pthread_t	*th;
	double		 t;
	int		 k;

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (th = calloc((size_t)conns, sizeof(*th))) == NULL)
		die("calloc");
	job->body = body;
	job->len = len;
	job->n = n;
	job->rate = rate;
	job->lat_us = lat;
	job->due_us = due;
	for (size_t i = 0; i < n; i++) {
		lat[i] = -1;
		if (due != NULL)
			due[i] = -1;
	}
	job->t0 = now_s();
	job->deadline = job->t0 + secs;
	for (k = 0; k < conns; k++)
		if (pthread_create(&th[k], NULL, worker, &cs[k]) != 0)
			die("pthread_create");
	for (k = 0; k < conns; k++)
		pthread_join(th[k], NULL);
	t = now_s() - job->t0;
	free(th);
	return t;
}

/* The job's answers added to a phase's tally. */
static void
tally_add(struct tally *ta)
{
	int st;

	for (st = 0; st < 600; st++)
		ta->status[st] += (unsigned long)job->status[st];
	ta->neterr += (unsigned long)job->neterr;
}

static void
report_status(const char *phase, const struct tally *ta)
{
	int st;

	printf("%s: status", phase);
	for (st = 100; st < 600; st++)
		if (ta->status[st] > 0)
			printf(" %d=%lu", st, ta->status[st]);
	printf(" neterr=%lu\n", ta->neterr);
}

/* Two ECDSA P-256 signatures and two verifications per credential. */
static double
raw_rate(size_t msglen, double secs)
{
	EVP_PKEY	*k[2];
	EVP_MD_CTX	*md;
	unsigned char	*msg, sig[2][80];
	size_t		 siglen[2], n = 0;
	double		 t0, t;
	int		 i;

	if ((msg = malloc(msglen)) == NULL || RAND_bytes(msg,
	    (int)msglen) != 1 || (md = EVP_MD_CTX_new()) == NULL)
		die("raw setup");
	for (i = 0; i < 2; i++) {
		if ((k[i] = EVP_EC_gen("P-256")) == NULL)
			die("EVP_EC_gen");
		siglen[i] = sizeof(sig[i]);
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k[i]) != 1 ||
		    EVP_DigestSign(md, sig[i], &siglen[i], msg, msglen) != 1)
			die("raw sign");
	}
	t0 = now_s();
	do {
		for (i = 0; i < 2; i++) {	/* owner and agent entries */
			if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
			    k[i]) != 1 || EVP_DigestVerify(md, sig[i],
			    siglen[i], msg, msglen) != 1)
				die("raw verify");
		}
		for (i = 0; i < 2; i++) {	/* WIT and WIC */
			unsigned char	s[80];
			size_t		sl = sizeof(s);

			if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
			    k[i]) != 1 || EVP_DigestSign(md, s, &sl, msg,
			    msglen) != 1)
				die("raw sign");
		}
		n++;
	} while ((n % 64) != 0 || (t = now_s() - t0) < secs);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k[0]);
	EVP_PKEY_free(k[1]);
	free(msg);
	return (double)n / t;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* The answered requests' values (>= 0) sorted to the front: how many. */
static size_t
answered_sorted(long *v, size_t n)
{
	size_t i, m;

	for (i = 0, m = 0; i < n; i++)
		if (v[i] >= 0)
			v[m++] = v[i];
	qsort(v, m, sizeof(*v), cmp_long);
	return m;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-server [-c CONNS] [-t SECONDS] [-n MAX] "
	    "-k OWNER.pem -O OWNER [-s SUB] [-L] DEV.json\n"
	    "  -L  one throughput round only (no raw loop, no paced phase)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char		*keypath = NULL, *ownerid = NULL;
	const char		*sub = "wimse://example.org/agents/bench";
	struct ob_token		*owner = NULL;
	struct ob_token_opts	 opts;
	json_t			*dev;
	json_error_t		 jerr;
	char			 uri[4200], dir[] = "/tmp/bench-server.XXXXXX";
	char			**body;
	size_t			*len, n = 2000, i, ok, late, total = 0, nenv;
	size_t			 off, chunk;
	long			*lat, *due;
	struct tally		 ta;
	double			 secs = 10, t, tr, issued, raw, rr;
	long long		 v;
	int			 ch, conns = 8, loadonly = 0, r, rounds;

	while ((ch = getopt(argc, argv, "c:t:n:k:O:s:L")) != -1) {
		switch (ch) {
		case 'L': loadonly = 1; break;
		case 'c':
			if (ob_parse_ll(optarg, 1, 1024, &v) != OB_OK)
				usage();
			conns = (int)v;
			break;
		case 't':
			if (ob_parse_ll(optarg, 1, 120, &v) != OB_OK)
				usage();
			secs = (double)v;
			break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'k': keypath = optarg; break;
		case 'O': ownerid = optarg; break;
		case 's': sub = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || keypath == NULL || ownerid == NULL ||
	    conns < 1 || conns > 1024 || n < 1 || n > 1000000 || secs <= 0 ||
	    secs > 120)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if ((dev = json_load_file(argv[optind], 0, &jerr)) == NULL)
		die("cannot read dev.json");
	if (sscanf(jstr(dev, "url"), "https://%63[0-9.]:%d", host, &port) != 2 ||
	    strncmp(host, "127.", 4) != 0 || port < 1 || port > 65535)
		die("url must be https://127.x.x.x:PORT (loopback only)");

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(ctx, jstr(dev, "tls_ca"), NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx,
	    jstr(dev, "client_cert")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, jstr(dev, "client_key"),
	    SSL_FILETYPE_PEM) != 1)
		die("TLS client setup");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	/* 2 x n envelopes before any timing. */
	memset(&opts, 0, sizeof(opts));
	opts.quiet = 1;
	snprintf(uri, sizeof(uri), "file:%s", keypath);
	if (ob_token_open(uri, &opts, &owner) != OB_OK)
		die("cannot open the owner key");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	nenv = loadonly ? n : 2 * n;
	if ((body = calloc(2 * n, sizeof(*body))) == NULL ||
	    (len = calloc(2 * n, sizeof(*len))) == NULL ||
	    (lat = calloc(n, sizeof(*lat))) == NULL ||
	    (due = calloc(n, sizeof(*due))) == NULL)
		die("calloc");
	t = now_s();
	for (i = 0; i < nenv; i++) {
		build_one(owner, dir, i, sub, jstr(dev, "aud"), ownerid,
		    &body[i], &len[i]);
		total += len[i];
	}
	rmdir(dir);
	ob_token_close(&owner);
	fprintf(stderr, "bench-server: built %zu envelopes (%zu bytes each) in "
	    "%.1f s\n", nenv, total / nenv, now_s() - t);

	conns_open(conns);

	/*
	 * Throughput, in rounds after a raw round each (-L: one round, no raw
	 * line), over the same connections.
	 */
	memset(&ta, 0, sizeof(ta));
	rounds = loadonly ? 1 : ROUNDS;
	t = raw = 0;
	for (r = 0, off = 0; r < rounds; r++, off += chunk) {
		chunk = n / (size_t)rounds + ((size_t)r < n % (size_t)rounds);
		rr = loadonly ? 0 : raw_rate(total / nenv, 1.0);
		raw += rr;
		tr = run(body + off, len + off, chunk, conns, secs / rounds, 0,
		    lat, NULL);
		t += tr;
		if (!loadonly)
			printf("round %d: issued=%.0f/s raw=%.0f/s\n", r + 1,
			    (double)job->status[201] / tr, rr);
		tally_add(&ta);
		free(job);
	}
	raw /= rounds;
	issued = (double)ta.status[201] / t;
	report_status("load", &ta);
	printf("load: %zu connections, %.1f s, issued=%.0f/s\n", (size_t)conns,
	    t, issued);
	fflush(stdout);
	if (loadonly)
		goto done;
	printf("issued=%.0f/s raw=%.0f/s ratio=%.2f\n", issued, raw,
	    issued / raw);

	/* Paced at half the measured throughput. */
	if (issued < 1)
		die("nothing issued; not running the paced phase");
	t = run(body + n, len + n, n, conns, secs, issued / 2, lat, due);
	memset(&ta, 0, sizeof(ta));
	tally_add(&ta);
	report_status("paced", &ta);
	for (i = 0, late = 0; i < n; i++)
		if (lat[i] >= 0 && due[i] - lat[i] > 1000)
			late++;
	ok = answered_sorted(lat, n);
	if (ok == 0 || answered_sorted(due, n) != ok)
		die("no answers in the paced phase");
	printf("paced at %.0f/s over %.1f s, %zu answers: p50=%ld p99=%ld\n",
	    issued / 2, t, ok, lat[ok / 2], lat[(ok * 99) / 100]);
	printf("paced from the due time: p50=%ld p99=%ld; %zu of %zu written "
	    "more than 1 ms late\n", due[ok / 2], due[(ok * 99) / 100], late, ok);
	free(job);
done:
	conns_close(conns);
	for (i = 0; i < 2 * n; i++)
		free(body[i]);
	free(body);
	free(len);
	free(lat);
	free(due);
	SSL_CTX_free(ctx);
	json_decref(dev);
	return 0;
}
