/*
 * ownerbind-signer's core (signer.h): keys, the message handler, the
 * signature log, and the two ways of being reached (a socketpair the
 * daemon passed, or a unix socket of its own).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alg.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/jwk.h"
#include "server/rate.h"
#include "signer/shape.h"
#include "signer/signer.h"
#include "tokens/pin.h"
#include "tokens/token.h"

#define HELPER_NAME	"ownerbind-signer"
#define MAX_CONNS	16
#define SIGN_SESSIONS	4	/* a PKCS#11 key's sessions */

struct sd_key {
	const struct ob_signer_keycfg	*cfg;
	struct ob_pin_source		*pin;
	struct ob_token			*tok;
	enum ob_alg			 alg;
	unsigned			 purposes;	/* OB_SP_BIT()s */
	unsigned char			*ca_subject;	/* issuer keys, DER */
	size_t				 ca_subject_len;
	unsigned char			*spki;
	size_t				 spkilen;
	struct ob_rate_table		*rate;
	pthread_mutex_t			 mu;		/* the token, unless
							   concurrent */
	int				 mu_init;
};

struct ob_signerd {
	struct sd_key	*keys;
	size_t		 nkeys;
	FILE		*log;
	long long	(*now)(void);
	pthread_mutex_t	 mu;		/* counters, connections */
	pthread_cond_t	 cv;		/* a connection ended */
	uint64_t	 nsigned, nrefused;
	int		 nconns;
	int		 conns[MAX_CONNS];	/* their sockets, -1: free */
	int		 timeout_ms;	/* --listen's deadlines; 0: none */
};

static long long
real_now(void)
{
	return (long long)time(NULL);
}

/* ---- the log ---- */

/* The time of a line, RFC 3339 UTC with microseconds. */
static void
line_ts(char buf[40])
{
	struct timespec	 ts;
	struct tm	 tm;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	if (strftime(buf, 24, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		buf[0] = '\0';
	snprintf(buf + strlen(buf), 40 - strlen(buf), ".%06ldZ",
	    ts.tv_nsec / 1000);
}

static json_t *
line_new(const char *level, const char *event)
{
	char		 buf[40];
	json_t		*o;

	line_ts(buf);
	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "ts", json_string(buf));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "svc", json_string(HELPER_NAME));
	json_object_set_new(o, "event", json_string(event));
	return o;
}

/* Strings from the peer may be anything: set only what is valid UTF-8. */
static void
line_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, k, json_string(v));
}

/* One line, one write: stderr is unbuffered and shared with the daemon. */
static void
log_write(const struct ob_signerd *sd, const void *p, size_t n)
{
	(void)fwrite(p, 1, n, sd->log);
	fflush(sd->log);
}

static void
line_put(const struct ob_signerd *sd, json_t *o)
{
	char	*s, *l;
	size_t	 n;

	if (o == NULL)
		return;
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL) {
		n = strlen(s);
		if ((l = realloc(s, n + 2)) != NULL) {
			s = l;
			s[n] = '\n';
			s[n + 1] = '\0';
			log_write(sd, s, n + 1);
		}
		free(s);
	}
	json_decref(o);
}

static void
log_event(const struct ob_signerd *sd, const char *level, const char *event,
    int code, const char *detail)
{
	json_t *o;

	if ((o = line_new(level, event)) == NULL)
		return;
	if (code != OB_OK)
		line_str(o, "code", ob_err_name(code));
	line_str(o, "detail", detail);
	line_put(sd, o);
}

/* What a SIGN asked for: the fields of its "sign" or "refuse" line. */
struct sign_ctx {
	const struct ob_signerd_conn	*conn;
	const struct ob_sp_req		*req;
	char				 sha[65];
	char				 what[OB_SHAPE_WHAT];
};

/*
 * The length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF), 0 if there is none: what jansson's
 * json_string accepts.
 */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned	c = s[0], n, i, v;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	v = c & (0x3f >> (n - 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (n == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	return n;
}

/* Append; a failure taints b, which is then not written (log_sign). */
static void
wr(struct ob_wr *b, const void *p, size_t n)
{
	if (ob_wr_bytes(b, p, n) != OB_OK)
		return;
}

/*
 * ,"k":"v" into b as jansson writes a string member (quote, backslash
 * and control characters escaped, UTF-8 as it is); nothing when v is
 * NULL, empty or not UTF-8 (line_str's rule).
 */
static void
fmt_str(struct ob_wr *b, const char *k, const char *v)
{
	static const char	 x[] = "0123456789ABCDEF";
	const unsigned char	*p;
	size_t			 n;
	char			 e[6];

	if (v == NULL || *v == '\0')
		return;
	for (p = (const unsigned char *)v; *p != '\0'; p += n)
		if ((n = utf8_seq(p)) == 0)
			return;
	wr(b, ",\"", 2);
	wr(b, k, strlen(k));
	wr(b, "\":\"", 3);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		e[0] = '\\';
		n = 2;
		switch (*p) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			if (*p >= 0x20) {
				e[0] = (char)*p;
				n = 1;
				break;
			}
			memcpy(e + 1, "u00", 3);
			e[4] = x[*p >> 4];
			e[5] = x[*p & 15];
			n = 6;
		}
		wr(b, e, n);
	}
	wr(b, "\"", 1);
}

