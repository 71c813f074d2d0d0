/* The HSM's bounded queue (gateway/hsmq.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/err.h"
#include "gateway/hsmq.h"

struct ob_hsmq {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	unsigned		 depth, waiting;
	unsigned		 busy, in_flight;	/* signing now, most */
	unsigned long long	 refused;
};

long long
ob_hsmq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ob_hsmq_new(unsigned depth, unsigned in_flight, struct ob_hsmq **out)
{
	struct ob_hsmq		*q;
	pthread_condattr_t	 ca;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return OB_ERR_ALLOC;
	q->depth = depth;
	q->in_flight = in_flight > 0 ? in_flight : 1;
	if (pthread_mutex_init(&q->mu, NULL) != 0) {
		free(q);
		return OB_ERR_ALLOC;
	}
	/* Deadlines are monotonic: a clock step neither expires nor
	 * prolongs a wait. */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&q->cv, &ca) != 0) {
		pthread_mutex_destroy(&q->mu);
		free(q);
		return OB_ERR_ALLOC;
	}
	pthread_condattr_destroy(&ca);
	*out = q;
	return OB_OK;
}

void
ob_hsmq_free(struct ob_hsmq **qp)
{
	if (qp == NULL || *qp == NULL)
		return;
	pthread_cond_destroy(&(*qp)->cv);
	pthread_mutex_destroy(&(*qp)->mu);
	free(*qp);
	*qp = NULL;
}

int
ob_hsmq_enter(struct ob_hsmq *q, long long deadline_ms)
{
	struct timespec	ts;
	int		r = OB_OK;

	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	pthread_mutex_lock(&q->mu);
	if (q->busy >= q->in_flight && q->waiting >= q->depth) {
		q->refused++;
		pthread_mutex_unlock(&q->mu);
		return ob_errf(OB_ERR_GATEWAY_QUEUE_FULL, "%u waiting",
		    q->waiting);
	}
	q->waiting++;
	while (q->busy >= q->in_flight) {
		if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT &&
		    q->busy >= q->in_flight) {
			r = ob_errf(OB_ERR_GATEWAY_DEADLINE, "waited for the HSM "
			    "until the deadline");
			break;
		}
	}
	q->waiting--;
	if (r == OB_OK)
		q->busy++;
	pthread_mutex_unlock(&q->mu);
	return r;
}

void
ob_hsmq_leave(struct ob_hsmq *q)
{
	pthread_mutex_lock(&q->mu);
	q->busy--;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

unsigned
ob_hsmq_depth(struct ob_hsmq *q, unsigned *capacity,
    unsigned long long *refused)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = q->waiting;
	*capacity = q->depth;
	*refused = q->refused;
	pthread_mutex_unlock(&q->mu);
	return n;
}
