#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "core/err.h"
#include "tokens/pin.h"

enum pin_kind { PIN_TTY = 1, PIN_FILE, PIN_FD, PIN_ENV, PIN_ASKPASS };

/*
 * The PIN read once per command.  Behind a pointer so that ob_pin_read
 * can fill it through a const source: the cache is not part of what the
 * source means.
 */
struct pin_cache {
	char		*pin;		/* ob_secmem, wiped on free */
};

struct ob_pin_source {
	enum pin_kind	 kind;
	char		*arg;
	int		 fd;
	struct pin_cache *cache;
};

/* Set once, before any thread, by a helper a daemon starts. */
static int refuse_inherited;

void
ob_pin_refuse_inherited(void)
{
	refuse_inherited = 1;
}

void
ob_pin_env_scrub(const char *spec)
{
	char	*v;

	if (spec == NULL || strncmp(spec, "env:", 4) != 0 || spec[4] == '\0')
		return;
	/* getenv's string is the environment's own: the initial block on
	 * the stack, or setenv's copy. */
	if ((v = getenv(spec + 4)) != NULL)
		explicit_bzero(v, strlen(v));
	(void)unsetenv(spec + 4);
}

int
ob_pin_source_parse(const char *spec, struct ob_pin_source **out)
{
	struct ob_pin_source	*s;
	const char		*arg = NULL;
	char			*end;
	long			 fd = -1;
	enum pin_kind		 kind;

	if (spec == NULL && (spec = getenv("OWNERBIND_PIN_SOURCE")) == NULL)
		spec = "tty";
	if (strcmp(spec, "tty") == 0)
		kind = PIN_TTY;
	else if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
		kind = PIN_FILE;
		arg = spec + 5;
	} else if (strncmp(spec, "fd:", 3) == 0) {
		kind = PIN_FD;
		errno = 0;
		fd = strtol(spec + 3, &end, 10);
		if (spec[3] == '\0' || *end != '\0' || errno != 0 || fd < 0 ||
		    fd > INT_MAX)
			return ob_errf(OB_ERR_PIN_SOURCE, "fd: takes a "
			    "descriptor number");
	} else if (strncmp(spec, "env:", 4) == 0 && spec[4] != '\0') {
		kind = PIN_ENV;
		arg = spec + 4;
	} else if (strncmp(spec, "askpass:", 8) == 0 && spec[8] != '\0') {
		kind = PIN_ASKPASS;
		arg = spec + 8;
	} else
		/* Not quoted: what is given where a source belongs may be
		 * the PIN itself. */
		return ob_errf(OB_ERR_PIN_SOURCE, "not a PIN source (%zu "
		    "bytes): tty, file:PATH, fd:N, env:NAME or askpass:PROGRAM",
		    strlen(spec));
	if (refuse_inherited && (kind == PIN_ENV || kind == PIN_FD))
		return ob_errf(OB_ERR_PIN_SOURCE, "%s is not allowed in a "
		    "helper that a daemon starts: the PIN would sit in the "
		    "daemon's %s, in the process that parses network input; "
		    "use file: (mode 0600) or askpass: (docs/pin-sources.md)",
		    kind == PIN_ENV ? "env:" : "fd:", kind == PIN_ENV ?
		    "environment" : "descriptors");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OB_ERR_ALLOC;
	s->kind = kind;
	s->fd = (int)fd;
	if ((s->cache = calloc(1, sizeof(*s->cache))) == NULL ||
	    (arg != NULL && (s->arg = strdup(arg)) == NULL)) {
		free(s->cache);
		free(s);
		return OB_ERR_ALLOC;
	}
	*out = s;
	return OB_OK;
}

static void pin_wipe(char **pin);

void
ob_pin_source_free(struct ob_pin_source **srcp)
{
	if (srcp == NULL || *srcp == NULL)
		return;
	pin_wipe(&(*srcp)->cache->pin);
	free((*srcp)->cache);
	free((*srcp)->arg);
	free(*srcp);
	*srcp = NULL;
}

/* Locked, out of core dumps, fenced: common/secmem.h. */
static char *
pin_alloc(void)
{
	return ob_secmem_alloc(OB_PIN_MAX + 1);
}

static void
pin_wipe(char **pin)
{
	if (pin == NULL || *pin == NULL)
		return;
	ob_secmem_free(*pin);
	*pin = NULL;
}

void
ob_pin_free(char **pin)
{
	pin_wipe(pin);
}

/*
 * Read one line from fd into buf (OB_PIN_MAX + 1 bytes), a byte at a time
 * so nothing after it is eaten, and straight into buf so that no copy of
 * a PIN byte is left on the stack.
 */
