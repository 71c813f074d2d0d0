/*
 * The process-wide registry of PKCS#11 modules.  Modules are found through
 * p11-kit (module-path, module-name in p11-kit's configuration, or every
 * configured module) and loaded managed, so other p11-kit users in the
 * same process are not disturbed by our C_Initialize/C_Finalize.
 *
 * Each module has a read-write lock: every call into the module holds it
 * for reading, re-initialisation (C_Finalize + C_Initialize) holds it for
 * writing, so no thread is inside the module while it is finalized.  fork()
 * is handled with pthread_atfork: the prepare handler waits until no call
 * is in flight, and the child re-initialises a module before its first use.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"

static pthread_mutex_t		 reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module	*reg_head;
static atomic_ulong		 fork_gen;
static pthread_once_t		 atfork_once = PTHREAD_ONCE_INIT;

/*
 * fork(): the registry is stable across it (reg_mu), and the child makes
 * every module lock anew (a thread that held one in the parent does not
 * exist in the child) and re-initialises each module before its next use.
 * Locks are not held across fork() for the module locks: glibc cannot
 * release a write lock taken under the parent's thread id in the child.
 */
static void
reg_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
}

static void
reg_parent(void)
{
	pthread_mutex_unlock(&reg_mu);
}

static void
reg_child(void)
{
	struct p11_module *m;

	atomic_fetch_add(&fork_gen, 1);
	for (m = reg_head; m != NULL; m = m->next)
		(void)pthread_rwlock_init(&m->life, NULL);
	pthread_mutex_unlock(&reg_mu);
}

static void
reg_atfork(void)
{
	(void)pthread_atfork(reg_prepare, reg_parent, reg_child);
}

/* With reg_mu held. */
static int
reg_load(const char *path, struct p11_module **out)
{
	struct p11_module	*m;
	CK_FUNCTION_LIST	*f;
	const char		*msg;
	CK_RV			 rv;

	for (m = reg_head; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0) {
			*out = m;
			return OB_OK;
		}
	if ((f = p11_kit_module_load(path, 0)) == NULL) {
		msg = p11_kit_message();
		return ob_errf(OB_ERR_MODULE_LOAD, "%s: %s", path,
		    msg != NULL ? msg : "cannot be loaded");
	}
	if ((rv = p11_kit_module_initialize(f)) != CKR_OK) {
		p11_kit_module_release(f);
		(void)p11_err(rv, "C_Initialize", path);
		return ob_errf(OB_ERR_MODULE_LOAD, "%s", ob_err_detail());
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->path = strdup(path)) == NULL ||
	    pthread_rwlock_init(&m->life, NULL) != 0) {
		if (m != NULL)
			free(m->path);
		free(m);
		(void)p11_kit_module_finalize(f);
		p11_kit_module_release(f);
		return OB_ERR_ALLOC;
	}
	m->f = f;
	m->initialized = 1;
	m->forkgen = atomic_load(&fork_gen);
	m->next = reg_head;
	reg_head = m;
	*out = m;
	return OB_OK;
}

/* Names and paths of p11-kit's configured modules, for lookups. */
static int
reg_configured(const char *want, char ***paths, size_t *n, char *names,
    size_t namesz)
{
	CK_FUNCTION_LIST	**all;
	char			 *nm, *fn, **p = NULL;
	size_t			  i, k = 0, cnt, used;
	int			  r = OB_OK;

	if ((all = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED)) ==
	    NULL)
		return ob_errf(OB_ERR_MODULE_LOAD, "p11-kit: %s",
		    p11_kit_message() != NULL ? p11_kit_message() :
		    "no module configuration");
	for (cnt = 0; all[cnt] != NULL; cnt++)
		;
	if ((p = calloc(cnt + 1, sizeof(*p))) == NULL)
		r = OB_ERR_ALLOC;
	if (names != NULL && namesz > 0)
		names[0] = '\0';
	for (i = 0; r == OB_OK && i < cnt; i++) {
		nm = p11_kit_module_get_name(all[i]);
		fn = p11_kit_module_get_filename(all[i]);
		if (nm != NULL && names != NULL && namesz > 0) {
			used = strlen(names);	/* < namesz: NUL-terminated */
			(void)snprintf(names + used, namesz - used, "%s%s",
			    used > 0 ? ", " : "", nm);
		}
		if (fn != NULL && (want == NULL || (nm != NULL &&
		    strcmp(nm, want) == 0))) {
			p[k++] = fn;
			fn = NULL;
		}
		free(nm);
		free(fn);
	}
	p11_kit_modules_release(all);
	if (r != OB_OK) {
		free(p);
		return r;
	}
	*paths = p;
	*n = k;
	return OB_OK;
}