/*
 * A SIGN's line, formatted here rather than built as a jansson object and
 * dumped (that cost about 45k instructions a signature, 6% of the
 * helper's work; docs/benchmarks.md round 4): the same members in the
 * same order, the same text.
 */
static void
log_sign(struct ob_signerd *sd, const struct sign_ctx *x, int code,
    struct ob_wr *lb)
{
	struct ob_wr	b;
	char		ts[40], n[48];

	pthread_mutex_lock(&sd->mu);
	if (code == OB_OK)
		sd->nsigned++;
	else
		sd->nrefused++;
	pthread_mutex_unlock(&sd->mu);
	line_ts(ts);
	ob_wr_init_heap(&b, 16384);
	wr(&b, "{\"ts\":\"", 7);
	wr(&b, ts, strlen(ts));
	wr(&b, "\"", 1);
	fmt_str(&b, "level", code == OB_OK ? "info" : "warn");
	fmt_str(&b, "svc", HELPER_NAME);
	fmt_str(&b, "event", code == OB_OK ? "sign" : "refuse");
	fmt_str(&b, "key", x->req->name);
	fmt_str(&b, "purpose", ob_sp_purpose_name(x->req->purpose));
	fmt_str(&b, "for", x->req->for_whom);
	fmt_str(&b, "client", x->conn->client);
	fmt_str(&b, "peer", x->conn->peer);
	fmt_str(&b, "sha256", x->sha);
	(void)snprintf(n, sizeof(n), ",\"bytes\":%zu", x->req->inputlen);
	wr(&b, n, strlen(n));
	if (code == OB_OK)
		fmt_str(&b, "signed", x->what);
	else {
		fmt_str(&b, "code", ob_err_name(code));
		fmt_str(&b, "detail", ob_err_detail());
	}
	wr(&b, "}\n", 2);
	/* A line cut short by a failed append is not written at all: the
	 * jansson path would not have written it either. */
	if (ob_wr_err(&b) == OB_OK) {
		if (lb == NULL || ob_wr_bytes(lb, ob_wr_ptr(&b),
		    ob_wr_len(&b)) != OB_OK)
			log_write(sd, ob_wr_ptr(&b), ob_wr_len(&b));
	}
	ob_wr_free(&b);
}

/* ---- keys ---- */

