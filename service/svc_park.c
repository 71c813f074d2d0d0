/*
 * Parked requests (service/svc.h, "Parking"): a long-poll waits on the
 * loop as a timer and a list entry, not in a worker thread.  Everything
 * here runs on the loop thread except ob_svc_wake, which hands its key
 * over under svc->mu and activates wake_ev.
 */
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"
#include "core/err.h"

#define PARK_KEY_MAX	4096

struct svc_park {
	struct ob_svc		*svc;
	struct ob_svc_req	*req;
	char			*key;
	struct event		*timer;
	struct timespec		 until;		/* CLOCK_MONOTONIC */
	ob_svc_park_fn		 fn;
	void			*arg;
	struct svc_park		*prev, *next;
};

static long long
left_ms(const struct timespec *until)
{
	struct timespec	now;
	long long	ms;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(until->tv_sec - now.tv_sec) * 1000 +
	    (until->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

static void
unlink_park(struct svc_park *p)
{
	struct ob_svc *svc = p->svc;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		svc->parked = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	svc->nparked--;
	event_free(p->timer);
}

/* Take p off the list and call its fn: it replies or parks anew. */
static void
fire(struct svc_park *p, enum ob_svc_park_why why)
{
	struct ob_svc_req	*req = p->req;
	ob_svc_park_fn		 fn = p->fn;
	void			*arg = p->arg;
	long long		 left = why == OB_SVC_PARK_WOKEN ?
				    left_ms(&p->until) : 0;

	unlink_park(p);
	free(p->key);
	free(p);
	fn(req, why, left, arg);
}

static void
park_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	fire(arg, OB_SVC_PARK_TIMEOUT);
}

/* The loop's side of ob_svc_wake: every parked request under a key. */
static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ob_svc	*svc = arg;
	struct svc_park	*p, *next, *woken = NULL, **tail = &woken;
	char		*keys[SVC_WAKE_KEYS];
	size_t		 n, i;
	int		 all;

	(void)fd; (void)what;
	pthread_mutex_lock(&svc->mu);
	n = svc->nwake;
	memcpy(keys, svc->wake_keys, n * sizeof(keys[0]));
	svc->nwake = 0;
	all = svc->wake_all;
	svc->wake_all = 0;
	pthread_mutex_unlock(&svc->mu);
	/* Collect first: a fn that parks again must not be woken twice. */
	for (p = svc->parked; p != NULL; p = next) {
		next = p->next;
		for (i = 0; !all && i < n; i++)
			if (strcmp(keys[i], p->key) == 0)
				break;
		if (!all && i == n)
			continue;
		unlink_park(p);
		p->next = NULL;
		*tail = p;
		tail = &p->next;
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	for (p = woken; p != NULL; p = next) {
		struct ob_svc_req	*req = p->req;
		ob_svc_park_fn		 fn = p->fn;
		void			*fnarg = p->arg;
		long long		 left = left_ms(&p->until);

		next = p->next;
		free(p->key);
		free(p);
		fn(req, OB_SVC_PARK_WOKEN, left, fnarg);
	}
}

int
svc_park_init(struct ob_svc *svc)
{
	if ((svc->wake_ev = event_new(svc->base, -1, 0, wake_cb, svc)) ==
	    NULL)
		return ob_errf(OB_ERR_ALLOC, "libevent");
	return OB_OK;
}

int
ob_svc_park(struct ob_svc_req *req, const char *key, long long wait_ms,
    ob_svc_park_fn fn, void *arg)
{
	struct ob_svc	*svc = req->svc;
	struct svc_park	*p;
	struct timeval	 tv;
	size_t		 n;

	if (!pthread_equal(pthread_self(), svc->loop_thread) || fn == NULL ||
	    key == NULL || (n = strlen(key)) == 0 || n > PARK_KEY_MAX ||
	    wait_ms <= 0 || wait_ms > 3600 * 1000LL)
		return ob_errf(OB_ERR_INVALID_ARG, "ob_svc_park");
	if (svc->draining)
		return ob_errf(OB_ERR_SVC_UNAVAILABLE, "draining");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_ALLOC;
	if ((p->key = strdup(key)) == NULL ||
	    (p->timer = evtimer_new(svc->base, park_timeout, p)) == NULL) {
		free(p->key);
		free(p);
		return ob_errf(OB_ERR_ALLOC, "libevent");
	}
	p->svc = svc;
	p->req = req;
	p->fn = fn;
	p->arg = arg;
	(void)clock_gettime(CLOCK_MONOTONIC, &p->until);
	p->until.tv_sec += (time_t)(wait_ms / 1000);
	p->until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (p->until.tv_nsec >= 1000000000L) {
		p->until.tv_sec++;
		p->until.tv_nsec -= 1000000000L;
	}
	tv.tv_sec = (time_t)(wait_ms / 1000);
	tv.tv_usec = (suseconds_t)(wait_ms % 1000) * 1000;
	if (evtimer_add(p->timer, &tv) != 0) {
		event_free(p->timer);
		free(p->key);
		free(p);
		return ob_errf(OB_ERR_ALLOC, "evtimer_add");
	}
	p->next = svc->parked;
	if (svc->parked != NULL)
		svc->parked->prev = p;
	svc->parked = p;
	svc->nparked++;
	return OB_OK;
}

void
ob_svc_wake(struct ob_svc *svc, const char *key)
{
	char	*k = NULL;
	size_t	 i;
	int	 queued = 0;

	if (svc == NULL || key == NULL || svc->wake_ev == NULL)
		return;
	pthread_mutex_lock(&svc->mu);
	for (i = 0; i < svc->nwake; i++)
		if (strcmp(svc->wake_keys[i], key) == 0)
			break;
	if (i < svc->nwake)
		queued = 1;		/* already to be woken */
	else if (svc->nwake < SVC_WAKE_KEYS &&
	    (k = strdup(key)) != NULL) {
		svc->wake_keys[svc->nwake++] = k;
		queued = 1;
	}
	if (!queued)
		svc->wake_all = 1;	/* full, or no memory: wake them all */
	pthread_mutex_unlock(&svc->mu);
	event_active(svc->wake_ev, EV_READ, 0);
}

size_t
ob_svc_parked(const struct ob_svc *svc)
{
	return svc->nparked;
}

size_t
ob_svc_parked_key(const struct ob_svc *svc, const char *key)
{
	const struct svc_park	*p;
	size_t			 n = 0;

	for (p = svc->parked; p != NULL; p = p->next)
		if (strcmp(p->key, key) == 0)
			n++;
	return n;
}

void
svc_park_drain(struct ob_svc *svc)
{
	while (svc->parked != NULL)
		fire(svc->parked, OB_SVC_PARK_DRAIN);
}

void
svc_park_free(struct ob_svc *svc)
{
	struct svc_park	*p;
	size_t		 i;

	while ((p = svc->parked) != NULL) {
		unlink_park(p);
		svc_req_free(p->req);
		free(p->key);
		free(p);
	}
	for (i = 0; i < svc->nwake; i++)
		free(svc->wake_keys[i]);
	svc->nwake = 0;
	if (svc->wake_ev != NULL)
		event_free(svc->wake_ev);
	svc->wake_ev = NULL;
}
