/*
 * The service layer's insides, shared by svc.c (loop, requests, replies,
 * workers), svc_tls.c (TLS contexts, peers) and svc_obs.c (log, metrics,
 * health).  Everything here runs on the loop thread unless it says so.
 */
#ifndef OB_SERVICE_SVC_INT_H
#define OB_SERVICE_SVC_INT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "service/svc.h"
#include "service/svc_peer_pool.h"

#define SVC_MAX_ROUTES	32
#define SVC_MAX_STATUS	16	/* distinct statuses counted per route */
#define SVC_NBUCKETS	14
#define SVC_WAKE_KEYS	256	/* ob_svc_wake keys pending */

struct svc_park;
struct ob_svc_conns;

struct svc_stats {
	struct {
		int		status;
		uint64_t	n;
	}		st[SVC_MAX_STATUS];
	size_t		nst;
	uint64_t	bucket[SVC_NBUCKETS];	/* cumulative at output */
	uint64_t	count;
	uint64_t	sum_us;
};

struct svc_route {
	char		*method, *path, *ctype, *label;
	int		 on_worker;
	int		 public;	/* served without a mapped peer */
	int		 secret;	/* its handle is a bearer secret */
	ob_svc_handler	 fn;
	void		*arg;
	struct svc_stats stats;
};

struct svc_hdr {
	char	*name, *value;
};

/* One TLS connection; lives as long as its SSL (freed by ex_data). */
struct svc_conn {
	struct ob_svc		*svc;
	struct bufferevent	*bev;
	struct event		*deadline;	/* headers, idle */
	int			 busy;		/* a request awaits its reply */
	int			 seen;		/* peer looked up */
	unsigned		 gen;		/* ... in this peers_gen */
	int			 over;		/* over max_conns: refuse */
	int			 shed;		/* refused as load: log only */
	int			 hello;		/* a ClientHello arrived */
	int			 tls_done;	/* handshake completed */
	int			 timed_out;	/* the deadline fired */
	int			 graced;	/* ... late or with bytes unread: once */
	const char		*hs_state;	/* OpenSSL's, when it fired in a
						 * handshake (a static string) */
	struct timespec		 armed;		/* when the deadline was set */
	int			 rx;		/* bytes read since the last reply */
	int			 ours;		/* our reply is being written */
	int			 alerted;	/* first alert we sent, or 0 */
	long			 verify;	/* verify result at that alert */
	int			 had_cert;	/* a client certificate by then */
	char			 addr[64];	/* the client's, at the handshake */
	const struct ob_svc_peer *peer;		/* or NULL: unmapped */
	char			 sha[65];
};

struct ob_svc_req {
	struct ob_svc		*svc;
	struct evhttp_request	*ev;
	struct svc_route	*route;		/* NULL: none matched */
	char			 id[17];
	const char		*method;
	char			*path, *query, *body;
	char			*log_path;	/* path as logged, or NULL */
	size_t			 bodylen;
	struct svc_hdr		*hdrs;
	size_t			 nhdrs;
	const struct ob_svc_peer *peer;
	char			 sha[65];
	char			 ip[64];	/* the client's address */
	unsigned char		*chain;		/* cert_optional: DER, or NULL */
	size_t			 chainlen;
	struct timespec		 start;
	/* the reply, staged by any thread, sent by the loop */
	int			 replied;
	int			 status;
	char			*rbody;
	size_t			 rlen;
	char			*rctype;
	int			 page;		/* a browser page: its headers */
	int			 retry_after;
	const char		*allow;
	int			 code;		/* internal, for the log */
	char			*detail;
	struct ob_svc_req	*next;
};

