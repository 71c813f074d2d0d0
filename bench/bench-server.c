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
 * Throughput phase: CONNS threads, each one keep-alive mutual-TLS
 * connection (OpenSSL directly), POST /v1/credentials back to back until
 * MAX requests or SECONDS.  The HTTP/1.1 client is minimal: one request at
 * a time per connection, responses must carry Content-Length (no chunked
 * encoding), a "Connection: close" answer or a dropped connection makes
 * the thread reconnect.  issued/s counts 201 answers over the phase's
 * wall time.
 *
 * Raw: the cryptography one credential needs, on one thread: two ECDSA
 * P-256 verifications (owner and agent entries) and two ECDSA P-256
 * signatures (WIT and WIC) with EVP_DigestSign/EVP_DigestVerify over
 * messages of envelope size, keys parsed in advance.  ratio = issued/raw
 * (run the server with limits.workers 1 for a per-core comparison).
 *
 * Paced phase: the same connections, request i sent at t0 + i/rate with
 * rate = issued/2, for at most SECONDS and MAX requests; the latency of a
 * request runs from writing it to reading its whole answer.  Prints
 * p50 and p99 in microseconds.  -L stops after the throughput phase
 * (for tests/server/soak.sh).  Never run by the tests.
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
};

static char		 host[64];
static int		 port;
static SSL_CTX		*ctx;
static struct job	*job;

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

static void *
worker(void *arg)
{
	struct job	*j = job;
	SSL		*ssl = NULL;
	char		*buf, hdr[256];
	size_t		 i;
	double		 t1;
	int		 hl, st, keep;

	(void)arg;
	if ((buf = malloc(RBUF)) == NULL)
		die("malloc");
	for (;;) {
		i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		if (j->rate > 0)
			sleep_until(j->t0 + (double)i / j->rate);
		if (now_s() >= j->deadline)
			break;
		if (ssl == NULL && (ssl = conn_open()) == NULL) {
			atomic_fetch_add(&j->neterr, 1);
			continue;
		}
		hl = snprintf(hdr, sizeof(hdr), "POST /v1/credentials HTTP/1.1"
		    "\r\nHost: %s:%d\r\nContent-Type: application/jose+json\r\n"
		    "Content-Length: %zu\r\n\r\n", host, port, j->len[i]);
		t1 = now_s();
		if (write_all(ssl, hdr, (size_t)hl) != 0 ||
		    write_all(ssl, j->body[i], j->len[i]) != 0 ||
		    (st = read_resp(ssl, buf, &keep)) < 0) {
			atomic_fetch_add(&j->neterr, 1);
			conn_close(&ssl);
			continue;
		}
		j->lat_us[i] = (long)((now_s() - t1) * 1e6);
		atomic_fetch_add(&j->status[st], 1);
		if (!keep)
			conn_close(&ssl);
	}
	conn_close(&ssl);
	free(buf);
	return NULL;
}

static double
run(char **body, size_t *len, size_t n, int conns, double secs, double rate,
    long *lat)
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
	for (size_t i = 0; i < n; i++)
		lat[i] = -1;
	job->t0 = now_s();
	job->deadline = job->t0 + secs;
	for (k = 0; k < conns; k++)
		if (pthread_create(&th[k], NULL, worker, NULL) != 0)
			die("pthread_create");
	for (k = 0; k < conns; k++)
		pthread_join(th[k], NULL);
	t = now_s() - job->t0;
	free(th);
	return t;
}

static void
report_status(const char *phase)
{
	int st;

	printf("%s: status", phase);
	for (st = 100; st < 600; st++)
		if (job->status[st] > 0)
			printf(" %d=%lu", st, (unsigned long)job->status[st]);
	printf(" neterr=%lu\n", (unsigned long)job->neterr);
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

static void
usage(void)
{
	fprintf(stderr, "usage: bench-server [-c CONNS] [-t SECONDS] [-n MAX] "
	    "-k OWNER.pem -O OWNER [-s SUB] [-L] DEV.json\n"
	    "  -L  throughput phase only (no raw loop, no paced phase)\n");
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
	size_t			*len, n = 2000, i, ok, m, total = 0, nenv;
	long			*lat;
	double			 secs = 10, t, issued, raw;
	long long		 v;
	int			 ch, conns = 8, loadonly = 0;

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
	    (lat = calloc(n, sizeof(*lat))) == NULL)
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

	/* Throughput. */
	t = run(body, len, n, conns, secs, 0, lat);
	issued = (double)job->status[201] / t;
	report_status("load");
	printf("load: %zu connections, %.1f s, issued=%.0f/s\n", (size_t)conns,
	    t, issued);
	fflush(stdout);
	free(job);
	if (loadonly)
		goto done;
	raw = raw_rate(total / nenv, 3.0);
	printf("issued=%.0f/s raw=%.0f/s ratio=%.2f\n", issued, raw,
	    issued / raw);

	/* Paced at half the measured throughput. */
	if (issued < 1)
		die("nothing issued; not running the paced phase");
	t = run(body + n, len + n, n, conns, secs, issued / 2, lat);
	report_status("paced");
	for (i = 0, m = 0; i < n; i++)
		if (lat[i] >= 0)
			lat[m++] = lat[i];
	qsort(lat, m, sizeof(*lat), cmp_long);
	ok = m;
	if (ok == 0)
		die("no answers in the paced phase");
	printf("paced at %.0f/s over %.1f s, %zu answers: p50=%ld p99=%ld\n",
	    issued / 2, t, ok, lat[ok / 2], lat[(ok * 99) / 100]);
	free(job);
done:
	for (i = 0; i < 2 * n; i++)
		free(body[i]);
	free(body);
	free(len);
	free(lat);
	SSL_CTX_free(ctx);
	json_decref(dev);
	return 0;
}
