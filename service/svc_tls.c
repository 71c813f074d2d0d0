/*
 * TLS for the service: the SSL_CTX (rebuilt whole on SIGHUP), one SSL
 * bufferevent per accepted connection, the connection limit, the header
 * and idle deadline, and the mapping of a verified client certificate to
 * a configured peer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "service/svc_int.h"
#include "core/err.h"
#include "core/hex.h"

static int conn_idx = -1;

/* The client's address as "a.b.c.d:port" / "[v6]:port", kept when the
 * handshake starts (at the end the socket is already closed). */
static void
peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 h[INET6_ADDRSTRLEN] = "";

	snprintf(buf, len, "-");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		if (inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h)) != NULL)
			snprintf(buf, len, "%s:%u", h, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		if (inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h)) != NULL)
			snprintf(buf, len, "[%s]:%u", h, ntohs(a->sin6_port));
	}
}

void
svc_conn_refused(struct svc_conn *c, int status, int code,
    const char *detail)
{
	struct ob_svc_conn_event	ev;
	char				id[17];

	svc_req_id(id);
	memset(&ev, 0, sizeof(ev));
	ev.request_id = id;
	ev.status = status;
	ev.code = code;
	ev.detail = detail;
	ev.addr = c->addr[0] != '\0' ? c->addr : "-";
	ev.peer_id = c->peer != NULL ? c->peer->id : NULL;
	ev.cert_sha256 = c->sha;
	svc_log_conn(c->svc, &ev);
	if (status != 0)
		svc_stats_add(&c->svc->other, status, 0);
	if (c->svc->conn_refusal_fn != NULL && !c->shed)
		c->svc->conn_refusal_fn(&ev, c->svc->conn_refusal_arg);
}

/* OpenSSL 3.0 has no name for TLS 1.3's certificate_required (116). */
static const char *
alert_name(int desc)
{
	if (desc == 116)
		return "certificate required";
	return SSL_alert_desc_string_long(desc);
}

/* At the connection's end: a handshake that never completed, or a
 * request cut at its deadline, is a refusal to report. */
static void
conn_report(struct svc_conn *c, SSL *ssl)
{
	char	d[256];

	if (!c->tls_done) {
		if (c->over && c->hello) {
			/* Load shedding: logged and counted, not handed to
			 * the daemon (an fsync'd record per refused
			 * connection would feed the overload). */
			c->shed = 1;
			svc_conn_refused(c, 0, OB_ERR_SVC_UNAVAILABLE,
			    "connection over limits.max_conns");
		} else if (c->alerted != 0) {
			snprintf(d, sizeof(d), "TLS handshake failed: sent "
			    "alert \"%s\"; client certificate: %s",
			    alert_name(c->alerted), c->verify != X509_V_OK ?
			    X509_verify_cert_error_string(c->verify) :
			    c->had_cert ? "valid" : "none presented");
			svc_conn_refused(c, 0, OB_ERR_SVC_HANDSHAKE, d);
		} else if (c->timed_out && c->hello) {
			/* Whose turn it was: OpenSSL's state names it. */
			snprintf(d, sizeof(d), "TLS handshake not complete by "
			    "the deadline (at: %s)", c->hs_state != NULL ?
			    c->hs_state : "unknown");
			svc_conn_refused(c, 0, OB_ERR_SVC_TIMEOUT, d);
		}
		/* else: closed (or idle) before a ClientHello: nothing
		 * was asked, nothing decided */
	} else if (c->timed_out && c->rx) {
		svc_conn_refused(c, 408, OB_ERR_SVC_TIMEOUT, "request not "
		    "complete by the deadline (limits.timeout_s)");
	}
	(void)ssl;
}

/* ex_data free: the SSL is freed with its bufferevent, so is the conn. */
static void
conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct svc_conn *c = ptr;

	(void)ad; (void)idx; (void)argl; (void)argp;
	if (c == NULL)
		return;
	conn_report(c, parent);
	if (c->deadline != NULL)
		event_free(c->deadline);
	c->svc->nconns--;
	free(c);
}

int
svc_tls_init(void)
{
	if (conn_idx < 0)
		conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
	return conn_idx < 0 ? ob_errf(OB_ERR_CRYPTO, "SSL_get_ex_new_index") :
	    OB_OK;
}

/* The handshake's end, and the first alert we send before it. */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct svc_conn *c = SSL_get_ex_data(ssl, conn_idx);

	if (c == NULL)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && c->addr[0] == '\0')
		peer_addr(SSL_get_fd(ssl), c->addr, sizeof(c->addr));
	if (where & SSL_CB_HANDSHAKE_DONE)
		c->tls_done = 1;
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) &&
	    !c->tls_done && c->alerted == 0) {
		c->alerted = ret & 0xff;
		c->verify = SSL_get_verify_result(ssl);
		c->had_cert = SSL_get0_peer_certificate(ssl) != NULL;
	}
}

/* Bytes arrived: a deadline after this cuts a request, not an idle
 * connection. */
static void
input_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct svc_conn *c = arg;

	(void)b;
	if (info->n_added > 0)
		c->rx = 1;
}

