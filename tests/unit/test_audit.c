/*
 * The issuance record (server/audit.c): the chain verifies; a flipped
 * byte, a deleted, reordered or inserted line and a truncated last line
 * are each found at the right line; four threads appending keep the chain
 * valid; reopening resumes the chain and refuses a damaged tail.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alg.h"
#include "server/audit.h"
#include "core/b64url.h"
#include "tests/unit/obtest.h"

#define NLINES	8

static char dir[] = "/tmp/ob-audit-XXXXXX";
static char path[256], copy[256];
static const char *peer = "proxy-eu-1";

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/record.jsonl", dir);
	snprintf(copy, sizeof(copy), "%s/copy.jsonl", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);	/* lint: ok: rm -rf of this test's mkdtemp */
}

static void
event(struct ob_audit_event *ev, int i)
{
	static char	 rid[32], jti[32];

	memset(ev, 0, sizeof(*ev));
	snprintf(rid, sizeof(rid), "req-%d", i);
	snprintf(jti, sizeof(jti), "jti-%d", i);
	ev->ts_ms = 1800000000000LL + i;
	ev->request_id = rid;
	ev->peer = peer;
	ev->accepted = i % 2 == 0;
	ev->code = ev->accepted ? OB_OK : OB_ERR_REPLAY;
	ev->detail = ev->accepted ? NULL : "jti \"x\" seen before";
	ev->agent = T_SUB;
	ev->owner = T_OWNER;
	ev->model = "agent-mediated";
	ev->jti = jti;
	ev->envelope_sha256 = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
	if (ev->accepted) {
		ev->cred_jti = "c-1";
		ev->cred_serial = "0123456789abcdef0123456789abcdef";
		ev->cred_exp = 1800003600LL;
	}
}

/* A fresh record of n lines at path. */
static void
make_record(int n)
{
	struct ob_audit		*a = NULL;
	struct ob_audit_event	 ev;
	unsigned long long	 seq;
	int			 i;

	(void)unlink(path);
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	for (i = 0; i < n; i++) {
		event(&ev, i);
		assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);
		assert_int_equal(seq, (unsigned long long)i + 1);
	}
	ob_audit_free(&a);
	assert_null(a);
}

/* The record's lines, each with its newline. */
struct lines {
	char	*l[NLINES + 4];
	size_t	 len[NLINES + 4];
	int	 n;
};

static void
read_lines(struct lines *ls)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 cap = 0;
	ssize_t	 got;

	memset(ls, 0, sizeof(*ls));
	assert_non_null(f = fopen(path, "r"));
	while ((got = getline(&buf, &cap, f)) > 0) {
		assert_true(ls->n < NLINES + 4);
		ls->l[ls->n] = malloc((size_t)got);
		memcpy(ls->l[ls->n], buf, (size_t)got);
		ls->len[ls->n++] = (size_t)got;
	}
	free(buf);
	fclose(f);
}

static void
free_lines(struct lines *ls)
{
	int i;

	for (i = 0; i < ls->n; i++)
		free(ls->l[i]);
}

/* Write lines in the order given by idx (n entries) to copy. */
static void
write_order(const struct lines *ls, const int *idx, int n)
{
	FILE	*f;
	int	 i;

	assert_non_null(f = fopen(copy, "w"));
	for (i = 0; i < n; i++)
		assert_int_equal(fwrite(ls->l[idx[i]], 1, ls->len[idx[i]], f),
		    ls->len[idx[i]]);
	assert_int_equal(fclose(f), 0);
}

/* Verify copy: expect the chain to break at line bad (0: intact, n lines). */
static void
expect(unsigned long long bad, unsigned long long n)
{
	unsigned long long	lines = 99, first = 0;
	int			r;

	r = ob_audit_verify(copy, &lines, &first);
	if (bad == 0) {
		assert_int_equal(r, OB_OK);
		assert_int_equal(lines, n);
		return;
	}
	if (r != OB_ERR_AUDIT_BROKEN || first != bad)
		fail_msg("expected a break at line %llu, got %s at %llu (%s)",
		    bad, ob_err_name(r), first, ob_err_detail());
	assert_int_equal(lines, bad - 1);
}

