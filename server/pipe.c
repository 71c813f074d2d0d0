/*
 * The issuance pipeline (pipe.h): one mutex, two lists (waiting for the
 * commit, waiting for a finisher), one condition each.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "server/pipe.h"

#define PIPE_BATCH_MAX	64
#define PIPE_FINISHERS	4

struct ob_pipe {
	struct ob_pipe_cfg	 cfg;
	pthread_mutex_t		 mu;
	pthread_cond_t		 ccv;		/* commit list, stop */
	pthread_cond_t		 fcv;		/* finish list, commit_done */
	struct ob_pipe_item	*chead, *ctail;
	struct ob_pipe_item	*fhead, *ftail;
	struct ob_pipe_item	**batch;
	int			 stop, commit_done;
	pthread_t		 committer;
	int			 have_committer;
	pthread_t		*finishers;
	int			 nfinishers;
	struct ob_pipe_stats	 st;
};

static void
append(struct ob_pipe_item **head, struct ob_pipe_item **tail,
    struct ob_pipe_item *it)
{
	it->next = NULL;
	if (*tail != NULL)
		(*tail)->next = it;
	else
		*head = it;
	*tail = it;
}

static void *
committer(void *arg)
{
	struct ob_pipe		*p = arg;
	struct ob_pipe_item	*it;
	size_t			 n, i;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->chead == NULL)
			pthread_cond_wait(&p->ccv, &p->mu);
		if (p->chead == NULL)		/* stopping, nothing left */
			break;
		for (n = 0; n < p->cfg.batch_max && p->chead != NULL; n++) {
			it = p->chead;
			if ((p->chead = it->next) == NULL)
				p->ctail = NULL;
			it->next = NULL;
			p->batch[n] = it;
		}
		pthread_mutex_unlock(&p->mu);
		p->cfg.commit(p->batch, n, p->cfg.arg);
		pthread_mutex_lock(&p->mu);
		for (i = 0; i < n; i++)
			append(&p->fhead, &p->ftail, p->batch[i]);
		p->st.items += n;
		p->st.batches++;
		if (n > p->st.max_batch)
			p->st.max_batch = n;
		/* One finisher per item, not every finisher per batch. */
		for (i = 0; i < n && i < (size_t)p->nfinishers; i++)
			pthread_cond_signal(&p->fcv);
	}
	p->commit_done = 1;
	pthread_cond_broadcast(&p->fcv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *
finisher(void *arg)
{
	struct ob_pipe		*p = arg;
	struct ob_pipe_item	*it;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->commit_done && p->fhead == NULL)
			pthread_cond_wait(&p->fcv, &p->mu);
		if ((it = p->fhead) == NULL)	/* commit_done, list empty */
			break;
		if ((p->fhead = it->next) == NULL)
			p->ftail = NULL;
		it->next = NULL;
		pthread_mutex_unlock(&p->mu);
		p->cfg.finish(it, p->cfg.arg);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
ob_pipe_new(const struct ob_pipe_cfg *cfg, struct ob_pipe **out)
{
	struct ob_pipe *p;

	if (cfg == NULL || cfg->commit == NULL || cfg->finish == NULL ||
	    out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "commit and finish are "
		    "required");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_ALLOC;
	p->cfg = *cfg;
	if (p->cfg.batch_max == 0)
		p->cfg.batch_max = PIPE_BATCH_MAX;
	if (p->cfg.finishers <= 0)
		p->cfg.finishers = PIPE_FINISHERS;
	if ((p->batch = calloc(p->cfg.batch_max, sizeof(*p->batch))) ==
	    NULL || (p->finishers = calloc((size_t)p->cfg.finishers,
	    sizeof(*p->finishers))) == NULL) {
		free(p->batch);
		free(p);
		return OB_ERR_ALLOC;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->ccv, NULL);
	pthread_cond_init(&p->fcv, NULL);
	*out = p;
	return OB_OK;
}

int
ob_pipe_start(struct ob_pipe *p)
{
	if (p->have_committer)
		return OB_OK;
	if (pthread_create(&p->committer, NULL, committer, p) != 0)
		return ob_errf(OB_ERR_INTERNAL, "pthread_create");
	p->have_committer = 1;
	for (; p->nfinishers < p->cfg.finishers; p->nfinishers++)
		if (pthread_create(&p->finishers[p->nfinishers], NULL,
		    finisher, p) != 0)
			return ob_errf(OB_ERR_INTERNAL, "pthread_create");
	return OB_OK;
}

void
ob_pipe_submit(struct ob_pipe *p, struct ob_pipe_item *item)
{
	pthread_mutex_lock(&p->mu);
	append(&p->chead, &p->ctail, item);
	pthread_cond_signal(&p->ccv);
	pthread_mutex_unlock(&p->mu);
}

void
ob_pipe_stats(struct ob_pipe *p, struct ob_pipe_stats *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	pthread_mutex_unlock(&p->mu);
}

void
ob_pipe_free(struct ob_pipe **pp)
{
	struct ob_pipe	*p;
	int		 i;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	if (!p->have_committer)
		p->commit_done = 1;
	pthread_cond_broadcast(&p->ccv);
	pthread_cond_broadcast(&p->fcv);
	pthread_mutex_unlock(&p->mu);
	if (p->have_committer)
		pthread_join(p->committer, NULL);
	for (i = 0; i < p->nfinishers; i++)
		pthread_join(p->finishers[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->ccv);
	pthread_cond_destroy(&p->fcv);
	free(p->batch);
	free(p->finishers);
	free(p);
	*pp = NULL;
}