static int
load_ca(struct sd_key *k)
{
	EVP_PKEY	*capub = NULL;
	X509		*ca = NULL;
	FILE		*f;
	int		 n, r;

	if ((f = fopen(k->cfg->ca, "re")) == NULL)
		return ob_errf(OB_ERR_SIGNER_CONFIG, "%s: %s", k->cfg->ca,
		    strerror(errno));
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	r = OB_ERR_SIGNER_CONFIG;
	if (ca == NULL) {
		r = ob_errf(r, "%s: no PEM certificate", k->cfg->ca);
		goto out;
	}
	/* Only the CA this key is the key of may be named as the issuer. */
	if ((capub = X509_get_pubkey(ca)) == NULL ||
	    !ob_pkey_equal(capub, ob_token_pubkey(k->tok))) {
		r = ob_errf(r, "%s does not hold the key of %s", k->cfg->ca,
		    k->cfg->name);
		goto out;
	}
	if (X509_check_ca(ca) == 0) {
		r = ob_errf(r, "%s is not a CA certificate", k->cfg->ca);
		goto out;
	}
	/* As DER: the shape check compares the TBS's issuer byte for byte. */
	if ((n = i2d_X509_NAME(X509_get_subject_name(ca), &k->ca_subject)) <=
	    0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	k->ca_subject_len = (size_t)n;
	r = OB_OK;
out:
	EVP_PKEY_free(capub);
	X509_free(ca);
	return r;
}

static int
key_open(struct sd_key *k, const struct ob_signer_keycfg *cfg)
{
	struct ob_token_opts	 o;
	struct ob_rate		 rate;
	unsigned char		*der = NULL;
	int			 n, r;

	k->cfg = cfg;
	if (pthread_mutex_init(&k->mu, NULL) != 0)
		return OB_ERR_ALLOC;
	k->mu_init = 1;
	if (cfg->pin_source != NULL)
		OB_TRY(ob_pin_source_parse(cfg->pin_source, &k->pin));
	memset(&o, 0, sizeof(o));
	o.pin = k->pin;
	o.quiet = 1;
	/* Connections' workers sign at once, each on its own session. */
	o.sessions = SIGN_SESSIONS;
	if ((r = ob_token_open(cfg->uri, &o, &k->tok)) != OB_OK) {
		r = ob_err_prefix(r, "key %s", cfg->name);
		goto out;
	}
	k->alg = ob_token_alg(k->tok);
	if (ob_alg_is_webauthn(k->alg)) {
		r = ob_errf(OB_ERR_SIGNER_CONFIG, "key %s: a FIDO2 key signs "
		    "only assertions", cfg->name);
		goto out;
	}
	if (ob_token_set_check_every(k->tok, cfg->verify_every) != OB_OK) {
		r = ob_errf(OB_ERR_SIGNER_CONFIG, "key %s: verify_every %u: "
		    "only ECDSA keys may skip checks (a faulty %s signature "
		    "can give the key away)", cfg->name, cfg->verify_every,
		    ob_alg_name(k->alg));
		goto out;
	}
	if (cfg->role == OB_SIGNER_ISSUER) {
		k->purposes = OB_SP_BIT(OB_SP_WIT) | OB_SP_BIT(OB_SP_WIC_TBS);
		OB_TRY(load_ca(k));
	} else
		k->purposes = OB_SP_BIT(OB_SP_GATEWAY_ENTRY);
	if ((n = i2d_PUBKEY(ob_token_pubkey(k->tok), &der)) <= 0 ||
	    (size_t)n > OB_SP_MAX_SPKI) {
		r = ob_errf(OB_ERR_KEY_TYPE, "key %s: public key encoding",
		    cfg->name);
		goto out;
	}
	if ((k->spki = malloc((size_t)n)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(k->spki, der, (size_t)n);
	k->spkilen = (size_t)n;
	rate.per_second = cfg->per_second;
	rate.burst = cfg->burst;
	r = ob_rate_new(&rate, &k->rate);
out:
	OPENSSL_free(der);
	return r;
}

static void
key_close(struct sd_key *k)
{
	ob_token_close(&k->tok);
	ob_pin_source_free(&k->pin);
	OPENSSL_free(k->ca_subject);
	free(k->spki);
	ob_rate_free(&k->rate);
	if (k->mu_init)
		(void)pthread_mutex_destroy(&k->mu);
}

int
ob_signerd_new(const struct ob_signer_config *cfg, FILE *log,
    struct ob_signerd **out)
{
	struct ob_signerd	*sd;
	size_t			 i;
	int			 r;

	if ((sd = calloc(1, sizeof(*sd))) == NULL)
		return OB_ERR_ALLOC;
	sd->log = log;
	sd->now = real_now;
	for (i = 0; i < MAX_CONNS; i++)
		sd->conns[i] = -1;
	if (pthread_mutex_init(&sd->mu, NULL) != 0) {
		free(sd);
		return OB_ERR_ALLOC;
	}
	if (pthread_cond_init(&sd->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&sd->mu);
		free(sd);
		return OB_ERR_ALLOC;
	}
	if ((sd->keys = calloc(cfg->nkeys, sizeof(*sd->keys))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < cfg->nkeys; i++) {
		sd->nkeys = i + 1;
		OB_TRY(key_open(&sd->keys[i], &cfg->keys[i]));
	}
	*out = sd;
	sd = NULL;
	r = OB_OK;
out:
	ob_signerd_free(&sd);
	return r;
}

void
ob_signerd_free(struct ob_signerd **sdp)
{
	struct ob_signerd	*sd;
	size_t			 i;

	if (sdp == NULL || (sd = *sdp) == NULL)
		return;
	for (i = 0; i < sd->nkeys; i++)
		key_close(&sd->keys[i]);
	free(sd->keys);
	(void)pthread_mutex_destroy(&sd->mu);
	(void)pthread_cond_destroy(&sd->cv);
	free(sd);
	*sdp = NULL;
}

void
ob_signerd_set_clock(struct ob_signerd *sd, long long (*now)(void))
{
	sd->now = now != NULL ? now : real_now;
}

static struct sd_key *
key_find(struct ob_signerd *sd, const char *name)
{
	size_t i;

	for (i = 0; i < sd->nkeys; i++)
		if (strcmp(sd->keys[i].cfg->name, name) == 0)
			return &sd->keys[i];
	return NULL;
}

/* ---- messages ---- */

/* The checks of a SIGN, in order; then the signature. */
static int
do_sign(struct ob_signerd *sd, struct sd_key *k, struct sign_ctx *x,
    unsigned char **sig, size_t *siglen)
{
	const struct ob_sp_req	*q = x->req;
	struct ob_shape_key	 sk;
	struct ob_approval	 what;
	int			 r;

	if ((k->purposes & OB_SP_BIT(q->purpose)) == 0)
		return ob_errf(OB_ERR_SIGNER_PURPOSE, "key %s (%s) does not "
		    "sign %s", k->cfg->name, k->cfg->role == OB_SIGNER_ISSUER ?
		    "issuer" : "gateway", ob_sp_purpose_name(q->purpose));
	memset(&sk, 0, sizeof(sk));
	sk.alg = k->alg;
	sk.kid = ob_token_kid(k->tok);
	sk.ca_subject = k->ca_subject;
	sk.ca_subject_len = k->ca_subject_len;
	sk.gateway_id = k->cfg->gateway_id;
	sk.max_lifetime = k->cfg->max_lifetime;
	sk.max_skew = k->cfg->max_skew;
	sk.now = sd->now();
	switch (q->purpose) {
	case OB_SP_WIT:
		r = ob_shape_wit(&sk, q->input, q->inputlen, x->what);
		break;
	case OB_SP_WIC_TBS:
		r = ob_shape_wic_tbs(&sk, q->input, q->inputlen, x->what);
		break;
	default:
		r = ob_shape_gateway_entry(&sk, q->input, q->inputlen,
		    x->what);
		break;
	}
	if (r != OB_OK)
		return r;
	/* Counted only for what would be signed: refusals cost nothing. */
	if (ob_rate_take(k->rate, k->cfg->name) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_RATE, "key %s: over %g/s",
		    k->cfg->name, k->cfg->per_second);
	memset(&what, 0, sizeof(what));
	what.role = ob_sp_purpose_name(q->purpose);
	if (ob_token_concurrent(k->tok))
		return ob_token_sign(k->tok, q->input, q->inputlen, &what, sig,
		    siglen);
	pthread_mutex_lock(&k->mu);
	r = ob_token_sign(k->tok, q->input, q->inputlen, &what, sig, siglen);
	pthread_mutex_unlock(&k->mu);
	return r;
}

static int
on_sign(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const struct ob_sp_req *q, struct ob_wr *w, struct ob_wr *lb)
{
	struct sign_ctx	 x;
	struct sd_key	*k;
	unsigned char	 h[32], *sig = NULL;
	size_t		 siglen = 0;
	int		 r, st;

	memset(&x, 0, sizeof(x));
	x.conn = c;
	x.req = q;
	if (ob_sha256(q->input, q->inputlen, h) == OB_OK)
		(void)ob_bin_to_hex(h, sizeof(h), x.sha, sizeof(x.sha));
	ob_err_clear();
	if ((k = key_find(sd, q->name)) == NULL)
		st = ob_errf(OB_ERR_SIGNER_KEY, "no key \"%s\"", q->name);
	else
		st = do_sign(sd, k, &x, &sig, &siglen);
	log_sign(sd, &x, st, lb);
	if (st == OB_OK && siglen <= OB_SP_MAX_SIG)
		r = ob_sp_put_sign_ok(w, c->version, q->id, sig, siglen);
	else
		r = ob_sp_put_status(w, c->version, q->type, q->id,
		    st != OB_OK ? st : OB_ERR_SIG_FORMAT, ob_err_detail());
	free(sig);
	return r;
}

static int
on_pubkey(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const struct ob_sp_req *q, struct ob_wr *w)
{
	struct sd_key *k;

	if ((k = key_find(sd, q->name)) == NULL)
		return ob_sp_put_status(w, c->version, q->type, q->id,
		    OB_ERR_SIGNER_KEY, "no such key");
	return ob_sp_put_pubkey_ok(w, c->version, q->id, ob_alg_name(k->alg),
	    ob_token_kind(k->tok), ob_token_kid(k->tok), (uint8_t)k->purposes,
	    k->spki, k->spkilen);
}

static int
on_hello(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const struct ob_sp_req *q, struct ob_wr *w, int *end)
{
	char d[160];

	if (q->vmin > OB_SP_VERSION || q->vmax < OB_SP_VERSION) {
		snprintf(d, sizeof(d), "%s offers versions %u..%u, this "
		    "helper speaks %d", q->name, q->vmin, q->vmax,
		    OB_SP_VERSION);
		log_event(sd, "warn", "hello", OB_ERR_SIGNER_VERSION, d);
		*end = 1;
		return ob_sp_put_status(w, OB_SP_VERSION, q->type, q->id,
		    OB_ERR_SIGNER_VERSION, d);
	}
	c->greeted = 1;
	c->version = OB_SP_VERSION;
	memcpy(c->client, q->name, sizeof(c->client));
	snprintf(d, sizeof(d), "%s (%s), version %d", q->name, c->peer,
	    OB_SP_VERSION);
	log_event(sd, "info", "hello", OB_OK, d);
	return ob_sp_put_hello_ok(w, q->id, OB_SP_VERSION, HELPER_NAME);
}

int
ob_signerd_handle(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const uint8_t *body, size_t len, struct ob_wr *w, int *end)
{
	return ob_signerd_handle_log(sd, c, body, len, w, NULL, end);
}

int
ob_signerd_handle_log(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const uint8_t *body, size_t len, struct ob_wr *w, struct ob_wr *lb,
    int *end)
{
	struct ob_sp_req	*q;
	uint64_t		 ns, nr;
	uint32_t		 id = 0;
	char			 det[OB_SP_MAX_DETAIL + 1];
	char			 d[OB_SP_MAX_DETAIL + 80];
	int			 r, st;

	*end = 0;
	/* Holds a 513-byte string and more: not for the stack of a thread. */
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return OB_ERR_ALLOC;
	ob_err_clear();
	st = ob_sp_req_parse(body, len, c->greeted ? c->version :
	    OB_SP_VERSION, q, &id);
	if (st == OB_OK && !c->greeted && q->type != OB_SP_HELLO)
		st = ob_errf(OB_ERR_SIGNER_PROTOCOL, "HELLO must come first");
	else if (st == OB_OK && c->greeted && q->type == OB_SP_HELLO)
		st = ob_errf(OB_ERR_SIGNER_PROTOCOL, "a second HELLO");
	if (st != OB_OK) {
		/* The stream is not what this helper speaks: end it. */
		snprintf(det, sizeof(det), "%s", ob_err_detail());
		snprintf(d, sizeof(d), "%s: %s", c->peer, det);
		log_event(sd, "warn", "protocol", st, d);
		pthread_mutex_lock(&sd->mu);
		sd->nrefused++;
		pthread_mutex_unlock(&sd->mu);
		*end = 1;
		r = ob_sp_put_status(w, c->greeted ? c->version : OB_SP_VERSION,
		    OB_SP_ERROR, id, st, det);
		goto out;
	}
	switch (q->type) {
	case OB_SP_HELLO:
		r = on_hello(sd, c, q, w, end);
		break;
	case OB_SP_PUBKEY:
		r = on_pubkey(sd, c, q, w);
		break;
	case OB_SP_SIGN:
		r = on_sign(sd, c, q, w, lb);
		break;
	default:
		pthread_mutex_lock(&sd->mu);
		ns = sd->nsigned;
		nr = sd->nrefused;
		pthread_mutex_unlock(&sd->mu);
		r = ob_sp_put_health_ok(w, c->version, q->id,
		    (uint8_t)sd->nkeys, ns, nr);
		break;
	}
out:
	free(q);
	return r;
}

/* ---- being reached ---- */

/* A last frame before a connection ends: if it cannot go, nothing can. */
static void
send_last(int fd, const struct ob_wr *w)
{
	if (ob_sp_write_all(fd, 1000, ob_wr_ptr(w), ob_wr_len(w)) != OB_OK)
		return;
}

/*
 * One connection, served by up to CONN_WORKERS threads alike.  A worker
 * takes the next whole frame from the connection's buffer, or reads for
 * all when the buffer holds none and no one else reads (what the socket
 * holds, at most RBUF_SIZE bytes: several frames in one read); frames
 * are taken in order.  Until HELLO is answered a worker answers its frame
 * before the next is taken (the state HELLO sets is read by every later
 * message); after it the connection's state does not change and frames
 * are answered concurrently, each reply appended to the output as it is
 * done, so replies may leave out of order.  The worker that finds no one
 * writing writes what is pending, everyone's, in one write: first the
 * log lines of the SIGNs answered (one write to the log), then their
 * replies (one write to the socket).  A reply and its line are appended
 * together, so no signature leaves before its line is on the log.
 */
#define CONN_WORKERS	4
#define RBUF_SIZE	(2 * (OB_SP_MAX_MSG + 4))
#define LOG_BATCH	(64 * 1024)	/* pending log lines, bytes */

struct sconn {
	struct ob_signerd	*sd;
	int			 fd;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* a frame or the end */
	struct ob_signerd_conn	 c;		/* changed only under mu */
	int			 reading, writing, end, busy, rc;
	uint8_t			 rbuf[RBUF_SIZE];
	size_t			 rlen, roff;
	long long		 since_ms;	/* HELLO or a frame began */
	struct ob_wr		 out;		/* replies not yet written */
	struct ob_wr		 log;		/* their log lines */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Under mu: the next whole frame's body into in, or 0 (none, or the end). */
static int
take_frame(struct sconn *k, uint8_t *in, size_t *len)
{
	struct ob_wr	w;
	uint32_t	n;
	char		d[64];

	if (k->rlen - k->roff < 4)
		return 0;
	n = be32(k->rbuf + k->roff);
	if (n == 0 || n > OB_SP_MAX_MSG) {
		/* An impossible length: say so, then end. */
		snprintf(d, sizeof(d), "frame of %u bytes (1..%d)", n,
		    OB_SP_MAX_MSG);
		log_event(k->sd, "warn", "protocol", OB_ERR_SIGNER_PROTOCOL,
		    d);
		ob_wr_init_heap(&w, 1024);
		if (ob_sp_put_status(&w, OB_SP_VERSION, OB_SP_ERROR, 0,
		    OB_ERR_SIGNER_PROTOCOL, d) == OB_OK &&
		    ob_wr_bytes(&k->out, ob_wr_ptr(&w), ob_wr_len(&w)) !=
		    OB_OK)
			k->rc = OB_ERR_ALLOC;
		ob_wr_free(&w);
		k->end = 1;
		/* A worker blocked in read wakes up (SHUT_RD: the reply
		 * still goes). */
		(void)shutdown(k->fd, SHUT_RD);
		return 0;
	}
	if (k->rlen - k->roff - 4 < n)
		return 0;
	memcpy(in, k->rbuf + k->roff + 4, n);
	k->roff += 4 + (size_t)n;
	*len = n;
	return 1;
}

/*
 * Under mu, with a deadline (--listen): 1 if the connection's HELLO or
 * the frame it began is overdue, after waiting (mu released) until
 * there is something to read or the deadline.  An idle connection after
 * HELLO, with no frame begun, has none.
 */
static int
overdue(struct sconn *k)
{
	struct pollfd	pfd;
	long long	left;
	int		n;

	if (k->sd->timeout_ms <= 0 || (k->c.greeted && k->rlen == 0))
		return 0;
	/* Past the deadline, what already waits in the socket is still
	 * taken: the four workers may have kept the reader from it. */
	if ((left = k->since_ms + k->sd->timeout_ms - ob_sp_mono_ms()) < 0)
		left = 0;
	pfd.fd = k->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	pthread_mutex_unlock(&k->mu);
	do
		n = poll(&pfd, 1, (int)left);
	while (n < 0 && errno == EINTR);
	pthread_mutex_lock(&k->mu);
	return n == 0;	/* else readable, or read says why */
}

/* Under mu: the frame or HELLO did not come in time; say so, then end. */
static void
cut_overdue(struct sconn *k)
{
	struct ob_wr	w;
	char		d[96];

	snprintf(d, sizeof(d), "%s not complete within %d s", k->c.greeted ?
	    "a frame" : "HELLO", k->sd->timeout_ms / 1000);
	log_event(k->sd, "warn", "protocol", OB_ERR_SIGNER_PROTOCOL, d);
	ob_wr_init_heap(&w, 1024);
	if (ob_sp_put_status(&w, OB_SP_VERSION, OB_SP_ERROR, 0,
	    OB_ERR_SIGNER_PROTOCOL, d) == OB_OK &&
	    ob_wr_bytes(&k->out, ob_wr_ptr(&w), ob_wr_len(&w)) != OB_OK)
		k->rc = OB_ERR_ALLOC;
	ob_wr_free(&w);
	k->end = 1;
	pthread_cond_broadcast(&k->cv);
}

/* Under mu, as the reader: more bytes, mu released meanwhile. */
static void
read_more(struct sconn *k)
{
	ssize_t n;

	if (k->roff > 0) {
		memmove(k->rbuf, k->rbuf + k->roff, k->rlen - k->roff);
		k->rlen -= k->roff;
		k->roff = 0;
	}
	k->reading = 1;
	if (overdue(k)) {
		k->reading = 0;
		cut_overdue(k);
		return;
	}
	pthread_mutex_unlock(&k->mu);
	do
		n = read(k->fd, k->rbuf + k->rlen, sizeof(k->rbuf) - k->rlen);
	while (n < 0 && errno == EINTR);
	pthread_mutex_lock(&k->mu);
	k->reading = 0;
	/* A frame begins with the first byte after the last whole one (the
	 * HELLO's time runs from the connection's start). */
	if (n > 0 && k->rlen == 0 && k->c.greeted)
		k->since_ms = ob_sp_mono_ms();
	if (n > 0)
		k->rlen += (size_t)n;
	else {
		/* The end of the stream inside a frame is an end too. */
		if (n < 0)
			k->rc = ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "read: %s",
			    strerror(errno));
		k->end = 1;
	}
	pthread_cond_broadcast(&k->cv);
}

/* Under mu: write what is pending unless another worker does. */
static void
flush_out(struct sconn *k)
{
	struct ob_wr	w, l;
	int		r;

	if (k->writing)
		return;
	k->writing = 1;
	while (ob_wr_len(&k->out) > 0 || ob_wr_len(&k->log) > 0) {
		w = k->out;
		l = k->log;
		ob_wr_init_heap(&k->out, (size_t)CONN_WORKERS *
		    (OB_SP_MAX_MSG + 4) + 1024);
		ob_wr_init_heap(&k->log, LOG_BATCH);
		pthread_mutex_unlock(&k->mu);
		/* The lines first: then the signatures they log. */
		if (ob_wr_len(&l) > 0)
			log_write(k->sd, ob_wr_ptr(&l), ob_wr_len(&l));
		ob_wr_free(&l);
		/* --listen: a peer that reads no replies is cut. */
		r = ob_wr_len(&w) == 0 ? OB_OK : ob_sp_write_all(k->fd,
		    k->sd->timeout_ms > 0 ? k->sd->timeout_ms : -1,
		    ob_wr_ptr(&w), ob_wr_len(&w));
		ob_wr_free(&w);
		pthread_mutex_lock(&k->mu);
		if (r != OB_OK) {
			k->rc = r;
			k->end = 1;
			pthread_cond_broadcast(&k->cv);
		}
	}
	k->writing = 0;
}

static void *
sconn_worker(void *v)
{
	struct sconn	*k = v;
	struct ob_wr	 w, lw;
	uint8_t		*in;
	size_t		 len;
	int		 end, r, serial;

	if ((in = malloc(OB_SP_MAX_MSG)) == NULL) {
		pthread_mutex_lock(&k->mu);
		k->busy--;
		pthread_cond_broadcast(&k->cv);
		pthread_mutex_unlock(&k->mu);
		return NULL;
	}
	pthread_mutex_lock(&k->mu);
	while (!k->end) {
		if (!take_frame(k, in, &len)) {
			if (k->end)
				break;
			if (!k->reading)
				read_more(k);
			else
				pthread_cond_wait(&k->cv, &k->mu);
			continue;
		}
		/* Before HELLO's answer the next frame waits for this one. */
		serial = !k->c.greeted;
		if (!serial)
			pthread_mutex_unlock(&k->mu);
		ob_wr_init_heap(&w, OB_SP_MAX_MSG + 4);
		ob_wr_init_heap(&lw, LOG_BATCH);
		r = ob_signerd_handle_log(k->sd, &k->c, in, len, &w, &lw,
		    &end);
		if (!serial)
			pthread_mutex_lock(&k->mu);
		/* The line whatever becomes of the reply; never after it. */
		if (ob_wr_len(&lw) > 0 && ob_wr_bytes(&k->log, ob_wr_ptr(&lw),
		    ob_wr_len(&lw)) != OB_OK)
			log_write(k->sd, ob_wr_ptr(&lw), ob_wr_len(&lw));
		if (r != OB_OK || ob_wr_bytes(&k->out, ob_wr_ptr(&w),
		    ob_wr_len(&w)) != OB_OK)
			end = 1;
		ob_wr_free(&lw);
		ob_wr_free(&w);
		if (end) {
			/* Nothing more is read; what is pending still goes. */
			k->end = 1;
			(void)shutdown(k->fd, SHUT_RD);
			pthread_cond_broadcast(&k->cv);
		}
		flush_out(k);
	}
	flush_out(k);
	k->busy--;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	free(in);
	return NULL;
}

int
ob_signerd_serve(struct ob_signerd *sd, int fd, const char *peer)
{
	struct sconn	*k;
	pthread_t	 t[CONN_WORKERS];
	int		 i, n = 0, r;

	/* Holds 139 kB of buffer: not for the stack of a thread. */
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return OB_ERR_ALLOC;
	k->sd = sd;
	k->fd = fd;
	k->since_ms = ob_sp_mono_ms();
	(void)snprintf(k->c.peer, sizeof(k->c.peer), "%s", peer);
	ob_wr_init_heap(&k->out, (size_t)CONN_WORKERS * (OB_SP_MAX_MSG + 4) +
	    1024);
	ob_wr_init_heap(&k->log, LOG_BATCH);
	if (pthread_mutex_init(&k->mu, NULL) != 0) {
		free(k);
		return OB_ERR_ALLOC;
	}
	if (pthread_cond_init(&k->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&k->mu);
		free(k);
		return OB_ERR_ALLOC;
	}
	pthread_mutex_lock(&k->mu);
	k->busy = 1;
	for (i = 1; i < CONN_WORKERS; i++) {
		/* Fewer workers if threads run out: one is enough. */
		if (pthread_create(&t[n], NULL, sconn_worker, k) != 0)
			break;
		n++;
		k->busy++;
	}
	pthread_mutex_unlock(&k->mu);
	(void)sconn_worker(k);
	for (i = 0; i < n; i++)
		(void)pthread_join(t[i], NULL);
	/* Ended here: the peer sees the end now, whoever closes the fd. */
	(void)shutdown(fd, SHUT_RDWR);
	r = k->rc;
	ob_wr_free(&k->out);
	ob_wr_free(&k->log);
	(void)pthread_mutex_destroy(&k->mu);
	(void)pthread_cond_destroy(&k->cv);
	free(k);
	return r;
}

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

struct conn_arg {
	struct ob_signerd	*sd;
	int			 fd, slot;
	char			 peer[64];
};

static void *
conn_main(void *v)
{
	struct conn_arg		*a = v;
	struct ob_signerd	*sd = a->sd;
	int			 r;

	if ((r = ob_signerd_serve(sd, a->fd, a->peer)) != OB_OK)
		log_event(sd, "warn", "connection", r, a->peer);
	/* The last touch of sd: ob_signerd_listen waits for it. */
	pthread_mutex_lock(&sd->mu);
	sd->conns[a->slot] = -1;
	sd->nconns--;
	pthread_cond_broadcast(&sd->cv);
	pthread_mutex_unlock(&sd->mu);
	close(a->fd);
	free(a);
	return NULL;
}

static int
uid_allowed(const struct ob_signer_config *cfg, uid_t uid)
{
	size_t i;

	if (cfg->nuids == 0)
		return uid == geteuid();
	for (i = 0; i < cfg->nuids; i++)
		if (cfg->uids[i] == uid)
			return 1;
	return 0;
}

/* Refuse a connection with one ERROR frame, then close it. */
static void
refuse_conn(struct ob_signerd *sd, int fd, int code, const char *detail)
{
	struct ob_wr w;

	log_event(sd, "warn", "refuse", code, detail);
	ob_wr_init_heap(&w, 1024);
	if (ob_sp_put_status(&w, OB_SP_VERSION, OB_SP_ERROR, 0, code,
	    detail) == OB_OK)
		send_last(fd, &w);
	ob_wr_free(&w);
	close(fd);
}

static int
listen_socket(const char *path, int *out)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	char			 tmp[sizeof(sa.sun_path)];
	mode_t			 old;
	int			 fd;

	/* Bound and listening under a temporary name, then renamed: once
	 * the path exists a client can connect (no ECONNREFUSED between
	 * bind and listen). */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return ob_errf(OB_ERR_IO, "%s: path too long for a socket",
		    path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return ob_errf(OB_ERR_IO, "%s exists and is not a socket",
		    path);
	if (lstat(tmp, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return ob_errf(OB_ERR_IO, "%s exists and is not a "
			    "socket", tmp);
		(void)unlink(tmp);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ob_errf(OB_ERR_IO, "socket: %s", strerror(errno));
	/* Created 0600: no window in which another user could connect. */
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		close(fd);
		return ob_errf(OB_ERR_IO, "%s: bind: %s", tmp,
		    strerror(errno));
	}
	umask(old);
	if (chmod(tmp, 0600) != 0 || listen(fd, MAX_CONNS) != 0 ||
	    rename(tmp, path) != 0) {
		close(fd);
		(void)unlink(tmp);
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	}
	*out = fd;
	return OB_OK;
}

int
ob_signerd_listen(struct ob_signerd *sd, const struct ob_signer_config *cfg,
    const char *path)
{
	struct sigaction	 sa;
	struct ucred		 cr;
	struct pollfd		 pfd;
	sigset_t		 stop_set, old_set;
	struct conn_arg		*a;
	pthread_attr_t		 attr;
	pthread_t		 t;
	socklen_t		 crlen;
	char			 d[128];
	int			 lfd = -1, fd, r, slot, i;

	if ((r = listen_socket(path, &lfd)) != OB_OK)
		return r;
	/* A daemon's socketpair has no deadline; these peers have. */
	sd->timeout_ms = cfg->timeout_s * 1000;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: accept returns */
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	/*
	 * SIGTERM and SIGINT are blocked here and so in every thread this
	 * one starts; only ppoll below takes them.  Otherwise one could land
	 * on a connection's thread, or between the check of stopping and
	 * the wait, and the loop would wait for ever.
	 */
	(void)sigemptyset(&stop_set);
	(void)sigaddset(&stop_set, SIGTERM);
	(void)sigaddset(&stop_set, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &stop_set, &old_set);
	(void)fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	snprintf(d, sizeof(d), "listening on %s", path);
	log_event(sd, "info", "ready", OB_OK, d);
	while (!stopping) {
		pfd.fd = lfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, &old_set) < 0) {
			if (errno == EINTR)
				continue;
			r = ob_errf(OB_ERR_IO, "poll: %s", strerror(errno));
			break;
		}
		/* accept4 takes NULL for an address it need not return;
		 * cppcheck's gnu.cfg says otherwise. */
		/* cppcheck-suppress nullPointer */
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			r = ob_errf(OB_ERR_IO, "accept: %s", strerror(errno));
			break;
		}
		crlen = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
		    !uid_allowed(cfg, cr.uid)) {
			snprintf(d, sizeof(d), "uid %ld pid %ld may not "
			    "connect", crlen == sizeof(cr) ? (long)cr.uid : -1L,
			    crlen == sizeof(cr) ? (long)cr.pid : -1L);
			refuse_conn(sd, fd, OB_ERR_SIGNER_PEER, d);
			continue;
		}
		pthread_mutex_lock(&sd->mu);
		for (slot = 0; slot < MAX_CONNS && sd->conns[slot] >= 0;
		    slot++)
			;
		if (slot < MAX_CONNS) {
			sd->conns[slot] = fd;
			sd->nconns++;
		}
		pthread_mutex_unlock(&sd->mu);
		if (slot == MAX_CONNS) {
			refuse_conn(sd, fd, OB_ERR_SIGNER_UNAVAILABLE, "too "
			    "many connections");
			continue;
		}
		if ((a = calloc(1, sizeof(*a))) == NULL) {
			r = OB_ERR_ALLOC;
			pthread_mutex_lock(&sd->mu);
			sd->conns[slot] = -1;
			sd->nconns--;
			pthread_mutex_unlock(&sd->mu);
			close(fd);
			break;
		}
		a->sd = sd;
		a->fd = fd;
		a->slot = slot;
		snprintf(a->peer, sizeof(a->peer), "uid %ld pid %ld",
		    (long)cr.uid, (long)cr.pid);
		if (pthread_create(&t, &attr, conn_main, a) != 0) {
			pthread_mutex_lock(&sd->mu);
			sd->conns[slot] = -1;
			sd->nconns--;
			pthread_mutex_unlock(&sd->mu);
			free(a);
			refuse_conn(sd, fd, OB_ERR_SIGNER_UNAVAILABLE, "no "
			    "thread for the connection");
		}
	}
	(void)pthread_attr_destroy(&attr);
	close(lfd);
	(void)unlink(path);
	/* End the connections and wait for their threads: the keys go next. */
	pthread_mutex_lock(&sd->mu);
	for (i = 0; i < MAX_CONNS; i++)
		if (sd->conns[i] >= 0)
			(void)shutdown(sd->conns[i], SHUT_RDWR);
	while (sd->nconns > 0)
		pthread_cond_wait(&sd->cv, &sd->mu);
	pthread_mutex_unlock(&sd->mu);
	(void)pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	return stopping ? OB_OK : r;
}