static void
test_chain_verifies(void **state)
{
	struct lines	ls;
	int		idx[NLINES], i;

	(void)state;
	make_record(NLINES);
	read_lines(&ls);
	assert_int_equal(ls.n, NLINES);
	for (i = 0; i < NLINES; i++)
		idx[i] = i;
	write_order(&ls, idx, NLINES);
	expect(0, NLINES);
	/* The first line's prev is the documented genesis hash. */
	assert_non_null(strstr(ls.l[0], "\"prev\":\""
	    "-RPPRNaGtG6_6ZKF5nQ8H2r4vVJpWFViPrtiuMTqYKo\""));
	assert_non_null(strstr(ls.l[0], "\"seq\":1,"));
	assert_non_null(strstr(ls.l[0], "\"decision\":\"accepted\""));
	assert_non_null(strstr(ls.l[0], "\"credential\":{\"jti\":\"c-1\""));
	assert_non_null(strstr(ls.l[1], "\"code\":\"OB_ERR_REPLAY\""));
	free_lines(&ls);
	/* An empty record is a valid one of no lines. */
	{
		FILE *f = fopen(copy, "w");

		assert_non_null(f);
		fclose(f);
	}
	expect(0, 0);
}

/* Every byte of a middle line and of the last line, flipped in turn. */
static void
test_flipped_byte(void **state)
{
	struct lines	 ls;
	FILE		*f;
	int		 k, i, j, which[] = { 0, 3, NLINES - 1 };
	size_t		 b;

	(void)state;
	make_record(NLINES);
	read_lines(&ls);
	for (k = 0; k < 3; k++) {
		j = which[k];
		for (b = 0; b < ls.len[j]; b++) {
			ls.l[j][b] ^= 0x01;
			assert_non_null(f = fopen(copy, "w"));
			for (i = 0; i < ls.n; i++)
				fwrite(ls.l[i], 1, ls.len[i], f);
			fclose(f);
			ls.l[j][b] ^= 0x01;
			expect((unsigned long long)j + 1, 0);
		}
	}
	free_lines(&ls);
}

static void
test_deleted_line(void **state)
{
	struct lines	ls;
	int		idx[NLINES], i, k, n;

	(void)state;
	make_record(NLINES);
	read_lines(&ls);
	for (k = 0; k < NLINES; k++) {
		for (i = 0, n = 0; i < NLINES; i++)
			if (i != k)
				idx[n++] = i;
		write_order(&ls, idx, n);
		/*
		 * The last line's deletion leaves a shorter valid chain:
		 * only an outside anchor (the last seq) can tell
		 * (docs/audit.md).
		 */
		if (k == NLINES - 1)
			expect(0, NLINES - 1);
		else {
			expect((unsigned long long)k + 1, 0);
			/* seq is checked first: it says what happened */
			assert_non_null(strstr(ob_err_detail(), "\"seq\" is"));
		}
	}
	free_lines(&ls);
}

static void
test_reordered_pair(void **state)
{
	struct lines	ls;
	int		idx[NLINES], i, k;

	(void)state;
	make_record(NLINES);
	read_lines(&ls);
	for (k = 0; k + 1 < NLINES; k++) {
		for (i = 0; i < NLINES; i++)
			idx[i] = i;
		idx[k] = k + 1;
		idx[k + 1] = k;
		write_order(&ls, idx, NLINES);
		expect((unsigned long long)k + 1, 0);
	}
	free_lines(&ls);
}

static void
test_inserted_line(void **state)
{
	struct lines		 ls, other;
	struct ob_audit_event	 ev;
	struct ob_audit		*a = NULL;
	FILE			*f;
	int			 i, k;

	(void)state;
	/* A line from another, valid record of its own. */
	peer = "proxy-us-2";
	make_record(3);
	read_lines(&other);
	peer = "proxy-eu-1";
	make_record(NLINES);
	read_lines(&ls);
	for (k = 0; k <= NLINES; k++) {
		/* a copy of a later line, and a foreign line */
		for (i = 0; i < 2; i++) {
			int j, c = (k + 1) % NLINES;

			assert_non_null(f = fopen(copy, "w"));
			for (j = 0; j < NLINES; j++) {
				if (j == k)
					fwrite(i == 0 ? ls.l[c] : other.l[2], 1,
					    i == 0 ? ls.len[c] : other.len[2],
					    f);
				fwrite(ls.l[j], 1, ls.len[j], f);
			}
			if (k == NLINES)
				fwrite(i == 0 ? ls.l[c] : other.l[2], 1,
				    i == 0 ? ls.len[c] : other.len[2], f);
			fclose(f);
			expect((unsigned long long)k + 1, 0);
		}
	}
	free_lines(&ls);
	free_lines(&other);
	/* And the file stays appendable after the check. */
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	event(&ev, 100);
	assert_int_equal(ob_audit_append(a, &ev, NULL), OB_OK);
	ob_audit_free(&a);
}

