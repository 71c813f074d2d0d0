/*
 * Opening security keys.  A key is named by its device path, or found by
 * the credential it holds: each connected key is asked for a silent
 * assertion (up=false) over that credential, and only a key that knows it
 * answers.  Never "the first device".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/err.h"
#include "tokens/fido2/fido2_int.h"

/* Set only by tests (fido2_testhook.c); NULL in the shipped tool. */
const fido_dev_io_t *fido2_test_io;
const char *const *fido2_test_paths;

static pthread_once_t fido2_once = PTHREAD_ONCE_INIT;

static void
fido2_lib_init(void)
{
	fido_init(0);
}

void
fido2_init(void)
{
	(void)pthread_once(&fido2_once, fido2_lib_init);
}

void
fido2_dev_close(fido_dev_t **devp)
{
	if (devp == NULL || *devp == NULL)
		return;
	(void)fido_dev_close(*devp);
	fido_dev_free(devp);
}

int
fido2_dev_open(const char *path, fido_dev_t **out)
{
	fido_dev_t	*dev;
	int		 fr;

	/* Tell a missing node from a forbidden one before libfido2 does. */
	if (path[0] == '/' && access(path, R_OK | W_OK) != 0) {
		if (errno == EACCES || errno == EPERM)
			return ob_errf(OB_ERR_DEVICE_PERMISSION, "%s: %s", path,
			    strerror(errno));
		return ob_errf(OB_ERR_DEVICE_MISSING, "%s: %s", path,
		    strerror(errno));
	}
	fido2_init();
	if ((dev = fido_dev_new()) == NULL)
		return OB_ERR_ALLOC;
	if (fido2_test_io != NULL &&
	    (fr = fido_dev_set_io_functions(dev, fido2_test_io)) != FIDO_OK) {
		fido_dev_free(&dev);
		return fido2_err(fr, "fido_dev_set_io_functions", NULL);
	}
	if ((fr = fido_dev_open(dev, path)) != FIDO_OK) {
		fido_dev_free(&dev);
		if (fr == FIDO_ERR_RX || fr == FIDO_ERR_TX ||
		    fr == FIDO_ERR_INTERNAL)
			return ob_errf(OB_ERR_DEVICE_MISSING, "%s: %s", path,
			    fido_strerr(fr));
		return fido2_err(fr, path, NULL);
	}
	if (!fido_dev_is_fido2(dev)) {
		fido2_dev_close(&dev);
		return ob_errf(OB_ERR_DEVICE, "%s: a U2F-only key; ownerbind "
		    "needs FIDO2 (CTAP2)", path);
	}
	*out = dev;
	return OB_OK;
}

