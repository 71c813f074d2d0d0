/*
 * TLS for the service: the SSL_CTX (rebuilt whole on SIGHUP), one SSL
 * bufferevent per accepted connection, the connection limit, the header
 * and idle deadline, and the mapping of a verified client certificate to
 * a configured peer.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "service/svc_int.h"
#include "core/err.h"

static int conn_idx = -1;

/* ex_data free: the SSL is freed with its bufferevent, so is the conn. */
static void
conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct svc_conn *c = ptr;

	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	if (c == NULL)
		return;
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

/* Refuse a handshake over the connection limit before any key exchange. */
static int
hello_cb(SSL *ssl, int *al, void *arg)
{
	struct svc_conn *c = SSL_get_ex_data(ssl, conn_idx);

	(void)arg;
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
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1) {
		r = tls_errf("session id context", "");
		goto out;
	}
	SSL_CTX_set_client_hello_cb(ctx, hello_cb, NULL);
	*out = ctx;
	ctx = NULL;
	r = OB_OK;
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return r;
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
	/* May free c (and this event) before it returns. */
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
	    0);
}

void
svc_tls_conn_arm(struct svc_conn *c)
{
	struct timeval tv = { c->svc->lim.timeout_s, 0 };

	c->busy = 0;
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

/* Once per connection: hash the verified client certificate, find it. */
void
svc_tls_peer_lookup(struct svc_conn *c)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0, i;
	X509			*x;
	SSL			*ssl;
	size_t			 k;
	int			 fd, one = 1;

	c->seen = 1;
	if ((fd = (int)bufferevent_getfd(c->bev)) >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	/* The handshake verified the chain (SSL_VERIFY_PEER |
	 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT, no verify callback). */
	if ((ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL ||
	    X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return;
	for (i = 0; i < n; i++) {
		c->sha[2 * i] = hex[md[i] >> 4];
		c->sha[2 * i + 1] = hex[md[i] & 15];
	}
	c->sha[64] = '\0';
	for (k = 0; k < c->svc->npeers; k++) {
		const struct ob_svc_peer *p = &c->svc->peers[k];

		if ((p->cert_sha256 != NULL &&
		    strcmp(p->cert_sha256, c->sha) == 0) ||
		    (p->san_uri != NULL && has_uri_san(x, p->san_uri))) {
			c->peer = p;
			return;
		}
	}
}