static void
test_truncated_last_line(void **state)
{
	struct lines		 ls;
	struct ob_audit		*a = NULL;
	FILE			*f;
	size_t			 cut;
	int			 i;

	(void)state;
	make_record(NLINES);
	read_lines(&ls);
	for (cut = 1; cut < ls.len[NLINES - 1]; cut++) {
		assert_non_null(f = fopen(copy, "w"));
		for (i = 0; i < NLINES - 1; i++)
			fwrite(ls.l[i], 1, ls.len[i], f);
		fwrite(ls.l[NLINES - 1], 1, cut, f);
		fclose(f);
		expect(NLINES, 0);
		/* The writer refuses to continue such a record. */
		assert_int_equal(ob_audit_open(copy, &a), OB_ERR_AUDIT_TAIL);
		assert_null(a);
	}
	/* A complete last line whose newline became another byte. */
	assert_non_null(f = fopen(copy, "w"));
	for (i = 0; i < NLINES - 1; i++)
		fwrite(ls.l[i], 1, ls.len[i], f);
	fwrite(ls.l[NLINES - 1], 1, ls.len[NLINES - 1] - 1, f);
	fputc(' ', f);
	fclose(f);
	expect(NLINES, 0);
	assert_int_equal(ob_audit_open(copy, &a), OB_ERR_AUDIT_TAIL);
	assert_null(a);
	free_lines(&ls);
}

static void
test_reopen_resumes(void **state)
{
	struct ob_audit		*a = NULL, *b = NULL;
	struct ob_audit_event	 ev;
	struct stat		 st;
	unsigned long long	 seq, lines;
	FILE			*f;
	int			 i;

	(void)state;
	make_record(3);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	for (i = 0; i < 2; i++) {
		assert_int_equal(ob_audit_open(path, &a), OB_OK);
		/* One writer per file. */
		assert_int_equal(ob_audit_open(path, &b), OB_ERR_AUDIT_LOCKED);
		assert_null(b);
		event(&ev, 10 + i);
		assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);
		assert_int_equal(seq, 4 + (unsigned long long)i);
		ob_audit_free(&a);
	}
	assert_int_equal(ob_audit_verify(path, &lines, NULL), OB_OK);
	assert_int_equal(lines, 5);
	/* A changed last line is refused at open. */
	{
		struct lines ls;

		read_lines(&ls);
		ls.l[4][20] ^= 0x02;
		assert_non_null(f = fopen(path, "w"));
		for (i = 0; i < ls.n; i++)
			fwrite(ls.l[i], 1, ls.len[i], f);
		fclose(f);
		free_lines(&ls);
	}
	assert_int_equal(ob_audit_open(path, &a), OB_ERR_AUDIT_TAIL);
	assert_null(a);
}

/* Hostile strings still give a line: cut, and non-UTF-8 made '?'. */
static void
test_hostile_strings(void **state)
{
	struct ob_audit		*a = NULL;
	struct ob_audit_event	 ev;
	char			*big;
	unsigned long long	 lines;

	(void)state;
	(void)unlink(path);
	big = malloc(100000);
	/* control characters: six bytes each once escaped */
	memset(big, '\x01', 99999);
	big[99999] = '\0';
	big[5] = (char)0xff;
	big[6] = (char)0xc3;		/* cut sequence */
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	event(&ev, 1);
	ev.detail = big;
	ev.peer = big;
	ev.agent = big;
	ev.request_id = big;
	ev.owner = big;
	ev.jti = big;
	ev.cred_jti = big;
	ev.cred_exp = 1;
	ev.cred_serial = big;
	ev.model = big;
	ev.envelope_sha256 = big;
	assert_int_equal(ob_audit_append(a, &ev, NULL), OB_OK);
	ob_audit_free(&a);
	free(big);
	assert_int_equal(ob_audit_verify(path, &lines, NULL), OB_OK);
	assert_int_equal(lines, 1);
}

#define NTHREADS	4
#define PER_THREAD	200

