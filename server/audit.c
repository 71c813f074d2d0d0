/*
 * The issuance record (docs/audit.md): hash-chained JSON lines.
 *
 * A line is BODY + ",\"hash\":\"" + b64url(SHA-256(BODY)) + "\"}\n", where
 * BODY is the compact JSON object up to and without its closing brace and
 * "prev" inside it is b64url(SHA-256) of the previous line without its
 * newline (for line 1: of OB_AUDIT_GENESIS).  The "hash" member lets a
 * changed line be found at that line, and the last line be checked at
 * all; "prev" and "seq" find deleted, inserted and reordered lines.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cliutil.h"
#include "core/alg.h"
#include "server/audit.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"

/* docs/audit.md, "Genesis". */
#define OB_AUDIT_GENESIS	"ownerbind issuance record v1"
#define HASH_B64		43	/* base64url of 32 bytes */
#define SUFFIX_PRE		",\"hash\":\""
#define SUFFIX_LEN		(sizeof(SUFFIX_PRE) - 1 + HASH_B64 + 2)

struct ob_audit {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* an fsync finished */
	int			 fd;
	int			 failed;
	unsigned long long	 seq;			/* of the last line */
	char			 prev[HASH_B64 + 1];	/* its hash */
	off_t			 size;			/* after it */
	/*
	 * Group commit: one fsync makes every line written before it
	 * durable, so threads whose lines wait share it.  What the last
	 * good fsync covered is kept, to cut back to when one fails.
	 */
	int			 syncing;
	unsigned long long	 synced_seq, gen;
	char			 synced_prev[HASH_B64 + 1];
	off_t			 synced_size;
};

static int
hash_b64(const void *buf, size_t n, char out[HASH_B64 + 1])
{
	unsigned char	 md[32];
	char		*s = NULL;
	int		 r;

	if ((r = ob_sha256(buf, n, md)) != OB_OK ||
	    (r = ob_b64url_encode(md, sizeof(md), &s)) != OB_OK)
		return r;
	memcpy(out, s, HASH_B64 + 1);
	free(s);
	return OB_OK;
}

/* Length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char	c = p[0];
	unsigned	v;
	size_t		n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1fu;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0fu;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07u;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
		return 0;
	return n;
}

/*
 * Set o[key] to s cut to at most max bytes at a character boundary, with
 * every byte that does not start a well-formed UTF-8 sequence replaced by
 * '?'.  NULL s: nothing.
 */
static int
put_str(json_t *o, const char *key, const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len, i = 0, o_n = 0, n;
	char			*buf;
	int			 r;

	if (s == NULL)
		return OB_OK;
	len = strlen(s);
	if ((buf = malloc((len < max ? len : max) + 1)) == NULL)
		return OB_ERR_ALLOC;
	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0) {
			if (o_n + 1 > max)
				break;
			buf[o_n++] = '?';
			i++;
			continue;
		}
		if (o_n + n > max)
			break;
		memcpy(buf + o_n, p + i, n);
		o_n += n;
		i += n;
	}
	r = json_object_set_new(o, key, json_stringn(buf, o_n)) == 0 ?
	    OB_OK : OB_ERR_ALLOC;
	free(buf);
	return r;
}

static int
put_int(json_t *o, const char *key, long long v)
{
	return json_object_set_new(o, key, json_integer(v)) == 0 ? OB_OK :
	    OB_ERR_ALLOC;
}

static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC with milliseconds: 2026-12-01T20:35:21.123Z */
static void
fmt_ts(long long ms, char out[32])
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	(void)strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(out + strlen(out), 32 - strlen(out), ".%03lldZ",
	    ms % 1000);
}