struct ob_svc {
	char			*name;
	struct ob_svc_limits	 lim;
	int			 backstop_s;	/* evhttp's inactivity timeout */
	const struct ob_svc_peer **peers;	/* into pool; loop thread */
	size_t			 npeers;
	unsigned		 peers_gen;	/* ob_svc_set_peers calls */
	struct svc_peer_pool	 pool;		/* every peer, until freed */
	char			*cert, *key, *ca;
	int			 cert_optional;	/* tls.client_cert_optional */
	int			 has_public;	/* a public route: others need a peer */
	struct event_base	*base;
	struct evhttp		*http, *mhttp;
	struct ob_svc_conns	*mconns;	/* the metrics listener's */
	struct evhttp_bound_socket *bound, *mbound;
	int			 port, mport;
	SSL_CTX			*ctx;
	struct event		*sig_term, *sig_int, *sig_hup, *done_ev;
	struct event		*drain_timer;
	pthread_t		 loop_thread;
	struct svc_route	 routes[SVC_MAX_ROUTES];
	size_t			 nroutes;
	struct svc_stats	 other;		/* requests that matched no route */
	struct {
		int	(*fn)(void *);
		void	*arg;
	}			 reload[8];
	size_t			 nreload;
	ob_svc_refusal_fn	 refusal_fn;	/* or NULL */
	void			*refusal_arg;
	ob_svc_conn_refusal_fn	 conn_refusal_fn; /* or NULL (and at free) */
	void			*conn_refusal_arg;
	ob_svc_health_fn	 health_fn;	/* or NULL */
	void			*health_arg;
	ob_svc_metrics_fn	 metrics_fn;	/* or NULL */
	void			*metrics_arg;
	/* counters (loop thread) */
	int			 nconns;
	int			 inflight;	/* dispatched, not replied */
	int			 sending;	/* replied, not written out */
	int			 draining;
	uint64_t		 reloads_ok, reloads_failed, conns_refused;
	uint64_t		 deadlines_graced;	/* svc_tls.c: server_behind */
	struct svc_park		*parked;	/* svc_park.c: long-polls */
	size_t			 nparked;
	struct event		*wake_ev;	/* svc_park.c: keys to wake */
	int			 log_min;	/* svc_obs.c: atomic, a level's
						 * index in its names */
	/* worker pool; mu guards everything below */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		*threads;
	int			 nthreads;
	int			 stop;
	struct ob_svc_req	*qhead, *qtail;	/* waiting for a worker */
	int			 qlen;
	struct ob_svc_req	*dhead, *dtail;	/* replied, to send */
	/* svc_park.c: keys woken by other threads, taken by the loop */
	char			*wake_keys[SVC_WAKE_KEYS];
	size_t			 nwake;
	int			 wake_all;	/* more keys than fit */
};

/* svc_tls.c */
int svc_tls_init(void);
int svc_tls_ctx_new(const struct ob_svc *svc, SSL_CTX **out);
struct bufferevent *svc_tls_bevcb(struct event_base *base, void *arg);
struct svc_conn *svc_tls_conn(struct evhttp_request *ev);
void svc_tls_conn_arm(struct svc_conn *c);
/* svc.c: a fresh request id (16 hex digits). */
void svc_req_id(char id[17]);
/* Report a refusal below HTTP to the daemon and the log. */
void svc_conn_refused(struct svc_conn *c, int status, int code,
    const char *detail);
void svc_tls_peer_lookup(struct svc_conn *c);
/* The client's certificates as DER, its own first; *der NULL for none. */
int svc_tls_peer_chain(struct svc_conn *c, unsigned char **der,
    size_t *len);

/* svc.c: free a request that will never be answered (ob_svc_free). */
void svc_req_free(struct ob_svc_req *req);

/* svc_park.c */
int svc_park_init(struct ob_svc *svc);
/* SIGTERM: every parked request's fn with OB_SVC_PARK_DRAIN. */
void svc_park_drain(struct ob_svc *svc);
/* ob_svc_free: parked requests freed unanswered, the event, the keys. */
void svc_park_free(struct ob_svc *svc);

/* svc_obs.c */
void svc_log_event(const struct ob_svc *svc, const char *level,
    const char *event, int code, const char *detail);
void svc_log_request(struct ob_svc_req *req, uint64_t us);
void svc_log_conn(const struct ob_svc *svc,
    const struct ob_svc_conn_event *ev);
void svc_stats_add(struct svc_stats *s, int status, uint64_t us);
void svc_obs_cb(struct evhttp_request *ev, void *arg);

#endif
