#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/cliutil.h"
#include "core/err.h"

int
ob_read_all(const char *path, size_t max, char **out, size_t *outlen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 r = OB_OK;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	if ((buf = malloc(max + 2)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f))
		r = ob_errf(OB_ERR_IO, "%s: read error", path);
	else if (n > max)
		r = ob_errf(OB_ERR_ENV_TOO_LARGE, "%s: more than %zu bytes",
		    path, max);
	if (r != OB_OK) {
		free(buf);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
out:
	if (f != stdin)
		fclose(f);
	return r;
}

static int
write_fd(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 k;

	while (len > 0) {
		if ((k = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return ob_errf(OB_ERR_IO, "write: %s", strerror(errno));
		}
		p += k;
		len -= (size_t)k;
	}
	return OB_OK;
}

int
ob_write_all(const char *path, const void *data, size_t len,
    unsigned int mode)
{
	struct stat	 st;
	char		 tmp[PATH_MAX];
	int		 fd, r;

	if (path == NULL || strcmp(path, "-") == 0) {
		if ((r = write_fd(STDOUT_FILENO, data, len)) != OB_OK)
			return r;
		return OB_OK;
	}
	/*
	 * Not a regular file (/dev/null, /dev/stdout, a FIFO): write into
	 * it.  Renaming over it would replace the device or pipe with a file.
	 */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return ob_errf(OB_ERR_IO, "%s: a directory", path);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
			return ob_errf(OB_ERR_IO, "%s: %s", path,
			    strerror(errno));
		r = write_fd(fd, data, len);
		close(fd);
		return r;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp))
		return ob_errf(OB_ERR_IO, "path too long");
	if ((fd = mkstemp(tmp)) < 0)
		return ob_errf(OB_ERR_IO, "%s: %s", tmp, strerror(errno));
	if ((r = write_fd(fd, data, len)) != OB_OK)
		goto fail;
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return r;
	}
	return OB_OK;
fail:
	close(fd);
	(void)unlink(tmp);
	return r;
}

int
ob_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return ob_errf(OB_ERR_USAGE, "\"%.32s\" is not a number in "
		    "%lld..%lld", s, min, max);
	*out = v;
	return OB_OK;
}

void
ob_cli_span(long long secs, char *buf, size_t n)
{
	if (secs < 0)
		secs = -secs;
	if (secs < 120)
		(void)snprintf(buf, n, "%llds", secs);
	else if (secs < 7200)
		(void)snprintf(buf, n, "%lldm", secs / 60);
	else if (secs < 172800)
		(void)snprintf(buf, n, "%lldh", secs / 3600);
	else
		(void)snprintf(buf, n, "%lldd", secs / 86400);
}

void
ob_cli_when(long long t, long long now, char *buf, size_t n)
{
	char		abs[32], span[32];
	time_t		tt = (time_t)t;
	struct tm	tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(abs, sizeof(abs), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(abs, sizeof(abs), "%lld", t);
	ob_cli_span(t - now, span, sizeof(span));
	if (t == now)
		(void)snprintf(buf, n, "%s (now)", abs);
	else
		(void)snprintf(buf, n, t > now ? "%s (in %s)" : "%s (%s ago)",
		    abs, span);
}

void
ob_print_error(const char *prog, int code)
{
	const char *d = ob_err_detail();

	fprintf(stderr, "%s: %s: %s%s%s%s\n  next step: %s\n", prog,
	    ob_err_name(code), ob_err_text(code), d[0] != '\0' ? " (" : "", d,
	    d[0] != '\0' ? ")" : "", ob_err_hint(code));
}

void
ob_print_error_json(const char *result, int code, int status)
{
	json_t	*o;
	char	*s;

	if ((o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:i}", "result", result,
	    "error", ob_err_name(code), "code", code, "message",
	    ob_err_text(code), "detail", ob_err_detail(), "next_step",
	    ob_err_hint(code), "exit", status)) == NULL)
		return;
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

int
ob_cli_has_option(int argc, char **argv, const char *opt)
{
	size_t	n = strlen(opt);
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strncmp(argv[i], opt, n) == 0 &&
		    (argv[i][n] == '\0' || argv[i][n] == '='))
			return 1;
	}
	return 0;
}

int
ob_cli_usage_error(const char *prog, int json, void (*usage)(FILE *),
    const char *what)
{
	if (json) {
		(void)ob_errf(OB_ERR_USAGE, "%s", what != NULL ? what :
		    "wrong options or operands");
		ob_print_error_json("error", OB_ERR_USAGE, 2);
		return 2;
	}
	if (what != NULL)
		fprintf(stderr, "%s: %s\n", prog, what);
	if (usage != NULL)
		usage(stderr);
	return 2;
}

const char *
ob_cli_badopt(int argc, char **argv)
{
	static char	m[128];
	const char	*a;

	/* getopt has stepped past the option it refused. */
	a = optind - 1 >= 1 && optind - 1 < argc ? argv[optind - 1] : "?";
	if (optopt != 0 && optopt < 128 && a[0] == '-' && a[1] != '-')
		(void)snprintf(m, sizeof(m), "unknown option -%c or its "
		    "argument is missing", optopt);
	else
		(void)snprintf(m, sizeof(m), "unknown option \"%.64s\" or its "
		    "argument is missing", a);
	return m;
}

void
ob_print_version(const char *prog, const char *version, const char *extra)
{
	printf("%s %s\n", prog, version);
	printf("  %s, jansson %s\n", OpenSSL_version(OPENSSL_VERSION),
	    jansson_version_str());
	if (extra != NULL)
		printf("  %s\n", extra);
}