/* The complete line for ev as line seq after prev; *out freed by caller. */
static int
build_line(const struct ob_audit_event *ev, unsigned long long seq,
    const char *prev, char **out, size_t *outlen)
{
	json_t	*o = NULL, *c = NULL;
	char	*s = NULL, *line = NULL, ts[32], h[HASH_B64 + 1];
	size_t	 n, blen;
	int	 r;

	fmt_ts(ev->ts_ms != 0 ? ev->ts_ms : now_ms(), ts);
	if ((o = json_object()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(put_int(o, "seq", (long long)seq));
	OB_TRY(put_str(o, "ts", ts, sizeof(ts)));
	OB_TRY(put_str(o, "prev", prev, HASH_B64));
	OB_TRY(put_str(o, "request_id", ev->request_id, 128));
	OB_TRY(put_str(o, "peer", ev->peer, 512));
	OB_TRY(put_str(o, "decision", ev->accepted ? "accepted" : "rejected",
	    16));
	OB_TRY(put_str(o, "code", ob_err_name(ev->code), 64));
	OB_TRY(put_str(o, "detail", ev->detail, 1024));
	OB_TRY(put_str(o, "agent", ev->agent, 1024));
	OB_TRY(put_str(o, "owner", ev->owner, 256));
	OB_TRY(put_str(o, "model", ev->model, 32));
	OB_TRY(put_str(o, "jti", ev->jti, 256));
	OB_TRY(put_str(o, "envelope_sha256", ev->envelope_sha256, 64));
	OB_TRY(put_str(o, "renewal_of", ev->renewal_of, 64));
	if (ev->cred_exp != 0) {
		if ((c = json_object()) == NULL ||
		    json_object_set_new(o, "credential", c) != 0) {
			json_decref(c);
			r = OB_ERR_ALLOC;
			goto out;
		}
		OB_TRY(put_str(c, "jti", ev->cred_jti, 256));
		OB_TRY(put_str(c, "serial", ev->cred_serial, 64));
		OB_TRY(put_int(c, "exp", ev->cred_exp));
	}
	OB_TRY(ob_json_dump(o, &s, &n));
	/* n >= 2 and s ends with '}' (an object with members). */
	blen = n - 1;
	if (blen + SUFFIX_LEN + 1 > OB_AUDIT_MAX_LINE) {
		r = ob_errf(OB_ERR_INTERNAL, "audit line of %zu bytes", blen);
		goto out;
	}
	OB_TRY(hash_b64(s, blen, h));
	if ((line = malloc(blen + SUFFIX_LEN + 2)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(line, s, blen);
	(void)snprintf(line + blen, SUFFIX_LEN + 2, "%s%s\"}\n", SUFFIX_PRE,
	    h);
	*outlen = blen + SUFFIX_LEN + 1;
	*out = line;
	line = NULL;
	r = OB_OK;
out:
	free(line);
	free(s);
	json_decref(o);
	return r;
}

static const char *const line_members[] = {
	"seq", "ts", "prev", "request_id", "peer", "decision", "code",
	"detail", "agent", "owner", "model", "jti", "envelope_sha256",
	"renewal_of", "credential", "hash", NULL
};

/*
 * Check one line (len bytes, no newline).  want_seq 0: any sequence
 * number (the tail check at open); want_prev NULL: any prev.  On success
 * *seq is the line's number.  Errors are OB_ERR_AUDIT_BROKEN with a
 * detail.
 */
static int
check_line(const char *line, size_t len, unsigned long long want_seq,
    const char *want_prev, unsigned long long *seq,
    char prev_out[HASH_B64 + 1])
{
	json_t		*o = NULL, *v;
	const char	*s;
	char		 h[HASH_B64 + 1];
	long long	 n;
	int		 r;

	if (len < SUFFIX_LEN + 2 ||
	    memcmp(line + len - SUFFIX_LEN, SUFFIX_PRE,
	    sizeof(SUFFIX_PRE) - 1) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0) {
		r = ob_errf(OB_ERR_AUDIT_BROKEN, "the line does not end with "
		    "its \"hash\" member");
		goto out;
	}
	if ((r = hash_b64(line, len - SUFFIX_LEN, h)) != OB_OK)
		goto out;
	if (memcmp(h, line + len - 2 - HASH_B64, HASH_B64) != 0) {
		r = ob_errf(OB_ERR_AUDIT_BROKEN, "the line's \"hash\" does "
		    "not match its bytes (the line was changed)");
		goto out;
	}
	if ((r = ob_json_parse_object(line, len, &o)) != OB_OK) {
		r = ob_err_prefix(OB_ERR_AUDIT_BROKEN, "not a JSON object");
		goto out;
	}
	if ((r = ob_json_only_members(o, line_members,
	    OB_ERR_AUDIT_BROKEN)) != OB_OK)
		goto out;
	if ((r = ob_json_get_int(o, "seq", OB_ERR_AUDIT_BROKEN,
	    OB_ERR_AUDIT_BROKEN, &n)) != OB_OK)
		goto out;
	if (n < 1 || (want_seq != 0 && (unsigned long long)n != want_seq)) {
		r = ob_errf(OB_ERR_AUDIT_BROKEN, "\"seq\" is %lld, expected "
		    "%llu (a line is missing, inserted or moved)", n,
		    want_seq);
		goto out;
	}
	if ((r = ob_json_get_str(o, "prev", HASH_B64, HASH_B64,
	    OB_ERR_AUDIT_BROKEN, OB_ERR_AUDIT_BROKEN, &s)) != OB_OK)
		goto out;
	if (prev_out != NULL)
		memcpy(prev_out, s, HASH_B64 + 1);
	if (want_prev != NULL && strcmp(s, want_prev) != 0) {
		r = ob_errf(OB_ERR_AUDIT_BROKEN, "\"prev\" is not the hash "
		    "of the line before (a line is missing, inserted or "
		    "moved, or the one before was changed)");
		goto out;
	}
	if ((r = ob_json_get_str(o, "decision", 1, 16, OB_ERR_AUDIT_BROKEN,
	    OB_ERR_AUDIT_BROKEN, &s)) != OB_OK)
		goto out;
	if (strcmp(s, "accepted") != 0 && strcmp(s, "rejected") != 0) {
		r = ob_errf(OB_ERR_AUDIT_BROKEN, "\"decision\" is neither "
		    "accepted nor rejected");
		goto out;
	}
	if ((v = json_object_get(o, "ts")) == NULL || !json_is_string(v)) {
		r = ob_errf(OB_ERR_AUDIT_BROKEN, "\"ts\" is missing");
		goto out;
	}
	*seq = (unsigned long long)n;
	r = OB_OK;
out:
	json_decref(o);
	return r;
}

/* Resume the chain from the file's last line (a->fd, size bytes). */
static int
resume(struct ob_audit *a, off_t size)
{
	char	*buf = NULL;
	size_t	 n, i;
	ssize_t	 got;
	int	 r;

	if (size == 0) {
		a->seq = 0;
		return hash_b64(OB_AUDIT_GENESIS, strlen(OB_AUDIT_GENESIS),
		    a->prev);
	}
	n = (size_t)size < OB_AUDIT_MAX_LINE + 1 ? (size_t)size :
	    OB_AUDIT_MAX_LINE + 1;
	if ((buf = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	if ((got = pread(a->fd, buf, n, size - (off_t)n)) < 0 ||
	    (size_t)got != n) {
		r = ob_errf(OB_ERR_IO, "reading the last line: %s",
		    got < 0 ? strerror(errno) : "short read");
		goto out;
	}
	if (buf[n - 1] != '\n') {
		r = ob_errf(OB_ERR_AUDIT_TAIL, "the last line has no newline "
		    "(truncated)");
		goto out;
	}
	for (i = n - 1; i > 0 && buf[i - 1] != '\n'; i--)
		;
	if (i == 0 && (size_t)size != n) {
		r = ob_errf(OB_ERR_AUDIT_TAIL, "the last line is longer than "
		    "%d bytes", OB_AUDIT_MAX_LINE);
		goto out;
	}
	if ((r = check_line(buf + i, n - 1 - i, 0, NULL, &a->seq, NULL)) !=
	    OB_OK) {
		r = ob_err_prefix(OB_ERR_AUDIT_TAIL, "last line");
		goto out;
	}
	r = hash_b64(buf + i, n - 1 - i, a->prev);
out:
	free(buf);
	return r;
}

/* Make a new file's directory entry durable. */
static int
sync_dir(const char *path)
{
	char	*copy;
	int	 fd, r = OB_OK;

	if ((copy = strdup(path)) == NULL)
		return OB_ERR_ALLOC;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || fsync(fd) != 0)
		r = ob_errf(OB_ERR_IO, "syncing the directory of %s: %s", path,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int
ob_audit_open(const char *path, struct ob_audit **out)
{
	struct ob_audit	*a = NULL;
	struct stat	 st;
	int		 r, created = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return OB_ERR_ALLOC;
	a->fd = -1;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		return OB_ERR_ALLOC;
	}
	if (pthread_cond_init(&a->cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		free(a);
		return OB_ERR_ALLOC;
	}
	if ((a->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) <
	    0 && errno == ENOENT) {
		a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		created = a->fd >= 0;
	}
	if (a->fd < 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ? ob_errf(OB_ERR_AUDIT_LOCKED, "%s",
		    path) : ob_errf(OB_ERR_IO, "%s: flock: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(a->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = ob_errf(OB_ERR_IO, "%s: not a regular file", path);
		goto out;
	}
	if (created && (r = sync_dir(path)) != OB_OK)
		goto out;
	if ((r = resume(a, st.st_size)) != OB_OK) {
		r = ob_err_prefix(r, "%s", path);
		goto out;
	}
	/* What is there counts as synced: it was, by whoever wrote it. */
	a->size = a->synced_size = st.st_size;
	a->synced_seq = a->seq;
	memcpy(a->synced_prev, a->prev, sizeof(a->prev));
	*out = a;
	a = NULL;
	r = OB_OK;
out:
	ob_audit_free(&a);
	return r;
}

/*
 * Cut the file back to what the last good fsync covered and continue the
 * chain from there (lines written since, by any thread, are refused: gen
 * tells their writers).  Under the lock.
 */
static int
roll_back(struct ob_audit *a)
{
	if (ftruncate(a->fd, a->synced_size) != 0 || fsync(a->fd) != 0) {
		a->failed = 1;
		return 0;
	}
	a->seq = a->synced_seq;
	memcpy(a->prev, a->synced_prev, sizeof(a->prev));
	a->size = a->synced_size;
	a->gen++;
	return 1;
}

int
ob_audit_append(struct ob_audit *a, const struct ob_audit_event *ev,
    unsigned long long *seq)
{
	char			*line = NULL, h[HASH_B64 + 1];
	size_t			 len = 0;
	ssize_t			 w;
	unsigned long long	 mine, gen, target;
	off_t			 tsize;
	int			 r, err, rc;

	if (pthread_mutex_lock(&a->mu) != 0)
		return ob_errf(OB_ERR_INTERNAL, "audit mutex");
	if (a->failed) {
		r = OB_ERR_AUDIT_FAILED;
		goto out;
	}
	OB_TRY(build_line(ev, a->seq + 1, a->prev, &line, &len));
	OB_TRY(hash_b64(line, len - 1, h));
	/* One write: O_APPEND puts the whole line at the end at once. */
	do
		w = write(a->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len) {
		err = w < 0 ? errno : 0;
		/*
		 * A full disk or a file-size limit: cut what may have been
		 * written and the record is as it was, so that it takes lines
		 * again once there is room.  If even that fails, what is on
		 * disk is unknown, and a guess would break the chain.
		 */
		if (ftruncate(a->fd, a->size) != 0)
			a->failed = 1;
		r = ob_errf(OB_ERR_AUDIT_FAILED, "%s%s", err != 0 ?
		    strerror(err) : "short write", a->failed ? "" :
		    " (the line was cut; the record takes lines again)");
		goto out;
	}
	a->seq++;
	memcpy(a->prev, h, sizeof(h));
	a->size += (off_t)len;
	mine = a->seq;
	gen = a->gen;
	/* Durable before returning: share an fsync, or do one. */
	while (a->gen == gen && !a->failed && a->synced_seq < mine) {
		if (a->syncing) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		a->syncing = 1;
		target = a->seq;
		memcpy(h, a->prev, sizeof(h));
		tsize = a->size;
		(void)pthread_mutex_unlock(&a->mu);
		rc = fsync(a->fd);
		(void)pthread_mutex_lock(&a->mu);
		a->syncing = 0;
		if (rc == 0) {
			a->synced_seq = target;
			memcpy(a->synced_prev, h, sizeof(h));
			a->synced_size = tsize;
		} else
			(void)roll_back(a);
		pthread_cond_broadcast(&a->cv);
	}
	if (a->gen != gen || a->synced_seq < mine) {
		r = ob_errf(OB_ERR_AUDIT_FAILED, "fsync failed%s",
		    a->failed ? "" : " (the unsynced lines were cut; the "
		    "record takes lines again)");
		goto out;
	}
	if (seq != NULL)
		*seq = mine;
	r = OB_OK;
out:
	(void)pthread_mutex_unlock(&a->mu);
	free(line);
	return r;
}

/*
 * Make every line written durable (under the lock): wait for a running
 * group commit, then fsync what it did not cover.
 */
static int
sync_all(struct ob_audit *a)
{
	while (a->syncing)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->synced_seq == a->seq)
		return OB_OK;
	if (fsync(a->fd) != 0) {
		(void)roll_back(a);
		pthread_cond_broadcast(&a->cv);
		return ob_errf(OB_ERR_AUDIT_FAILED, "fsync failed%s",
		    a->failed ? "" : " (the unsynced lines were cut)");
	}
	a->synced_seq = a->seq;
	memcpy(a->synced_prev, a->prev, sizeof(a->prev));
	a->synced_size = a->size;
	pthread_cond_broadcast(&a->cv);
	return OB_OK;
}

/* A new, empty record file at path, locked (docs/audit.md, "Rotating"). */
static int
open_next(const char *path, int *fdp)
{
	struct stat	st;
	int		fd, created = 0, r;

	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) >= 0)
		created = 1;
	else if (errno == EEXIST)
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ? ob_errf(OB_ERR_AUDIT_LOCKED, "%s",
		    path) : ob_errf(OB_ERR_IO, "%s: flock: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = ob_errf(OB_ERR_IO, "%s: not a regular file", path);
		goto fail;
	}
	/* An empty file (logrotate's "create") continues the chain; lines
	 * there are another record's, not ours to continue. */
	if (st.st_size != 0) {
		r = ob_errf(OB_ERR_AUDIT_TAIL, "%s holds %lld bytes of another "
		    "record: move it away", path, (long long)st.st_size);
		goto fail;
	}
	if (created && (r = sync_dir(path)) != OB_OK)
		goto fail;
	*fdp = fd;
	return OB_OK;
fail:
	close(fd);
	return r;
}

int
ob_audit_reopen(struct ob_audit *a, const char *path, int *reopened)
{
	struct stat	 cur, at;
	int		 fd = -1, r;

	*reopened = 0;
	if (pthread_mutex_lock(&a->mu) != 0)
		return ob_errf(OB_ERR_INTERNAL, "audit mutex");
	if (a->failed) {
		r = OB_ERR_AUDIT_FAILED;
		goto out;
	}
	if (fstat(a->fd, &cur) != 0) {
		r = ob_errf(OB_ERR_IO, "fstat: %s", strerror(errno));
		goto out;
	}
	/* Still the file at path: nothing to do. */
	if (lstat(path, &at) == 0 && at.st_dev == cur.st_dev &&
	    at.st_ino == cur.st_ino) {
		r = OB_OK;
		goto out;
	}
	/* The old file's lines all durable before it is let go. */
	OB_TRY(sync_all(a));
	OB_TRY(open_next(path, &fd));
	close(a->fd);
	a->fd = fd;
	/* seq and prev go on: the new file's line 1 continues the chain. */
	a->size = a->synced_size = 0;
	*reopened = 1;
	r = OB_OK;
out:
	(void)pthread_mutex_unlock(&a->mu);
	return r;
}

unsigned long long
ob_audit_seq(struct ob_audit *a)
{
	unsigned long long seq;

	(void)pthread_mutex_lock(&a->mu);
	seq = a->seq;
	(void)pthread_mutex_unlock(&a->mu);
	return seq;
}

int
ob_audit_rotate(struct ob_audit *a, const char *path, char *said,
    size_t size)
{
	int re, r;

	if (size > 0)
		said[0] = '\0';
	if ((r = ob_audit_reopen(a, path, &re)) != OB_OK)
		return ob_err_prefix(r, "issuance record: still writing to the "
		    "file it had");
	if (re && size > 0)
		(void)snprintf(said, size, "%s from seq %llu", path,
		    ob_audit_seq(a) + 1);
	return OB_OK;
}

void
ob_audit_free(struct ob_audit **ap)
{
	struct ob_audit *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	(void)pthread_cond_destroy(&a->cv);
	(void)pthread_mutex_destroy(&a->mu);
	free(a);
	*ap = NULL;
}

/*
 * One file of a chain: p is where the chain stands (seq 0 and the genesis
 * hash before the first file), and where it stands after this file.
 * With p->any, line 1 may continue a record from before (any seq, any
 * prev): p->first_seq and p->first_prev say where it started.
 */
static int
verify_file(const char *path, struct ob_audit_pos *p,
    unsigned long long *lines, unsigned long long *first_bad)
{
	FILE			*f;
	char			*buf = NULL;
	size_t			 cap = 0, len;
	ssize_t			 got;
	unsigned long long	 n = 0, seq;
	int			 r = OB_OK, any;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	while ((got = getline(&buf, &cap, f)) > 0) {
		len = (size_t)got;
		if (buf[len - 1] != '\n') {
			r = ob_errf(OB_ERR_AUDIT_BROKEN, "line %llu: no newline "
			    "at the end (truncated)", n + 1);
			break;
		}
		if (len > OB_AUDIT_MAX_LINE) {
			r = ob_errf(OB_ERR_AUDIT_BROKEN, "line %llu: longer "
			    "than %d bytes", n + 1, OB_AUDIT_MAX_LINE);
			break;
		}
		any = p->any && p->seq == 0;
		if ((r = check_line(buf, len - 1, any ? 0 : p->seq + 1,
		    any ? NULL : p->prev, &seq, any ? p->first_prev : NULL)) !=
		    OB_OK) {
			r = ob_err_prefix(r, "line %llu", n + 1);
			/* A rotated record's later file, checked alone. */
			if (n == 0 && p->seq == 0 && !p->any) {
				char d[1024];

				(void)snprintf(d, sizeof(d), "%s",
				    ob_err_detail());
				r = ob_errf(r, "%s (if this file continues a "
				    "rotated record: verify it after the files "
				    "before it, or with --continued)", d);
			}
			break;
		}
		if (any)
			p->first_seq = seq;
		p->seq = seq;
		if ((r = hash_b64(buf, len - 1, p->prev)) != OB_OK)
			goto out;
		n++;
	}
	if (r == OB_OK && ferror(f))
		r = ob_errf(OB_ERR_IO, "%s: read error", path);
	if (r == OB_ERR_AUDIT_BROKEN && first_bad != NULL)
		*first_bad = n + 1;
	if ((r == OB_OK || r == OB_ERR_AUDIT_BROKEN) && lines != NULL)
		*lines = n;
out:
	free(buf);
	fclose(f);
	return r;
}

int
ob_audit_pos_init(struct ob_audit_pos *p, int any)
{
	memset(p, 0, sizeof(*p));
	p->any = any;
	return hash_b64(OB_AUDIT_GENESIS, strlen(OB_AUDIT_GENESIS), p->prev);
}

int
ob_audit_verify_next(const char *path, struct ob_audit_pos *p,
    unsigned long long *lines, unsigned long long *first_bad)
{
	return verify_file(path, p, lines, first_bad);
}

int
ob_audit_verify(const char *path, unsigned long long *lines,
    unsigned long long *first_bad)
{
	struct ob_audit_pos	p;
	int			r;

	if ((r = ob_audit_pos_init(&p, 0)) != OB_OK)
		return r;
	return verify_file(path, &p, lines, first_bad);
}

int
ob_audit_verify_main(int argc, char **argv)
{
	struct ob_audit_pos	 p;
	unsigned long long	 lines, total = 0;
	json_t			*o = NULL, *files = NULL;
	const char		*verb = NULL, *file = NULL, *files_v[64];
	char			*s;
	int			 i, n = 0, nf = 0, json = 0, cont = 0, r;

	/* "verify", then FILE..., with --json and --continued anywhere. */
	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--continued") == 0)
			cont = 1;
		else if (n++ == 0)
			verb = argv[i];
		else if (argv[i][0] == '-' ||
		    nf == (int)(sizeof(files_v) / sizeof(files_v[0])))
			nf = -1;
		else if (nf >= 0)
			files_v[nf++] = argv[i];
	if (verb == NULL || strcmp(verb, "verify") != 0 || nf <= 0)
		return ob_cli_usage_error("ownerbind-server audit", json, NULL,
		    "usage: ownerbind-server audit verify [--json] [--continued] "
		    "FILE... (at most 64, oldest first)");
	ob_err_clear();
	if ((r = ob_audit_pos_init(&p, cont)) != OB_OK ||
	    (json && (files = json_array()) == NULL)) {
		file = files_v[0];
		r = r != OB_OK ? r : OB_ERR_ALLOC;
		goto fail;
	}
	for (i = 0; i < nf; i++) {
		file = files_v[i];
		lines = 0;
		if ((r = ob_audit_verify_next(file, &p, &lines, NULL)) != OB_OK)
			goto fail;
		total += lines;
		if (json) {
			if (json_array_append_new(files, json_pack("{s:s,s:I}",
			    "file", file, "lines", (json_int_t)lines)))
				r = OB_ERR_ALLOC;
		} else if (i == 0 && cont && p.first_seq > 1)
			printf("%s: %llu lines from seq %llu, chain intact; it "
			    "continues a record whose last line's hash is %s\n",
			    file, lines, p.first_seq, p.first_prev);
		else
			printf("%s: %llu lines, chain intact\n", file, lines);
	}
	if (json) {
		if ((o = json_pack("{s:s,s:s,s:I,s:I,s:O}", "result", "intact",
		    "file", files_v[0], "lines", (json_int_t)total, "last_seq",
		    (json_int_t)p.seq, "files", files)) != NULL && cont &&
		    p.first_seq > 0)
			(void)(json_object_set_new(o, "first_seq",
			    json_integer((json_int_t)p.first_seq)) ||
			    json_object_set_new(o, "first_prev",
			    json_string(p.first_prev)));
		if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL) {
			printf("%s\n", s);
			free(s);
		}
		json_decref(o);
	} else if (nf > 1)
		printf("%d files: %llu lines (up to seq %llu), chain intact "
		    "across them\n", nf, total, p.seq);
	json_decref(files);
	return 0;
fail:
	json_decref(files);
	if (json) {
		ob_print_error_json("broken", r, 1);
		return 1;
	}
	/* The detail starts with "line N: " when the chain is broken. */
	fprintf(stderr, "%s: %s: %s\n", file, ob_err_detail(),
	    ob_err_text(r));
	return 1;
}