/*
 * A status line written by libevent, not by us (c->ours), is one of its
 * refusals of a request it could not read: malformed (400) or over a
 * limit (413).  The line starts where this write began.
 */
static void
output_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct svc_conn		*c = arg;
	struct evbuffer_ptr	 pos;
	char			 line[13];
	int			 status;

	if (info->n_added < 12 || c->ours ||
	    evbuffer_ptr_set(b, &pos, info->orig_size, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(b, &pos, line, 12) != 12)
		return;
	line[12] = '\0';
	if (strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
	    sscanf(line + 9, "%3d", &status) != 1 || status < 400)
		return;
	if (status == 413)
		svc_conn_refused(c, status, OB_ERR_SVC_TOO_LARGE, "libevent "
		    "refused the request: headers or body over the limit");
	else
		svc_conn_refused(c, status, OB_ERR_SVC_BAD_REQUEST, "libevent "
		    "refused the request: malformed request line or headers");
}

/* Refuse a handshake over the connection limit before any key exchange. */
static int
hello_cb(SSL *ssl, int *al, void *arg)
{
	struct svc_conn *c = SSL_get_ex_data(ssl, conn_idx);

	(void)arg;
	if (c != NULL)
		c->hello = 1;
	if (c == NULL || c->over) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int
tls_errf(const char *what, const char *path)
{
	char		 buf[256] = "";
	unsigned long	 e;

	if ((e = ERR_peek_last_error()) != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ob_errf(OB_ERR_SVC_TLS, "%s %s: %s", what, path, buf);
}

int
svc_tls_ctx_new(const struct ob_svc *svc, SSL_CTX **out)
{
	static const unsigned char sid[] = "ownerbind-svc";
	STACK_OF(X509_NAME)	*names = NULL;
	SSL_CTX			*ctx = NULL;
	int			 r;

	*out = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		r = ob_errf(OB_ERR_CRYPTO, "SSL_CTX_new");
		goto out;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A client that drops the TCP connection without close_notify is
	 * not an error worth a log line; renegotiation is never needed. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx,
	    "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
		r = tls_errf("cipher list", "");
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, svc->cert) != 1) {
		r = tls_errf("certificate", svc->cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, svc->key, SSL_FILETYPE_PEM) !=
	    1 || SSL_CTX_check_private_key(ctx) != 1) {
		r = tls_errf("key", svc->key);
		goto out;
	}
	if (SSL_CTX_load_verify_locations(ctx, svc->ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(svc->ca)) == NULL) {
		r = tls_errf("client CA", svc->ca);
		goto out;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	names = NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (svc->cert_optional ? 0 :
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT), NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1) {
		r = tls_errf("session id context", "");
		goto out;
	}
	SSL_CTX_set_client_hello_cb(ctx, hello_cb, NULL);
	SSL_CTX_set_info_callback(ctx, info_cb);
	*out = ctx;
	ctx = NULL;
	r = OB_OK;
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return r;
}

/*
 * Did the server, not the client, use up the deadline?  The event loop ran
 * this callback late (it was busy with other connections, or stopped), or
 * the client's bytes wait unread in the kernel (more connections were
 * ready than one pass of the loop takes).  A slowloris client is read as
 * it sends, so neither holds for it on a loop that keeps up.
 */
static int
server_behind(const struct svc_conn *c)
{
	struct timespec	now;
	double		late;
	char		b;
	int		fd;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	late = (double)(now.tv_sec - c->armed.tv_sec) +
	    (double)(now.tv_nsec - c->armed.tv_nsec) / 1e9 -
	    (double)c->svc->lim.timeout_s;
	if (late > (double)c->svc->lim.timeout_s / 4)
		return 1;
	fd = bufferevent_getfd(c->bev);
	return fd >= 0 && recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

/*
 * Headers not complete (or the connection idle) by the deadline: fail the
 * connection the way evhttp's own read timeout does.  A slowloris client
 * resets evhttp's inactivity timeout with every byte; not this one.
 */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct svc_conn *c = arg;

	(void)fd; (void)what;
	if (c->busy)
		return;
	if (!c->graced && server_behind(c)) {
		/* Our delay, not the client's: one more period, no more. */
		struct timeval tv = { c->svc->lim.timeout_s, 0 };
		struct timeval bs = { c->svc->backstop_s, 0 };

		c->graced = 1;
		c->svc->deadlines_graced++;
		(void)evtimer_add(c->deadline, &tv);
		/* evhttp's backstop counts from the last read or write: when
		 * this ran more than a second late, it would expire before
		 * the period just given and free the connection unlogged.
		 * Restart it from now, behind the deadline again. */
		(void)bufferevent_set_timeouts(c->bev, &bs, &bs);
		return;
	}
	c->timed_out = 1;
	if (!c->tls_done) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		c->hs_state = ssl != NULL ? SSL_state_string_long(ssl) : NULL;
	}
	/* May free c (and this event) before it returns. */
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
	    0);
}

