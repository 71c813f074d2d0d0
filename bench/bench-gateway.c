/*
 * bench-gateway: ownerbind-gateway under load (issue #15, acceptance 4).
 * bench/run-bench-gateway.sh sets it up; this program
 *
 *   1. serves the stub identity server the gateway forwards to (the
 *      service layer itself, answering 201 at once), so that the server's
 *      round trip is not measured;
 *   2. signs the gateway entry's signing input N times with the same HSM
 *      key directly (ob_token_sign, in process): the raw rate, on one
 *      session and on as many at once as the gateway may use
 *      (--raw-sessions, its hsm_queue.in_flight), the ratio's base;
 *   3. drives the gateway with C keep-alive mTLS connections (libcurl
 *      multi) for N requests: signed requests/s, and its ratio to 2;
 *      every request is a fresh envelope (a new jti, the agent's entry
 *      signed again with --agent-key), made before each measured phase,
 *      since the gateway signs an envelope once (decision 169);
 *   4. at half that rate, the latency of each request: p50 and p99;
 *   5. optionally S connections for T seconds (the soak), R times back to
 *      back: the statuses by class (only 2xx, 429 and 503 are acceptable)
 *      and the gateway's RSS and open files before and after each, so
 *      that growth (a leak) shows apart from memory kept for reuse.
 *
 * It prints what it measured; it asserts no time.
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "common/cliutil.h"
#include "core/b64url.h"
#include "core/envelope.h"
#include "core/err.h"
#include "service/svc.h"
#include "tokens/token.h"

struct opts {
	const char	*url, *ca, *cert, *key, *envelope, *key_uri, *agent_key;
	const char	*stub_listen, *stub_cert, *stub_key, *stub_ca, *stub_peer;
	long		 gw_pid;
	int		 n, conns, soak_conns, soak_s, soak_rounds;
	int		 raw_sessions;
};

static struct ob_svc	*stub;
static const char	*stub_err;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
h_stub(struct ob_svc_req *req, void *arg)
{
	json_t *o = arg;

	(void)ob_svc_reply_json(req, 201, o, NULL);
}

static void *
stub_main(void *arg)
{
	const struct opts	*o = arg;
	struct ob_svc_cfg	 c;
	struct ob_svc_peer	 peer;
	json_t			*resp;

	resp = json_pack("{s:s,s:s,s:i,s:{s:s}}", "wit", "stub", "wic",
	    "stub", "expires_at", 0, "owner", "id", "stub");
	memset(&c, 0, sizeof(c));
	memset(&peer, 0, sizeof(peer));
	peer.id = "gateway";
	peer.role = "gateway";
	peer.san_uri = o->stub_peer;
	c.name = "bench-stub";
	c.listen = o->stub_listen;
	c.tls.cert = o->stub_cert;
	c.tls.key = o->stub_key;
	c.tls.client_ca = o->stub_ca;
	c.peers = &peer;
	c.npeers = 1;
	c.limits.max_conns = 4096;
	c.limits.workers = 1;
	/* No line per answered request: the stub's CPU is the bench's. */
	if (ob_svc_new(&c, &stub) != OB_OK ||
	    ob_svc_set_log_level(stub, "warn") != OB_OK ||
	    ob_svc_route(stub, "POST", "/v1/credentials", NULL, 0, h_stub,
	    resp) != OB_OK || ob_svc_run(stub) != OB_OK)
		stub_err = ob_err_detail();
	json_decref(resp);
	return NULL;
}

/* One raw signer thread: its share of the signatures. */
struct raw_job {
	struct ob_token		*tok;
	const char		*tbs;
	size_t			 tbslen;
	int			 n, failed;
};

static void *
raw_thread(void *arg)
{
	struct raw_job		*j = arg;
	struct ob_approval	 what;
	unsigned char		*sig;
	size_t			 siglen;
	int			 i;

	memset(&what, 0, sizeof(what));
	what.role = "gateway";
	for (i = 0; i < j->n; i++) {
		if (ob_token_sign(j->tok, (const unsigned char *)j->tbs,
		    j->tbslen, &what, &sig, &siglen) != OB_OK) {
			fprintf(stderr, "raw sign: %s\n", ob_err_detail());
			j->failed = 1;
			break;
		}
		free(sig);
	}
	return NULL;
}

