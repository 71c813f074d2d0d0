/*
 * The issuance pipeline (decision 123): the worker that verified a
 * request hands it on and takes the next; a commit thread takes every
 * request waiting (up to batch_max) and commits them together (one
 * transaction, one fsync); finisher threads then finish each request
 * (sign, record, reply), so that the signer's round trips and the
 * record's fsync of several requests overlap.
 *
 * An item is the caller's struct with a struct ob_pipe_item first.
 * commit(items, n) runs on the commit thread and must set every
 * items[i]->code; finish(item) runs on a finisher, once per item, and
 * owns the item from then on.  Nothing here decides: the callbacks
 * issue or refuse.
 *
 * Threads: ob_pipe_submit from any thread once ob_pipe_start returned;
 * ob_pipe_free finishes every item submitted (commit and finish run for
 * each), then joins the threads.  No queue bound: the caller bounds the
 * requests in flight (the server: one per connection).
 */
#ifndef OB_SERVER_PIPE_H
#define OB_SERVER_PIPE_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

struct ob_pipe;

struct ob_pipe_item {
	struct ob_pipe_item	*next;
	int			 code;	/* set by commit */
};

typedef void (*ob_pipe_commit_fn)(struct ob_pipe_item **items, size_t n,
    void *arg);
typedef void (*ob_pipe_finish_fn)(struct ob_pipe_item *item, void *arg);

struct ob_pipe_cfg {
	size_t			 batch_max;	/* items per commit [64] */
	int			 finishers;	/* threads [4] */
	ob_pipe_commit_fn	 commit;
	ob_pipe_finish_fn	 finish;
	void			*arg;
};

/* Counters, for tests and metrics. */
struct ob_pipe_stats {
	unsigned long long	 items;		/* committed */
	unsigned long long	 batches;
	size_t			 max_batch;
};

int ob_pipe_new(const struct ob_pipe_cfg *cfg, struct ob_pipe **out) OB_WUR;
int ob_pipe_start(struct ob_pipe *p) OB_WUR;
void ob_pipe_submit(struct ob_pipe *p, struct ob_pipe_item *item);
void ob_pipe_stats(struct ob_pipe *p, struct ob_pipe_stats *st);
/* Finish everything submitted, stop the threads, free; accepts NULL. */
void ob_pipe_free(struct ob_pipe **pp);

#endif