static void *
appender(void *arg)
{
	struct ob_audit		*a = arg;
	struct ob_audit_event	 ev;
	int			 i;

	memset(&ev, 0, sizeof(ev));
	ev.peer = "t";
	ev.detail = "concurrent";
	for (i = 0; i < PER_THREAD; i++)
		if (ob_audit_append(a, &ev, NULL) != OB_OK)
			return (void *)1;
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct ob_audit		*a = NULL;
	pthread_t		 th[NTHREADS];
	unsigned long long	 lines;
	void			*ret;
	int			 i;

	(void)state;
	(void)unlink(path);
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, appender, a), 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	ob_audit_free(&a);
	assert_int_equal(ob_audit_verify(path, &lines, NULL), OB_OK);
	assert_int_equal(lines, NTHREADS * PER_THREAD);
}

/*
 * A write cut short (here by RLIMIT_FSIZE, in a child) fails its line and
 * is cut back: the record is whole, and takes lines again once the disk
 * does (decision 101).  Without the cut the partial line would stay and
 * break the chain at line 3.
 */
static void
test_short_write(void **state)
{
	struct ob_audit		*a = NULL;
	struct ob_audit_event	 ev;
	struct stat		 st;
	unsigned long long	 lines = 0, bad = 0;
	pid_t			 pid;
	int			 status;

	(void)state;
	make_record(2);
	assert_int_equal(stat(path, &st), 0);
	if ((pid = fork()) == 0) {
		struct rlimit	rl;
		int		ok;

		(void)signal(SIGXFSZ, SIG_IGN);
		if (ob_audit_open(path, &a) != OB_OK ||
		    getrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(10);
		rl.rlim_cur = (rlim_t)st.st_size + 40;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		event(&ev, 3);
		ok = ob_audit_append(a, &ev, NULL) == OB_ERR_AUDIT_FAILED;
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_FSIZE, &rl);
		ok = ok && ob_audit_append(a, &ev, NULL) == OB_OK;
		ob_audit_free(&a);
		_exit(ok ? 0 : 12);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(ob_audit_verify(path, &lines, &bad), OB_OK);
	assert_int_equal(lines, 3);
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	ob_audit_free(&a);
}

/* Write a one-line record of body + its hash member, as the writer would. */
static void
craft(const char *body)
{
	unsigned char	 md[32];
	char		*h = NULL;
	FILE		*f;

	assert_int_equal(ob_sha256(body, strlen(body), md), OB_OK);
	assert_int_equal(ob_b64url_encode(md, sizeof(md), &h), OB_OK);
	assert_non_null(f = fopen(copy, "w"));
	fprintf(f, "%s,\"hash\":\"%s\"}\n", body, h);
	fclose(f);
	free(h);
}

#define GENESIS	"\"prev\":\"-RPPRNaGtG6_6ZKF5nQ8H2r4vVJpWFViPrtiuMTqYKo\""

/* Lines whose own hash is right but whose content is not a record line. */
static void
test_crafted_lines(void **state)
{
	struct ob_audit	*a = NULL;
	char		*big;

	(void)state;
	craft("{\"seq\":1,\"ts\":\"t\"," GENESIS ",\"decision\":\"accepted\"");
	expect(0, 1);		/* the crafting itself is right */
	craft("{\"seq\":1,\"ts\":\"t\"," GENESIS ",\"decision\":\"accepted\","
	    "\"evil\":1");
	expect(1, 0);
	craft("{\"seq\":1,\"ts\":\"t\"," GENESIS ",\"decision\":\"maybe\"");
	expect(1, 0);
	craft("{\"seq\":1," GENESIS ",\"decision\":\"accepted\"");
	expect(1, 0);
	craft("{\"seq\":0,\"ts\":\"t\"," GENESIS ",\"decision\":\"accepted\"");
	expect(1, 0);
	craft("{\"seq\":1,\"ts\":\"t\",\"prev\":\"x\",\"decision\":\"accepted\"");
	expect(1, 0);
	/* A well-formed line beyond the limit. */
	big = malloc(OB_AUDIT_MAX_LINE + 200);
	snprintf(big, 200, "{\"seq\":1,\"ts\":\"t\"," GENESIS
	    ",\"decision\":\"accepted\",\"detail\":\"");
	{
		size_t n = strlen(big);

		memset(big + n, 'a', OB_AUDIT_MAX_LINE);
		big[n + OB_AUDIT_MAX_LINE] = '"';
		big[n + OB_AUDIT_MAX_LINE + 1] = '\0';
	}
	craft(big);
	expect(1, 0);
	assert_non_null(strstr(ob_err_detail(), "longer than"));
	assert_int_equal(ob_audit_open(copy, &a), OB_ERR_AUDIT_TAIL);
	assert_non_null(strstr(ob_err_detail(), "longer than"));
	free(big);
}

/* docs/audit.md's test vector is a record this checker accepts. */
static void
test_doc_vector(void **state)
{
	const char		*docs = getenv("OB_DOCS");
	char			 p[512], *buf = NULL, *at, *end;
	unsigned long long	 lines = 0;
	size_t			 cap = 0;
	FILE			*f;

	(void)state;
	if (docs == NULL)
		skip();
	snprintf(p, sizeof(p), "%s/audit.md", docs);
	assert_non_null(f = fopen(p, "r"));
	assert_true(getdelim(&buf, &cap, '\0', f) > 0);
	fclose(f);
	assert_non_null(at = strstr(buf, "## Example (test vector)"));
	assert_non_null(at = strstr(at, "```\n"));
	at += 4;
	assert_non_null(end = strstr(at, "```"));
	assert_non_null(f = fopen(copy, "w"));
	fwrite(at, 1, (size_t)(end - at), f);
	fclose(f);
	free(buf);
	assert_int_equal(ob_audit_verify(copy, &lines, NULL), OB_OK);
	assert_int_equal(lines, 2);
}

/* Verify files oldest first; expect a break in file bad_file (1-based)
 * at line bad_line, or 0: intact with total lines in all. */
static void
expect_files(const char *const *files, int n, int any, int bad_file,
    unsigned long long bad_line, unsigned long long total)
{
	struct ob_audit_pos	p;
	unsigned long long	lines, first, all = 0;
	int			i, r = OB_OK;

	assert_int_equal(ob_audit_pos_init(&p, any), OB_OK);
	for (i = 0; i < n; i++) {
		first = 0;
		r = ob_audit_verify_next(files[i], &p, &lines, &first);
		if (r != OB_OK)
			break;
		all += lines;
	}
	if (bad_file == 0) {
		if (r != OB_OK)
			fail_msg("file %d: %s (%s)", i + 1, ob_err_name(r),
			    ob_err_detail());
		assert_int_equal(all, total);
		return;
	}
	if (r != OB_ERR_AUDIT_BROKEN || i + 1 != bad_file || first != bad_line)
		fail_msg("expected a break in file %d at line %llu, got %s in "
		    "%d at %llu (%s)", bad_file, bad_line, ob_err_name(r),
		    i + 1, first, ob_err_detail());
}

/*
 * Rotation (decision 160): renamed away, the record goes on in a new file
 * at its path whose line 1 continues the chain; the files verify in
 * order, a later one alone only with "continued", and a missing or moved
 * file breaks the chain at the next one's line 1.
 */
static void
test_rotate(void **state)
{
	struct ob_audit		*a = NULL;
	struct ob_audit_event	 ev;
	struct ob_audit_pos	 p;
	unsigned long long	 seq, lines;
	char			 r1[300], r2[300];
	const char		*f[3];
	FILE			*fp;
	int			 i, re = -1;

	(void)state;
	snprintf(r1, sizeof(r1), "%s.1", path);
	snprintf(r2, sizeof(r2), "%s.2", path);
	(void)unlink(r1);
	(void)unlink(r2);
	make_record(3);
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	/* The path still names the file: nothing happens. */
	assert_int_equal(ob_audit_reopen(a, path, &re), OB_OK);
	assert_int_equal(re, 0);
	/* logrotate without "create": rename; the next line goes to a new
	 * file at path. */
	assert_int_equal(rename(path, r2), 0);
	event(&ev, 3);
	assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);	/* to r2 */
	assert_int_equal(ob_audit_reopen(a, path, &re), OB_OK);
	assert_int_equal(re, 1);
	for (i = 4; i < 6; i++) {
		event(&ev, i);
		assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);
	}
	assert_int_equal(seq, 6);
	/* With "create": an empty file is there already. */
	assert_int_equal(rename(path, r1), 0);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_int_equal(ob_audit_reopen(a, path, &re), OB_OK);
	assert_int_equal(re, 1);
	event(&ev, 6);
	assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);
	assert_int_equal(ob_audit_seq(a), 7);
	ob_audit_free(&a);
	/* r2: lines 1-4, r1: 5-6, path: 7. */
	f[0] = r2; f[1] = r1; f[2] = path;
	expect_files(f, 3, 0, 0, 0, 7);
	assert_int_equal(ob_audit_verify(r2, &lines, NULL), OB_OK);
	assert_int_equal(lines, 4);
	/* A later file alone: broken at line 1, unless continued. */
	expect_files(f + 1, 2, 0, 1, 1, 0);
	assert_non_null(strstr(ob_err_detail(), "--continued"));
	expect_files(f + 1, 2, 1, 0, 0, 3);
	assert_int_equal(ob_audit_pos_init(&p, 1), OB_OK);
	assert_int_equal(ob_audit_verify_next(r1, &p, &lines, NULL), OB_OK);
	assert_int_equal(p.first_seq, 5);
	assert_int_equal(p.seq, 6);
	assert_int_equal(strlen(p.first_prev), 43);
	/* A file left out, or two in the wrong order. */
	f[0] = r2; f[1] = path;
	expect_files(f, 2, 0, 2, 1, 0);
	f[0] = r1; f[1] = r2;
	expect_files(f, 2, 1, 2, 1, 0);
	/* Reopened, the record goes on from the new file's last line. */
	assert_int_equal(ob_audit_open(path, &a), OB_OK);
	event(&ev, 7);
	assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);
	assert_int_equal(seq, 8);
	/* A file with lines at path is not continued; the old one is. */
	assert_int_equal(rename(path, copy), 0);
	assert_non_null(fp = fopen(path, "w"));
	fputs("{\"seq\":1}\n", fp);
	fclose(fp);
	assert_int_equal(ob_audit_reopen(a, path, &re), OB_ERR_AUDIT_TAIL);
	assert_int_equal(re, 0);
	event(&ev, 8);
	assert_int_equal(ob_audit_append(a, &ev, &seq), OB_OK);
	ob_audit_free(&a);
	f[0] = r2; f[1] = r1; f[2] = copy;
	expect_files(f, 3, 0, 0, 0, 9);
	(void)unlink(r1);
	(void)unlink(r2);
	(void)unlink(copy);
}