/*
 * 2: the raw rate of the same key over the same bytes, n signatures by
 * `threads` threads at once (the gateway's hsm_queue.in_flight: the
 * HSM's rate at the concurrency the gateway may use; 1: one session).
 */
static double
raw_rate(const struct opts *o, int n, int threads)
{
	struct raw_job		 jobs[64];
	pthread_t		 th[64];
	int			 started = 0;
	struct ob_token_opts	 to;
	struct ob_token		*tok = NULL;
	struct ob_envelope	*env = NULL;
	json_t			*ph = NULL, *x5c;
	char			*pb = NULL, *tbs = NULL, *buf = NULL;
	size_t			 len, tbslen;
	double			 t0, rate = 0;
	int			 i;

	memset(&to, 0, sizeof(to));
	to.quiet = 1;
	to.sessions = (size_t)(threads > 0 ? threads : 1);
	x5c = json_pack("[s]", "AAAA");
	if (ob_read_all(o->envelope, 65536, &buf, &len) != OB_OK ||
	    ob_envelope_parse(buf, len, 0, &env) != OB_OK ||
	    ob_token_open(o->key_uri, &to, &tok) != OB_OK ||
	    ob_protected_new(ob_token_alg(tok), "gw", OB_ROLE_GATEWAY,
	    OB_MODEL_OWNER_MEDIATED, time(NULL), NULL, x5c, &ph) != OB_OK ||
	    ob_protected_encode(ph, &pb) != OB_OK ||
	    ob_envelope_signing_input(env, pb, &tbs, &tbslen) != OB_OK) {
		fprintf(stderr, "raw: %s\n", ob_err_detail());
		goto out;
	}
	if (threads < 1 || threads > 64 ||
	    (threads > 1 && !ob_token_concurrent(tok))) {
		fprintf(stderr, "raw: %d threads on this key\n", threads);
		goto out;
	}
	t0 = now_s();
	for (i = 0; i < threads; i++) {
		jobs[i].tok = tok;
		jobs[i].tbs = tbs;
		jobs[i].tbslen = tbslen;
		jobs[i].n = n / threads + (i < n % threads);
		jobs[i].failed = 0;
		if (pthread_create(&th[i], NULL, raw_thread, &jobs[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].failed)
			started = -1;
	}
	if (started == threads)
		rate = (double)n / (now_s() - t0);
out:
	json_decref(x5c);
	json_decref(ph);
	ob_token_close(&tok);
	ob_envelope_free(&env);
	free(pb);
	free(tbs);
	free(buf);
	return rate;
}

struct conn {
	CURL	*h;
	double	 start;
	int	 busy;
	char	*body;		/* its request's, until it is done */
};

struct load {
	const struct opts	*o;
	json_t			*claims;	/* the template's */
	struct ob_token		*agent;
	char			**bodies;	/* fresh envelopes, unsent */
	size_t			*lens, nb, cap;
	struct curl_slist	*hdrs;
	unsigned long		 by_class[6], other, failed;
	unsigned long		 by_curle[CURL_LAST];	/* the failures' codes */
	double			*lat;
	size_t			 nlat, caplat;
};

static size_t
sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static CURL *
mkhandle(struct load *l)
{
	CURL *h = curl_easy_init();

	curl_easy_setopt(h, CURLOPT_URL, l->o->url);
	curl_easy_setopt(h, CURLOPT_CAINFO, l->o->ca);
	curl_easy_setopt(h, CURLOPT_SSLCERT, l->o->cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, l->o->key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	return h;
}

/* The template's agent, claims and key: for fresh envelopes. */
static int
bodies_init(struct load *l)
{
	struct ob_envelope	*env = NULL;
	struct ob_token_opts	 to;
	char			*buf = NULL, uri[4200];
	size_t			 len;
	int			 r;

	memset(&to, 0, sizeof(to));
	to.quiet = 1;
	snprintf(uri, sizeof(uri), "file:%s", l->o->agent_key);
	if ((r = ob_read_all(l->o->envelope, 65536, &buf, &len)) == OB_OK &&
	    (r = ob_envelope_parse(buf, len, 0, &env)) == OB_OK &&
	    (r = ob_token_open(uri, &to, &l->agent)) == OB_OK &&
	    (l->claims = json_deep_copy(env->payload_json)) == NULL)
		r = OB_ERR_ALLOC;
	ob_envelope_free(&env);
	free(buf);
	return r;
}

/* At least n fresh envelopes ready (made outside the measured time). */
static void
bodies_fill(struct load *l, size_t n)
{
	struct ob_envelope	*env = NULL;
	unsigned char		 rnd[16];
	long long		 now = (long long)time(NULL), ttl;
	char			*jti = NULL, *b;
	size_t			 len;

	ttl = json_integer_value(json_object_get(l->claims, "exp")) -
	    json_integer_value(json_object_get(l->claims, "iat"));
	if (n > l->cap) {
		l->bodies = realloc(l->bodies, n * sizeof(*l->bodies));
		l->lens = realloc(l->lens, n * sizeof(*l->lens));
		if (l->bodies == NULL || l->lens == NULL) {
			fprintf(stderr, "bench-gateway: out of memory\n");
			exit(1);
		}
		l->cap = n;
	}
	while (l->nb < n) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
		    ob_b64url_encode(rnd, sizeof(rnd), &jti) != OB_OK ||
		    json_object_set_new(l->claims, "jti", json_string(jti)) ||
		    json_object_set_new(l->claims, "iat", json_integer(now)) ||
		    json_object_set_new(l->claims, "exp",
		    json_integer(now + ttl)) ||
		    ob_envelope_new(l->claims, &env) != OB_OK ||
		    ob_token_sign_entry(l->agent, env, OB_ROLE_AGENT,
		    OB_MODEL_OWNER_MEDIATED, NULL, NULL, NULL, now) != OB_OK ||
		    ob_envelope_serialize(env, &b, &len) != OB_OK) {
			fprintf(stderr, "bench-gateway: envelope: %s\n",
			    ob_err_detail());
			exit(1);
		}
		l->bodies[l->nb] = b;
		l->lens[l->nb++] = len;
		ob_envelope_free(&env);
		free(jti);
		jti = NULL;
	}
}

