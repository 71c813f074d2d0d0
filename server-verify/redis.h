/*
 * A small synchronous Redis client over hiredis, for the Redis replay
 * store (state_redis.c) and the servers' shared rate buckets
 * (docs/redis.md).  Not part of libownerbind-verify: it lives in the
 * static library ob_redis, so that the installed library never links
 * hiredis.
 *
 * One connection, used under the client's own mutex.  It fails closed:
 * an address that does not answer, a reply that does not come within
 * timeout_ms, an error reply, are a code and never a guess.  After a
 * failure the connection is dropped (a late reply would otherwise be
 * read as the answer to the next command) and the next attempt waits
 * out a backoff that doubles from REDIS_BACKOFF_MIN_MS to
 * REDIS_BACKOFF_MAX_MS; calls in between fail at once with
 * OB_ERR_STATE_UNAVAILABLE instead of each waiting for a timeout.
 */
#ifndef OB_VERIFY_REDIS_H
#define OB_VERIFY_REDIS_H

#include <stddef.h>
#include <sys/un.h>

#include "ownerbind/ob_err.h"

#define OB_REDIS_PREFIX_MAX	64
#define OB_REDIS_HOST_MAX	255

/* A parsed URI (redis_uri.c, no hiredis). */
struct ob_redis_addr {
	int	is_unix;
	char	host[OB_REDIS_HOST_MAX + 1];	/* no brackets */
	int	port;
	char	path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int	db;
};

/*
 * What the server's configuration says (docs/server.md, "redis").  The
 * strings are copied; password is wiped from the copy when the client is
 * freed.  Zero timeouts take the defaults (1,000 ms each; wait 100 ms).
 */
struct ob_redis_cfg {
	const char	*uri;		/* redis://HOST[:PORT][/DB] or
					 * unix:/PATH[?db=N] */
	const char	*user;		/* ACL user; NULL: the default user */
	const char	*password;	/* NULL: no AUTH */
	const char	*prefix;	/* of every key; NULL: "ob:" */
	unsigned	 connect_timeout_ms;
	unsigned	 timeout_ms;	/* per read or write of a command */
	unsigned	 wait_replicas;	/* store: WAIT for this many; 0: none */
	unsigned	 wait_timeout_ms;
};

/* A Lua script run by EVALSHA, and by EVAL when Redis says NOSCRIPT. */
struct ob_redis_script {
	const char	*text;
	char		 sha[41];	/* filled by ob_redis_script_init */
};

struct ob_redis;
struct redisReply;

/* Does s name a Redis store (redis://, rediss://, unix:) rather than a file? */
int ob_redis_is_uri(const char *s);

/*
 * Check a URI and a key prefix ([A-Za-z0-9:._-], 1..64 bytes; NULL is
 * the default).  OB_ERR_STATE_URI, whose detail never repeats the URI
 * (it might carry a password the rules refuse).
 */
int ob_redis_uri_check(const char *uri) OB_WUR;
int ob_redis_uri_parse(const char *uri, struct ob_redis_addr *out) OB_WUR;
int ob_redis_prefix_check(const char *prefix) OB_WUR;

/* Parse and copy cfg; nothing is connected yet.  OB_ERR_STATE_URI, _ALLOC. */
int ob_redis_new(const struct ob_redis_cfg *cfg, struct ob_redis **out)
    OB_WUR;
void ob_redis_free(struct ob_redis **rp);
const char *ob_redis_prefix(const struct ob_redis *r);

/* Compute the script's SHA-1 (hex).  OB_ERR_CRYPTO. */
int ob_redis_script_init(struct ob_redis_script *s, const char *text) OB_WUR;

/*
 * Connect now if not connected (AUTH, SELECT) and PING: the server's
 * check at startup that the store is there and lets it in.
 */
int ob_redis_ping(struct ob_redis *r) OB_WUR;

/*
 * Run script with nkeys keys then the other arguments (argv[0..argc),
 * binary-safe lengths).  OB_OK: *out is the reply, never an error reply;
 * free it with freeReplyObject.  Errors: OB_ERR_STATE_UNAVAILABLE (not
 * reachable, no answer in time, Redis loading, busy or read-only after a
 * failover), OB_ERR_STATE_AUTH (user, password or ACL refused),
 * OB_ERR_STATE_REPLY (any other error reply; the detail has it),
 * OB_ERR_ALLOC.
 */
int ob_redis_eval(struct ob_redis *r, const struct ob_redis_script *s,
    int nkeys, int argc, const char *const *argv, const size_t *lens,
    struct redisReply **out) OB_WUR;

/*
 * After a write: WAIT until wait_replicas replicas have it, at most
 * wait_timeout_ms.  OB_OK at once when wait_replicas is 0;
 * OB_ERR_STATE_REPLICAS when fewer confirm; the errors of ob_redis_eval.
 */
int ob_redis_wait(struct ob_redis *r) OB_WUR;

/*
 * Any other command (tests and bench: SCAN, FLUSHDB), with the same
 * error mapping as ob_redis_eval.
 */
int ob_redis_command(struct ob_redis *r, int argc, const char *const *argv,
    const size_t *lens, struct redisReply **out) OB_WUR;

#endif