static int
pin_read_line(int fd, char *buf)
{
	size_t	n = 0;
	ssize_t	k;

	for (;;) {
		k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return ob_errf(OB_ERR_PIN_SOURCE, "read: %s",
			    strerror(errno));
		if (k == 0 || buf[n] == '\n')
			break;
		if (n >= OB_PIN_MAX)
			return ob_errf(OB_ERR_PIN_SOURCE, "PIN longer than %d "
			    "bytes", OB_PIN_MAX);
		n++;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0)
		return ob_errf(OB_ERR_PIN_SOURCE, "empty PIN");
	return OB_OK;
}

static int
pin_tty(const char *prompt, char *buf)
{
	struct termios	 old, quiet;
	int		 fd, r, restore = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0)
		return ob_errf(OB_ERR_PIN_SOURCE, "no terminal; use "
		    "--pin-source file:, fd:, env: or askpass:");
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	(void)!write(fd, prompt, strlen(prompt));
	r = pin_read_line(fd, buf);
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return r;
}

static int
pin_file(const char *path, char *buf)
{
	struct stat	st;
	int		fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return ob_errf(OB_ERR_PIN_SOURCE, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ob_errf(OB_ERR_PIN_SOURCE, "%s: not a regular file",
		    path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return ob_errf(OB_ERR_PIN_SOURCE, "%s is readable by others; "
		    "chmod 600 it", path);
	}
	r = pin_read_line(fd, buf);
	close(fd);
	return r;
}

static int
pin_askpass(const char *prog, const char *prompt, char *buf)
{
	int	 p[2], status, r;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return ob_errf(OB_ERR_PIN_SOURCE, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return ob_errf(OB_ERR_PIN_SOURCE, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execlp(prog, prog, prompt, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	r = pin_read_line(p[0], buf);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == OB_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		r = ob_errf(OB_ERR_PIN_SOURCE, "askpass program %s failed",
		    prog);
	return r;
}

/* One read from the source itself (no cache) into buf. */
static int
pin_fetch(const struct ob_pin_source *src, const char *prompt, char *buf)
{
	const char	*v;

	switch (src->kind) {
	case PIN_TTY:
		return pin_tty(prompt, buf);
	case PIN_FILE:
		return pin_file(src->arg, buf);
	case PIN_FD:
		return pin_read_line(src->fd, buf);
	case PIN_ENV:
		if ((v = getenv(src->arg)) == NULL || *v == '\0')
			return ob_errf(OB_ERR_PIN_SOURCE, "$%s is not set",
			    src->arg);
		if (strlen(v) > OB_PIN_MAX)
			return ob_errf(OB_ERR_PIN_SOURCE, "PIN longer than %d "
			    "bytes", OB_PIN_MAX);
		memcpy(buf, v, strlen(v) + 1);
		return OB_OK;
	case PIN_ASKPASS:
		return pin_askpass(src->arg, prompt, buf);
	default:
		return OB_ERR_INTERNAL;
	}
}

static int
pin_read(const struct ob_pin_source *src, const char *prompt, int confirm,
    char **pin)
{
	char	*buf, *again = NULL, p2[96];
	int	 r;

	if ((buf = pin_alloc()) == NULL)
		return OB_ERR_ALLOC;
	if (src->cache->pin != NULL) {
		memcpy(buf, src->cache->pin, OB_PIN_MAX + 1);
		*pin = buf;
		return OB_OK;
	}
	r = pin_fetch(src, prompt, buf);
	/* A secret typed by a person for something new: type it twice. */
	if (r == OB_OK && confirm && (src->kind == PIN_TTY ||
	    src->kind == PIN_ASKPASS)) {
		(void)snprintf(p2, sizeof(p2), "Again, to confirm: ");
		if ((again = pin_alloc()) == NULL)
			r = OB_ERR_ALLOC;
		else if ((r = pin_fetch(src, p2, again)) == OB_OK &&
		    CRYPTO_memcmp(buf, again, OB_PIN_MAX + 1) != 0)
			r = ob_errf(OB_ERR_PIN_SOURCE, "the two entries differ; "
			    "nothing was created");
		ob_pin_free(&again);
	}
	if (r != OB_OK) {
		ob_pin_free(&buf);
		return r;
	}
	/* One prompt per command: keep a locked copy until the source is freed. */
	if ((src->cache->pin = pin_alloc()) != NULL)
		memcpy(src->cache->pin, buf, OB_PIN_MAX + 1);
	*pin = buf;
	return OB_OK;
}

int
ob_pin_read(const struct ob_pin_source *src, const char *prompt, char **pin)
{
	return pin_read(src, prompt, 0, pin);
}

int
ob_pin_read_new(const struct ob_pin_source *src, const char *prompt,
    char **pin)
{
	return pin_read(src, prompt, 1, pin);
}

void
ob_pin_forget(const struct ob_pin_source *src)
{
	if (src != NULL)
		pin_wipe(&src->cache->pin);
}