/* The next fresh envelope, on c's handle (c owns it until done). */
static void
body_take(struct load *l, struct conn *c)
{
	if (l->nb == 0)
		bodies_fill(l, 256);	/* the soak's: in its time */
	c->body = l->bodies[--l->nb];
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE,
	    (long)l->lens[l->nb]);
}

/*
 * nconn keep-alive connections: a multi handle (whose cache keeps the
 * connections) and an easy handle per connection, kept across runs so
 * that a run after the first measures requests, not TLS handshakes.
 */
struct pool {
	CURLM		*m;
	struct conn	*c;
	int		 nconn;
};

static void
pool_init(struct pool *p, struct load *l, int nconn)
{
	int i;

	p->m = curl_multi_init();
	p->c = calloc((size_t)nconn, sizeof(*p->c));
	p->nconn = nconn;
	curl_multi_setopt(p->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)nconn);
	curl_multi_setopt(p->m, CURLMOPT_MAXCONNECTS, (long)nconn);
	for (i = 0; i < nconn; i++)
		p->c[i].h = mkhandle(l);
}

static void
pool_free(struct pool *p)
{
	int i;

	for (i = 0; i < p->nconn; i++) {
		curl_easy_cleanup(p->c[i].h);
		free(p->c[i].body);
	}
	free(p->c);
	curl_multi_cleanup(p->m);
}

/*
 * Run requests over the pool's connections until total are done
 * (total > 0) or seconds passed; interval > 0 paces the starts.
 */