int
p11_modules_for(const struct p11_uri *u, struct p11_module ***mods,
    size_t *n)
{
	struct p11_module	**out = NULL;
	char			**paths = NULL, names[256];
	size_t			  np = 0, i, k = 0;
	int			  r;

	(void)pthread_once(&atfork_once, reg_atfork);
	if (u->module_path != NULL) {
		if ((out = calloc(1, sizeof(*out))) == NULL)
			return OB_ERR_ALLOC;
		pthread_mutex_lock(&reg_mu);
		r = reg_load(u->module_path, &out[0]);
		pthread_mutex_unlock(&reg_mu);
		if (r != OB_OK) {
			free(out);
			return r;
		}
		*mods = out;
		*n = 1;
		return OB_OK;
	}
	if ((r = reg_configured(u->module_name, &paths, &np, names,
	    sizeof(names))) != OB_OK)
		return r;
	if (np == 0) {
		r = u->module_name != NULL ? ob_errf(OB_ERR_MODULE_LOAD, "no "
		    "module named \"%s\" in p11-kit's configuration (there: "
		    "%s)", u->module_name, names) : ob_errf(OB_ERR_MODULE_LOAD,
		    "p11-kit has no modules configured; give module-path=");
		goto out;
	}
	if ((out = calloc(np, sizeof(*out))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	pthread_mutex_lock(&reg_mu);
	for (i = 0; i < np; i++) {
		r = reg_load(paths[i], &out[k]);
		if (r == OB_OK)
			k++;
		else if (u->module_name != NULL)
			break;
		/* Searching every module: one that fails is skipped. */
		r = OB_OK;
	}
	pthread_mutex_unlock(&reg_mu);
	if (r == OB_OK && k == 0)
		r = ob_errf(OB_ERR_MODULE_LOAD, "none of p11-kit's modules "
		    "(%s) could be loaded", names);
	if (r != OB_OK)
		goto out;
	*mods = out;
	*n = k;
	out = NULL;
out:
	for (i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	free(out);
	return r;
}

int
p11_module_load(const char *path, struct p11_module **out)
{
	int r;

	(void)pthread_once(&atfork_once, reg_atfork);
	pthread_mutex_lock(&reg_mu);
	r = reg_load(path, out);
	pthread_mutex_unlock(&reg_mu);
	return r;
}

int
p11_module_reinit(struct p11_module *m, unsigned long seen_gen, int *did)
{
	CK_RV rv;

	if (did != NULL)
		*did = 0;
	pthread_rwlock_wrlock(&m->life);
	if (m->gen != seen_gen) {
		pthread_rwlock_unlock(&m->life);
		return OB_OK;		/* another thread did it */
	}
	if (did != NULL)
		*did = 1;
	if (m->initialized)
		(void)p11_kit_module_finalize(m->f);
	m->initialized = 0;
	rv = p11_kit_module_initialize(m->f);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		m->initialized = 1;
	m->gen++;
	m->forkgen = atomic_load(&fork_gen);
	pthread_rwlock_unlock(&m->life);
	if (!m->initialized)
		return p11_err(rv, "C_Initialize", m->path);
	return OB_OK;
}

int
p11_module_check_fork(struct p11_module *m)
{
	unsigned long	gen;
	int		forked;

	pthread_rwlock_rdlock(&m->life);
	gen = m->gen;
	forked = m->forkgen != atomic_load(&fork_gen);
	pthread_rwlock_unlock(&m->life);
	return forked ? p11_module_reinit(m, gen, NULL) : OB_OK;
}

void
ob_p11_shutdown(void)
{
	struct p11_module *m, *next;

	pthread_mutex_lock(&reg_mu);
	for (m = reg_head; m != NULL; m = next) {
		next = m->next;
		if (m->initialized)
			(void)p11_kit_module_finalize(m->f);
		p11_kit_module_release(m->f);
		pthread_rwlock_destroy(&m->life);
		free(m->path);
		free(m);
	}
	reg_head = NULL;
	pthread_mutex_unlock(&reg_mu);
}
