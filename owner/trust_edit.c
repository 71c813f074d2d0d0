/*
 * One way to change a trust store (owner/ownerbind.h): under its lock,
 * read, edit the JSON, check that the verifier loads the result, then
 * write it atomically.  enroll and every `ownerbind trust` verb use it.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cliutil.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"
#include "server-verify/verify_int.h"

int
owner_trust_edit(const char *path, int create, owner_trust_fn edit,
    owner_trust_fn commit, void *arg)
{
	struct ob_trust	*check = NULL;
	json_t		*doc = NULL;
	char		*buf = NULL, *s = NULL, *t, lockpath[4096];
	size_t		 len, slen;
	int		 lockfd = -1, r;

	/* One edit at a time per trust store (the lock file stays). */
	if ((size_t)snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >=
	    sizeof(lockpath))
		return ob_errf(OB_ERR_IO, "path too long");
	if ((lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lockfd, LOCK_EX) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", lockpath, strerror(errno));
		goto out;
	}
	if (access(path, F_OK) == 0) {
		OB_TRY(ob_read_all(path, 4 * 1024 * 1024, &buf, &len));
		if ((r = ob_json_parse_object(buf, len, &doc)) != OB_OK) {
			r = ob_err_prefix(r, "%s", path);
			goto out;
		}
	} else if (!create) {
		r = ob_errf(OB_ERR_IO, "%s: no such trust store", path);
		goto out;
	} else if ((doc = json_pack("{s:i,s:[]}", "ownerbind_trust", 1,
	    "owners")) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(edit(doc, arg));
	if ((s = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	slen = strlen(s);
	/* Never write a store the verifier would refuse. */
	if ((r = ob_trust_load_buf(s, slen, &check)) != OB_OK) {
		r = ob_err_prefix(r, "the new trust store would be invalid");
		goto out;
	}
	if (commit != NULL)
		OB_TRY(commit(doc, arg));
	if ((t = realloc(s, slen + 2)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	s = t;
	s[slen] = '\n';
	r = ob_write_all(path, s, slen + 1, 0644);
out:
	ob_trust_free(&check);
	if (lockfd >= 0)
		close(lockfd);
	json_decref(doc);
	free(buf);
	free(s);
	return r;
}

/* The array member name of doc, created empty when missing. */
int
owner_trust_array(json_t *doc, const char *name, json_t **out)
{
	json_t	*a;

	if ((a = json_object_get(doc, name)) == NULL) {
		if (json_object_set_new(doc, name, json_array()) != 0)
			return OB_ERR_ALLOC;
		a = json_object_get(doc, name);
	}
	if (!json_is_array(a))
		return ob_errf(OB_ERR_TRUST_INVALID, "%s: not an array", name);
	*out = a;
	return OB_OK;
}
