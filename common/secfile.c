/*
 * Secret files (common/secfile.h).  link(2), not rename(2): rename would
 * replace a file that appeared at path after the callers' checks, and
 * every caller promises never to overwrite a key.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/secfile.h"
#include "core/err.h"
#include "core/hex.h"

/* O_EXCL collisions on the random name are retried this many times. */
#define SECFILE_TRIES	8

static int
secfile_ioerr(const char *path, int e)
{
	return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(e));
}

/*
 * dir: path's directory ("." for a bare name), for the fsync that makes
 * the new name durable.  tmp: ".BASE.<16 hex>.tmp" in that directory.
 */
static int
secfile_names(const char *path, char *dir, char *tmp)
{
	const char		*slash, *base;
	unsigned char		 rnd[8];
	char			 suffix[2 * sizeof(rnd) + 1];
	size_t			 dirlen;
	int			 n;

	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (*base == '\0')
		return ob_errf(OB_ERR_IO, "%s: not a file name", path);
	dirlen = slash != NULL ? (size_t)(slash - path) : 0;
	if (dirlen >= PATH_MAX)
		return ob_errf(OB_ERR_IO, "%s: path too long", path);
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (dirlen == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, path, dirlen);
		dir[dirlen] = '\0';
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return ob_errf(OB_ERR_IO, "getrandom: %s", strerror(errno));
	(void)ob_bin_to_hex(rnd, sizeof(rnd), suffix, sizeof(suffix));
	n = snprintf(tmp, PATH_MAX, "%s%s.%s.%s.tmp", slash != NULL ? dir : "",
	    slash != NULL && dirlen > 0 ? "/" : "", base, suffix);
	if (n < 0 || (size_t)n >= PATH_MAX)
		return ob_errf(OB_ERR_IO, "%s: path too long", path);
	return OB_OK;
}

static int
secfile_write_fd(int fd, const void *data, size_t len, const char *path)
{
	const unsigned char	*p = data;
	ssize_t			 k;

	while (len > 0) {
		if ((k = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return secfile_ioerr(path, errno);
		}
		p += k;
		len -= (size_t)k;
	}
	return OB_OK;
}

/* Make the new directory entry durable; EINVAL: the fs cannot, accept. */
static int
secfile_sync_dir(const char *dir, const char *path)
{
	int	fd, e;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return secfile_ioerr(path, errno);
	if (fsync(fd) != 0 && errno != EINVAL) {
		e = errno;
		close(fd);
		return secfile_ioerr(path, e);
	}
	close(fd);
	return OB_OK;
}

int
ob_secfile_write(const char *path, const void *data, size_t len)
{
	char	 dir[PATH_MAX], tmp[PATH_MAX];
	int	 fd = -1, made = 0, linked = 0, closed, i, r;

	for (i = 0; i < SECFILE_TRIES && fd < 0; i++) {
		OB_TRY(secfile_names(path, dir, tmp));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		r = secfile_ioerr(path, errno);
		goto out;
	}
	made = 1;
	OB_TRY(secfile_write_fd(fd, data, len, path));
	if (fsync(fd) != 0) {
		r = secfile_ioerr(path, errno);
		goto out;
	}
	closed = close(fd);
	fd = -1;
	if (closed != 0) {
		r = secfile_ioerr(path, errno);
		goto out;
	}
	if (link(tmp, path) != 0) {
		r = errno == EEXIST ? ob_errf(OB_ERR_KEY_EXISTS, "%s", path) :
		    secfile_ioerr(path, errno);
		goto out;
	}
	linked = 1;
	if (unlink(tmp) != 0) {
		r = secfile_ioerr(path, errno);
		goto out;
	}
	made = 0;
	OB_TRY(secfile_sync_dir(dir, path));
	linked = 0;
	r = OB_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(tmp);
	if (linked)
		(void)unlink(path);
	return r;
}