static double
run(struct load *l, struct pool *p, long total, double seconds,
    double interval)
{
	CURLM		*m = p->m;
	struct conn	*c = p->c;
	CURLMsg		*msg;
	double		 t0 = now_s(), next = t0, t;
	long		 started = 0, done = 0, status;
	int		 i, running, left, freed, wait_ms, nconn = p->nconn;

	for (;;) {
		t = now_s();
		for (i = 0; i < nconn; i++) {
			if (c[i].busy || (total > 0 && started >= total) ||
			    (total == 0 && t - t0 >= seconds) ||
			    (interval > 0 && t < next))
				continue;
			c[i].busy = 1;
			body_take(l, &c[i]);
			c[i].start = now_s();	/* after making a body */
			curl_multi_add_handle(m, c[i].h);
			started++;
			next += interval;
		}
		curl_multi_perform(m, &running);
		freed = 0;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < nconn && c[i].h != msg->easy_handle; i++)
				;
			status = 0;
			if (msg->data.result != CURLE_OK) {
				l->failed++;
				if (msg->data.result < CURL_LAST)
					l->by_curle[msg->data.result]++;
			}
			else {
				curl_easy_getinfo(c[i].h, CURLINFO_RESPONSE_CODE,
				    &status);
				if (status >= 200 && status < 300)
					l->by_class[2]++;
				else if (status == 429)
					l->by_class[4]++;
				else if (status == 503)
					l->by_class[5]++;
				else
					l->other++;
			}
			if (l->nlat < l->caplat)
				l->lat[l->nlat++] = now_s() - c[i].start;
			curl_multi_remove_handle(m, c[i].h);
			free(c[i].body);
			c[i].body = NULL;
			c[i].busy = 0;
			done++;
			freed = 1;
		}
		if (done == started && ((total > 0 && done >= total) ||
		    (total == 0 && now_s() - t0 >= seconds)))
			break;
		/*
		 * A connection just freed starts its next request now, not
		 * after a poll that nothing may wake (the unpaced runs lost
		 * up to 10 ms per request there); a paced run waits for the
		 * next start at most.
		 */
		if (freed && interval <= 0)
			continue;
		wait_ms = 10;
		if (interval > 0) {
			t = (next - now_s()) * 1e3;
			wait_ms = t < 0 ? 0 : t < 1 ? 1 : (int)t;
		}
		curl_multi_poll(m, NULL, 0, wait_ms, NULL);
	}
	t = now_s() - t0;
	return (double)done / t;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The gateway's resident set (kB) and open files. */
static void
usage_of(long pid, long *rss, int *fds)
{
	char		 p[64], line[256];
	FILE		*f;
	DIR		*d;
	struct dirent	*e;

	*rss = -1;
	*fds = -1;
	snprintf(p, sizeof(p), "/proc/%ld/status", pid);
	if ((f = fopen(p, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "VmRSS:", 6) == 0)
				*rss = strtol(line + 6, NULL, 10);
		fclose(f);
	}
	snprintf(p, sizeof(p), "/proc/%ld/fd", pid);
	if ((d = opendir(p)) != NULL) {
		*fds = 0;
		while ((e = readdir(d)) != NULL)
			*fds += e->d_name[0] != '.';
		closedir(d);
	}
}

