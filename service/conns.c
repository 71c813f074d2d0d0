/*
 * A plain-HTTP listener's connection cap and deadline (service/conns.h).
 *
 * evhttp (libevent 2.1) gives no hook for a connection's accept or end, so
 * each connection's bufferevent is made here (evhttp_set_bevcb): a socket
 * bufferevent under a pass-through filter, whose free_context says when
 * evhttp has freed the connection.  The connection's record holds its
 * deadline timer; a deadline cuts it with shutdown(2), after which evhttp
 * reads the end of the stream and frees it, so nothing here ever frees
 * what evhttp owns.  The open records are a list: a request finds its own
 * by its bufferevent (at most max_conns to look through, once a request).
 *
 * libevent 2.1's filter passes output on only while writing is enabled,
 * and evhttp enables it after it has added a reply, so a reply would wait
 * for the next write event (here: none, the deadline).  Each addition to
 * the output therefore schedules a flush, which runs once evhttp has
 * returned to the loop with writing enabled.  And the filter tells evhttp
 * a reply is written once it is in the socket bufferevent's buffer, not in
 * the socket, so a reply with "Connection: close" would be freed with the
 * connection unsent: the output filter writes what it passes on to the
 * socket at once (what does not fit goes as the socket bufferevent
 * writes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "core/err.h"
#include "service/conns.h"

struct pconn {
	struct ob_svc_conns	*cs;
	struct bufferevent	*bev;		/* the filter evhttp holds */
	struct event		*deadline;
	struct event		*flush;		/* the reply, to the socket */
	struct pconn		*prev, *next;
	int			 over;		/* beyond max_conns */
};

struct ob_svc_conns {
	unsigned		 max_conns, timeout_s;
	struct pconn		*head;
	struct ob_svc_conns_stats st;
	char			 busy[512];	/* the whole 503 */
	size_t			 busylen;
};

/* A refusal evhttp never sees: written straight to the socket. */
#define BUSY_BODY "{\"type\":\"about:blank\",\"title\":\"Service " \
    "Unavailable\",\"status\":503,\"code\":\"%s\",\"detail\":\"too many " \
    "connections: try again\"}\n"

static void
arm(struct pconn *p, unsigned s)
{
	struct timeval tv = { (time_t)s, 0 };

	(void)evtimer_add(p->deadline, &tv);
}

static void
deadline_cb(evutil_socket_t fd0, short what, void *arg)
{
	struct pconn	*p = arg;
	evutil_socket_t	 fd = bufferevent_getfd(p->bev);

	(void)fd0;
	(void)what;
	if (fd < 0)
		return;
	if (p->over) {
		/* write(2): the socket is non-blocking (evhttp's) and SIGPIPE
		 * ignored; send(2) with flags failed under the proxy's
		 * seccomp filter.  Unsaid if it does not fit: closed anyway. */
		ssize_t n = write(fd, p->cs->busy, p->cs->busylen);

		(void)n;
	} else
		p->cs->st.cut++;
	/* evhttp reads the end of the stream and frees the connection. */
	(void)shutdown(fd, SHUT_RDWR);
}

static enum bufferevent_filter_result
out_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct pconn	*p = arg;
	evutil_socket_t	 fd = bufferevent_getfd(p->bev);

	(void)limit;
	(void)mode;
	if (evbuffer_add_buffer(dst, src) != 0)
		return BEV_ERROR;
	if (fd >= 0)
		(void)evbuffer_write(dst, fd);
	return BEV_OK;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *p = arg;

	(void)fd;
	(void)what;
	(void)bufferevent_flush(p->bev, EV_WRITE, BEV_NORMAL);
}

/* Reply bytes: flushed from the loop; the first restart the deadline
 * (the write, the idle time, the next request). */
static void
output_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct pconn *p = arg;

	(void)b;
	if (info->n_added == 0)
		return;
	if (!evtimer_pending(p->deadline, NULL))
		arm(p, p->cs->timeout_s);
	event_active(p->flush, EV_TIMEOUT, 0);
}

/* The filter's end, when evhttp frees the connection. */
static void
pconn_free(void *arg)
{
	struct pconn *p = arg;

	if (p->deadline != NULL)
		event_free(p->deadline);
	if (p->flush != NULL)
		event_free(p->flush);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->cs->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	p->cs->st.open--;
	free(p);
}

struct bufferevent *
ob_svc_conns_bevcb(struct event_base *base, void *arg)
{
	struct ob_svc_conns	*cs = arg;
	struct bufferevent	*under, *bev;
	struct pconn		*p;

	under = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->deadline = evtimer_new(base, deadline_cb, p)) == NULL ||
	    (p->flush = evtimer_new(base, flush_cb, p)) == NULL ||
	    (under = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (bev = bufferevent_filter_new(under, NULL, out_filter,
	    BEV_OPT_CLOSE_ON_FREE, pconn_free, p)) == NULL) {
		if (under != NULL)
			bufferevent_free(under);
		if (p != NULL && p->deadline != NULL)
			event_free(p->deadline);
		if (p != NULL && p->flush != NULL)
			event_free(p->flush);
		free(p);
		return NULL;	/* evhttp makes its own: no cap on it */
	}
	p->cs = cs;
	p->bev = bev;
	if ((p->next = cs->head) != NULL)
		cs->head->prev = p;
	cs->head = p;
	cs->st.open++;
	cs->st.accepted++;
	if (cs->st.open > cs->max_conns) {
		/* Answered and closed as soon as its socket is set. */
		p->over = 1;
		cs->st.refused++;
		arm(p, 0);
	} else {
		(void)evbuffer_add_cb(bufferevent_get_output(bev), output_cb,
		    p);
		arm(p, cs->timeout_s);
	}
	return bev;
}

void
ob_svc_conns_busy(struct ob_svc_conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	struct pconn			*p;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return;
	for (p = cs->head; p != NULL && p->bev != bev; p = p->next)
		;
	if (p != NULL && !p->over)
		(void)evtimer_del(p->deadline);
}

int
ob_svc_conns_new(unsigned max_conns, unsigned timeout_s,
    const char *busy_code, struct ob_svc_conns **out)
{
	struct ob_svc_conns	*cs;
	char			 body[256];
	int			 n;

	n = snprintf(body, sizeof(body), BUSY_BODY, busy_code);
	if (n < 0 || (size_t)n >= sizeof(body))
		return ob_errf(OB_ERR_INVALID_ARG, "busy code too long");
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return ob_errf(OB_ERR_ALLOC, "connections");
	cs->max_conns = max_conns;
	cs->timeout_s = timeout_s;
	cs->busylen = (size_t)snprintf(cs->busy, sizeof(cs->busy),
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/problem+json\r\n"
	    "Retry-After: 1\r\nConnection: close\r\n"
	    "Content-Length: %d\r\n\r\n%s", n, body);
	*out = cs;
	return OB_OK;
}

void
ob_svc_conns_stats(const struct ob_svc_conns *cs,
    struct ob_svc_conns_stats *st)
{
	*st = cs->st;
}

void
ob_svc_conns_free(struct ob_svc_conns **csp)
{
	struct ob_svc_conns	*cs = *csp;
	struct pconn		*p;

	if (cs == NULL)
		return;
	/* evhttp_free freed every connection; any left are orphans. */
	while ((p = cs->head) != NULL) {
		cs->head = p->next;
		event_free(p->deadline);
		event_free(p->flush);
		free(p);
	}
	free(cs);
	*csp = NULL;
}