void
fido2_paths_free(char **paths, size_t n)
{
	size_t i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int
fido2_dev_paths(char ***paths, size_t *n)
{
	fido_dev_info_t	*di = NULL;
	char		**p = NULL;
	size_t		 i, found = 0;
	int		 fr, r = OB_ERR_ALLOC;

	if (fido2_test_paths != NULL) {
		while (found < FIDO2_MAX_DEVICES &&
		    fido2_test_paths[found] != NULL)
			found++;
		if ((p = calloc(found + 1, sizeof(*p))) == NULL)
			return OB_ERR_ALLOC;
		for (i = 0; i < found; i++)
			if ((p[i] = strdup(fido2_test_paths[i])) == NULL)
				goto out;
	} else {
		fido2_init();
		if ((di = fido_dev_info_new(FIDO2_MAX_DEVICES)) == NULL)
			return OB_ERR_ALLOC;
		if ((fr = fido_dev_info_manifest(di, FIDO2_MAX_DEVICES,
		    &found)) != FIDO_OK) {
			r = fido2_err(fr, "listing FIDO devices", NULL);
			goto out;
		}
		if ((p = calloc(found + 1, sizeof(*p))) == NULL)
			goto out;
		for (i = 0; i < found; i++)
			if ((p[i] = strdup(fido_dev_info_path(
			    fido_dev_info_ptr(di, i)))) == NULL)
				goto out;
	}
	*paths = p;
	*n = found;
	p = NULL;
	r = OB_OK;
out:
	fido2_paths_free(p, found);
	fido_dev_info_free(&di, FIDO2_MAX_DEVICES);
	return r;
}

/* Does dev hold the credential?  1 yes, 0 no, <0 an ob_err code. */
static int
dev_probe(fido_dev_t *dev, const char *rp_id, const unsigned char *cred,
    size_t cred_len)
{
	fido_assert_t	*a;
	unsigned char	 cdh[32];
	int		 fr;

	if (RAND_bytes(cdh, sizeof(cdh)) != 1)
		return OB_ERR_RANDOM;
	if ((a = fido_assert_new()) == NULL)
		return OB_ERR_ALLOC;
	if ((fr = fido_assert_set_clientdata_hash(a, cdh, sizeof(cdh))) ||
	    (fr = fido_assert_set_rp(a, rp_id)) ||
	    (fr = fido_assert_allow_cred(a, cred, cred_len)) ||
	    (fr = fido_assert_set_up(a, FIDO_OPT_FALSE)) ||
	    (fr = fido_assert_set_uv(a, FIDO_OPT_OMIT))) {
		fido_assert_free(&a);
		return fido2_err(fr, "probe", NULL);
	}
	fr = fido_dev_get_assert(dev, a, NULL);
	fido_assert_free(&a);
	if (fr == FIDO_OK)
		return 1;
	if (fr == FIDO_ERR_NO_CREDENTIALS || fr == FIDO_ERR_INVALID_CREDENTIAL)
		return 0;
	return fido2_err(fr, "probe", dev);
}

int
fido2_dev_find(const char *rp_id, const unsigned char *cred, size_t cred_len,
    fido_dev_t **out, char **pathp)
{
	fido_dev_t	*dev = NULL, *hit = NULL;
	char		**paths = NULL, *hitpath = NULL;
	size_t		 n = 0, i, nhit = 0, denied = 0;
	int		 r, k;

	OB_TRY(fido2_dev_paths(&paths, &n));
	for (i = 0; i < n; i++) {
		if ((k = fido2_dev_open(paths[i], &dev)) != OB_OK) {
			if (k == OB_ERR_DEVICE_PERMISSION)
				denied++;
			continue;
		}
		k = dev_probe(dev, rp_id, cred, cred_len);
		if (k == 1 && nhit++ == 0) {
			hit = dev;
			hitpath = paths[i];
			dev = NULL;
			continue;
		}
		fido2_dev_close(&dev);
	}
	if (nhit > 1) {
		r = ob_errf(OB_ERR_KEY_AMBIGUOUS, "%zu connected keys answer for "
		    "the credential; add dev= to the URI", nhit);
		goto out;
	}
	if (nhit == 0) {
		if (denied > 0)
			r = ob_errf(OB_ERR_DEVICE_PERMISSION, "%zu of %zu FIDO "
			    "devices could not be opened; run ownerbind doctor",
			    denied, n);
		else if (n == 0)
			r = ob_errf(OB_ERR_DEVICE_MISSING, "no FIDO device is "
			    "connected");
		else
			r = ob_errf(OB_ERR_DEVICE_MISSING, "none of the %zu "
			    "connected FIDO devices holds the credential", n);
		goto out;
	}
	if ((*pathp = strdup(hitpath)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	*out = hit;
	hit = NULL;
	r = OB_OK;
out:
	fido2_dev_close(&hit);
	fido2_paths_free(paths, n);
	return r;
}

int
fido2_dev_only(fido_dev_t **out, char **pathp)
{
	char	**paths = NULL;
	size_t	 n = 0;
	int	 r;

	OB_TRY(fido2_dev_paths(&paths, &n));
	if (n == 0) {
		r = ob_errf(OB_ERR_DEVICE_MISSING, "no FIDO device is connected");
		goto out;
	}
	if (n > 1) {
		r = ob_errf(OB_ERR_KEY_AMBIGUOUS, "%zu FIDO devices (%s, %s%s); "
		    "name one with dev=", n, paths[0], paths[1], n > 2 ?
		    ", ..." : "");
		goto out;
	}
	OB_TRY(fido2_dev_open(paths[0], out));
	if ((*pathp = strdup(paths[0])) == NULL) {
		fido2_dev_close(out);
		r = OB_ERR_ALLOC;
	}
out:
	fido2_paths_free(paths, n);
	return r;
}