static void
test_verify_main(void **state)
{
	char	 verify[] = "verify", check[] = "check";
	char	*ok[] = { verify, path, NULL };
	char	*bad[] = { verify, copy, NULL };
	char	*usage[] = { check, path, NULL };
	FILE	*f;

	(void)state;
	make_record(2);
	assert_int_equal(ob_audit_verify_main(2, ok), 0);
	assert_non_null(f = fopen(copy, "w"));
	fputs("{\"seq\":1}\n", f);
	fclose(f);
	assert_int_equal(ob_audit_verify_main(2, bad), 1);
	assert_int_equal(ob_audit_verify_main(2, usage), 2);
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(ob_audit_verify_main(2, bad), 1);
	/* Several files: a usage error past 64 or with an unknown flag. */
	{
		char	 flag[] = "--bogus", cont[] = "--continued";
		char	*two[] = { verify, path, path, NULL };
		char	*cflag[] = { verify, cont, path, NULL };
		char	*unknown[] = { verify, path, flag, NULL };
		char	*none[] = { verify, NULL };
		char	*many[70];
		int	 i;

		/* The same file twice: its line 1 does not follow its last. */
		assert_int_equal(ob_audit_verify_main(3, two), 1);
		assert_int_equal(ob_audit_verify_main(3, cflag), 0);
		assert_int_equal(ob_audit_verify_main(3, unknown), 2);
		assert_int_equal(ob_audit_verify_main(1, none), 2);
		many[0] = verify;
		for (i = 1; i < 66; i++)
			many[i] = path;
		assert_int_equal(ob_audit_verify_main(66, many), 2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_verifies),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_deleted_line),
		cmocka_unit_test(test_reordered_pair),
		cmocka_unit_test(test_inserted_line),
		cmocka_unit_test(test_truncated_last_line),
		cmocka_unit_test(test_reopen_resumes),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_short_write),
		cmocka_unit_test(test_crafted_lines),
		cmocka_unit_test(test_doc_vector),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_verify_main),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