void
svc_tls_conn_arm(struct svc_conn *c)
{
	struct timeval tv = { c->svc->lim.timeout_s, 0 };

	c->busy = 0;
	c->rx = 0;
	c->graced = 0;
	(void)clock_gettime(CLOCK_MONOTONIC, &c->armed);
	(void)evtimer_add(c->deadline, &tv);
}

/*
 * evhttp asks for each accepted connection's bufferevent (the socket is
 * set later).  Returning NULL would make evhttp serve plain HTTP, so a
 * failure returns a bufferevent whose handshake fails instead.
 */
struct bufferevent *
svc_tls_bevcb(struct event_base *base, void *arg)
{
	struct ob_svc		*svc = arg;
	struct svc_conn		*c;
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(svc->ctx)) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		/* No conn: hello_cb refuses the handshake. */
		return bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	}
	c->svc = svc;
	svc->nconns++;
	if (SSL_set_ex_data(ssl, conn_idx, c) != 1) {
		svc->nconns--;
		free(c);
		return bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	}
	if (svc->nconns > svc->lim.max_conns) {
		c->over = 1;
		svc->conns_refused++;
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;	/* SSL (and c) freed by libevent */
	c->bev = bev;
	if (evbuffer_add_cb(bufferevent_get_input(bev), input_cb, c) == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(bev), output_cb, c) == NULL)
		c->over = 1;	/* cannot watch it: refuse it */
	if ((c->deadline = evtimer_new(base, deadline_cb, c)) != NULL)
		svc_tls_conn_arm(c);
	else
		c->over = 1;
	return bev;
}

/* The connection behind a request, or NULL (gone, or not ours). */
struct svc_conn *
svc_tls_conn(struct evhttp_request *ev)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	SSL				*ssl;

	if ((evcon = evhttp_request_get_connection(ev)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, conn_idx);
}

static int
has_uri_san(X509 *x, const char *uri)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	size_t		 n = strlen(uri);
	int		 i, found = 0;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) ==
	    NULL)
		return 0;
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_URI &&
		    (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier) ==
		    n && memcmp(ASN1_STRING_get0_data(
		    g->d.uniformResourceIdentifier), uri, n) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/*
 * Once per connection, and again after ob_svc_set_peers: hash the
 * verified client certificate, find it in the current table.
 */
void
svc_tls_peer_lookup(struct svc_conn *c)
{
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0;
	X509			*x;
	SSL			*ssl;
	size_t			 k;
	int			 fd, one = 1;

	c->seen = 1;
	c->gen = c->svc->peers_gen;
	c->peer = NULL;
	if ((fd = (int)bufferevent_getfd(c->bev)) >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	/* The handshake verified the chain (SSL_VERIFY_PEER |
	 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT, no verify callback). */
	if ((ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL ||
	    X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return;
	(void)ob_bin_to_hex(md, n, c->sha, sizeof(c->sha));
	for (k = 0; k < c->svc->npeers; k++) {
		const struct ob_svc_peer *p = c->svc->peers[k];

		if ((p->cert_sha256 != NULL &&
		    strcmp(p->cert_sha256, c->sha) == 0) ||
		    (p->san_uri != NULL && has_uri_san(x, p->san_uri))) {
			c->peer = p;
			return;
		}
	}
}

#define SVC_MAX_CHAIN	8

static int
chain_add(X509 *x, unsigned char **buf, size_t *len)
{
	unsigned char	*der = NULL, *nb;
	int		 n;

	if ((n = i2d_X509(x, &der)) <= 0)
		return ob_errf(OB_ERR_CRYPTO, "i2d_X509");
	if ((nb = realloc(*buf, *len + (size_t)n)) == NULL) {
		OPENSSL_free(der);
		return OB_ERR_ALLOC;
	}
	memcpy(nb + *len, der, (size_t)n);
	*buf = nb;
	*len += (size_t)n;
	OPENSSL_free(der);
	return OB_OK;
}

/*
 * The certificates as the client sent them: its own, then the rest of
 * its Certificate message (a server's SSL_get_peer_cert_chain leaves the
 * client's own out; a resumed session keeps only that one).
 */
int
svc_tls_peer_chain(struct svc_conn *c, unsigned char **der, size_t *len)
{
	STACK_OF(X509)	*sk;
	unsigned char	*buf = NULL;
	size_t		 n = 0;
	X509		*leaf, *x;
	SSL		*ssl;
	int		 i, r;

	*der = NULL;
	*len = 0;
	if ((ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL ||
	    (leaf = SSL_get0_peer_certificate(ssl)) == NULL)
		return OB_OK;
	if ((r = chain_add(leaf, &buf, &n)) != OB_OK)
		goto out;
	sk = SSL_get_peer_cert_chain(ssl);
	for (i = 0; i < sk_X509_num(sk) && i < SVC_MAX_CHAIN; i++) {
		x = sk_X509_value(sk, i);
		if (X509_cmp(x, leaf) != 0 && (r = chain_add(x, &buf, &n)) !=
		    OB_OK)
			goto out;
	}
	*der = buf;
	*len = n;
	buf = NULL;
	r = OB_OK;
out:
	free(buf);
	return r;
}