/* utime + stime of one process, in seconds; ppid set. */
static double
cpu_of(long pid, long *ppid)
{
	char		 p[64], buf[1024], *s;
	FILE		*f;
	unsigned long	 ut = 0, st = 0;
	int		 n;

	*ppid = -1;
	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	if ((f = fopen(p, "re")) == NULL)
		return 0;
	n = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	/* After the command's ")": state ppid ... utime(14) stime(15). */
	if (!n || (s = strrchr(buf, ')')) == NULL ||
	    sscanf(s + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    ppid, &ut, &st) != 3)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The gateway (first) and its descendants: the helper and its launcher. */
static size_t
tree_of(long gw, long *pids, size_t max)
{
	DIR		*d;
	struct dirent	*e;
	long		 pid, ppid;
	size_t		 na = 1, i, before;

	pids[0] = gw;
	/* Until nothing is added: a child may be listed before its parent. */
	do {
		before = na;
		if ((d = opendir("/proc")) == NULL)
			return na;
		while ((e = readdir(d)) != NULL) {
			if ((pid = strtol(e->d_name, NULL, 10)) <= 0)
				continue;
			for (i = 0; i < na && pids[i] != pid; i++)
				;
			if (i < na)
				continue;
			(void)cpu_of(pid, &ppid);
			for (i = 0; i < na && pids[i] != ppid; i++)
				;
			if (i < na && na < max)
				pids[na++] = pid;
		}
		closedir(d);
	} while (na != before);
	return na;
}

/* CPU seconds of the gateway (cpu[0]) and of its descendants (cpu[1]). */
static void
cpu_gateway(long gw, double cpu[2])
{
	long	pids[64], ppid;
	size_t	n, i;

	n = tree_of(gw, pids, 64);
	cpu[0] = cpu_of(gw, &ppid);
	cpu[1] = 0;
	for (i = 1; i < n; i++)
		cpu[1] += cpu_of(pids[i], &ppid);
}

/* Seconds the threads of pid waited for a CPU (run queue), summed. */
static double
runq_wait(long pid)
{
	char		 p[320];
	DIR		*d;
	struct dirent	*e;
	FILE		*f;
	unsigned long long	 run, wait;
	double		 sum = 0;

	snprintf(p, sizeof(p), "/proc/%ld/task", pid);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%ld/task/%s/schedstat", pid,
		    e->d_name);
		if ((f = fopen(p, "re")) == NULL)
			continue;
		if (fscanf(f, "%llu %llu", &run, &wait) == 2)
			sum += (double)wait / 1e9;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* Run-queue wait of the gateway, its descendants and this bench. */
static double
runq_all(long gw)
{
	long	pids[64];
	size_t	n, i;
	double	sum;

	n = tree_of(gw, pids, 64);
	sum = runq_wait((long)getpid());
	for (i = 0; i < n; i++)
		sum += runq_wait(pids[i]);
	return sum;
}

static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "gateway", required_argument, NULL, 'g' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "envelope", required_argument, NULL, 'e' },
		{ "agent-key", required_argument, NULL, 'E' },
		{ "key-uri", required_argument, NULL, 'u' },
		{ "stub-listen", required_argument, NULL, 'L' },
		{ "stub-cert", required_argument, NULL, 'C' },
		{ "stub-key", required_argument, NULL, 'K' },
		{ "stub-ca", required_argument, NULL, 'A' },
		{ "stub-peer", required_argument, NULL, 'P' },
		{ "gateway-pid", required_argument, NULL, 'p' },
		{ "soak-conns", required_argument, NULL, 's' },
		{ "soak-seconds", required_argument, NULL, 'S' },
		{ "soak-rounds", required_argument, NULL, 'R' },
		{ "raw-sessions", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts	 o;
	struct load	 l;
	struct pool	 pool;
	pthread_t	 th;
	double		 raw, rawn, gw, p50, p99, c0[2], c1[2], b0, b1, rawcpu, w0;
	long		 rss0, rss1;
	int		 ch, fd0, fd1, i, j;

	memset(&o, 0, sizeof(o));
	o.n = 2000;
	o.conns = 16;
	o.soak_rounds = 1;
	o.raw_sessions = 1;
	while ((ch = getopt_long(argc, argv, "n:t:", lo, NULL)) != -1) {
		switch (ch) {
		case 'g': o.url = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'e': o.envelope = optarg; break;
		case 'E': o.agent_key = optarg; break;
		case 'u': o.key_uri = optarg; break;
		case 'L': o.stub_listen = optarg; break;
		case 'C': o.stub_cert = optarg; break;
		case 'K': o.stub_key = optarg; break;
		case 'A': o.stub_ca = optarg; break;
		case 'P': o.stub_peer = optarg; break;
		case 'p': o.gw_pid = strtol(optarg, NULL, 10); break;
		case 's': o.soak_conns = (int)strtol(optarg, NULL, 10); break;
		case 'S': o.soak_s = (int)strtol(optarg, NULL, 10); break;
		case 'R': o.soak_rounds = (int)strtol(optarg, NULL, 10); break;
		case 'r': o.raw_sessions = (int)strtol(optarg, NULL, 10); break;
		case 'n': o.n = (int)strtol(optarg, NULL, 10); break;
		case 't': o.conns = (int)strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "see bench/run-bench-gateway.sh\n");
			return 2;
		}
	}
	if (o.url == NULL || o.envelope == NULL || o.key_uri == NULL ||
	    o.agent_key == NULL || o.stub_listen == NULL) {
		fprintf(stderr, "see bench/run-bench-gateway.sh\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_create(&th, NULL, stub_main, &o);
	sleep(1);
	if (stub_err != NULL) {
		fprintf(stderr, "stub: %s\n", stub_err);
		return 1;
	}
	memset(&l, 0, sizeof(l));
	l.o = &o;
	if (bodies_init(&l) != OB_OK) {
		fprintf(stderr, "bench-gateway: %s: %s\n", o.envelope,
		    ob_err_detail());
		return 1;
	}
	l.hdrs = curl_slist_append(NULL,
	    "Content-Type: application/jose+json");
	l.hdrs = curl_slist_append(l.hdrs, "Expect:");
	l.caplat = (size_t)o.n;
	l.lat = calloc(l.caplat, sizeof(*l.lat));

	b0 = cpu_self();
	raw = raw_rate(&o, o.n, 1);
	rawcpu = cpu_self() - b0;
	rawn = o.raw_sessions > 1 ? raw_rate(&o, o.n, o.raw_sessions) : raw;
	if (raw <= 0 || rawn <= 0)
		return 1;
	pool_init(&pool, &l, o.conns);
	bodies_fill(&l, 200);
	(void)run(&l, &pool, 200, 0, 0);	/* the connections' handshakes */
	bodies_fill(&l, (size_t)o.n);
	memset(l.by_class, 0, sizeof(l.by_class));
	l.nlat = 0;
	cpu_gateway(o.gw_pid, c0);
	b0 = cpu_self();
	gw = run(&l, &pool, o.n, 0, 0);
	b1 = cpu_self();
	cpu_gateway(o.gw_pid, c1);
	printf("raw HSM signatures/s (in process, 1 session): %.0f\n", raw);
	printf("raw HSM signatures/s (in process, %d sessions at once, the "
	    "gateway's hsm_queue.in_flight): %.0f\n", o.raw_sessions, rawn);
	printf("gateway signed requests/s (%d conns): %.0f  (2xx %lu, 503 %lu, "
	    "other %lu, failed %lu)\n", o.conns, gw, l.by_class[2],
	    l.by_class[5], l.other, l.failed);
	printf("ratio gateway/raw (%d sessions): %.2f  (target >= 0.7); "
	    "against 1 session: %.2f\n", o.raw_sessions, gw / rawn, gw / raw);
	printf("CPU per request: gateway %.0f us, its helper %.0f us, this "
	    "bench (clients, stub) %.0f us; raw: %.0f us per signature\n",
	    (c1[0] - c0[0]) * 1e6 / o.n, (c1[1] - c0[1]) * 1e6 / o.n,
	    (b1 - b0) * 1e6 / o.n, rawcpu * 1e6 / o.n);
	l.nlat = 0;
	memset(l.by_class, 0, sizeof(l.by_class));
	bodies_fill(&l, (size_t)o.n / 2);
	w0 = runq_all(o.gw_pid);
	(void)run(&l, &pool, o.n / 2, 0, 2.0 / gw);
	w0 = runq_all(o.gw_pid) - w0;
	pool_free(&pool);
	qsort(l.lat, l.nlat, sizeof(*l.lat), cmp);
	p50 = l.nlat ? l.lat[l.nlat / 2] : 0;
	p99 = l.nlat ? l.lat[(size_t)((double)l.nlat * 0.99)] : 0;
	printf("at half load (%.0f/s, %zu requests): p50 %.2f ms, p99 %.2f ms "
	    "(target < 5 ms)\n", gw / 2, l.nlat, p50 * 1e3, p99 * 1e3);
	printf("at half load: threads of the gateway, its helper and this "
	    "bench waited %.2f ms per request for a CPU (run queue)\n",
	    l.nlat ? w0 * 1e3 / (double)l.nlat : 0);
	for (i = 0; o.soak_conns > 0 && i < o.soak_rounds; i++) {
		usage_of(o.gw_pid, &rss0, &fd0);
		memset(l.by_class, 0, sizeof(l.by_class));
		memset(l.by_curle, 0, sizeof(l.by_curle));
		l.other = l.failed = 0;
		l.nlat = 0;
		pool_init(&pool, &l, o.soak_conns);
		gw = run(&l, &pool, 0, o.soak_s, 0);
		pool_free(&pool);
		sleep(2);
		usage_of(o.gw_pid, &rss1, &fd1);
		printf("soak %d (%d conns, %d s): gateway RSS %ld kB -> %ld kB, "
		    "open files %d -> %d\n", i + 1, o.soak_conns, o.soak_s,
		    rss0, rss1, fd0, fd1);
		printf("soak %d conns %d s: %.0f req/s; 2xx %lu, 429 %lu, 503 "
		    "%lu, other %lu, transport failures %lu\n", o.soak_conns,
		    o.soak_s, gw, l.by_class[2], l.by_class[4], l.by_class[5],
		    l.other, l.failed);
		for (j = 0; j < CURL_LAST; j++)
			if (l.by_curle[j] != 0)
				printf("  transport failures: %lu \"%s\"\n",
				    l.by_curle[j], curl_easy_strerror((CURLcode)j));
		fflush(stdout);
	}
	kill(getpid(), SIGTERM);
	pthread_join(th, NULL);
	ob_svc_free(&stub);
	curl_slist_free_all(l.hdrs);
	free(l.lat);
	while (l.nb > 0)
		free(l.bodies[--l.nb]);
	free(l.bodies);
	free(l.lens);
	json_decref(l.claims);
	ob_token_close(&l.agent);
	return 0;
}
