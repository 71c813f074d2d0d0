/*
 * ownerbind-signer's configuration (config.h).  The checks walk the
 * jansson tree that the strict reader built; a failure names the member
 * by its path, which is short here (two levels), so no line is looked up.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/deconst.h"
#include "core/err.h"
#include "core/json.h"
#include "signer/config.h"
#include "tokens/pin.h"

#define LIFETIME_MIN	60
#define LIFETIME_MAX	86400
#define SKEW_MAX	3600
#define VERIFY_EVERY_MAX 1024	/* ECDSA keys only (signer.c) */

struct cfg {
	const char	*dir;
	const char	*file;		/* for the detail */
	char		 path[64];	/* "keys[3]" or "" */
};

static int
cfail(const struct cfg *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfail(const struct cfg *c, const char *key, const char *fmt, ...)
{
	va_list	ap;
	char	what[256];

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ob_errf(OB_ERR_SIGNER_CONFIG, "%s: \"%s%s%s\" %s", c->file,
	    c->path, c->path[0] != '\0' && key != NULL ? "." : "",
	    key != NULL ? key : "", what);
}

static int
only(const struct cfg *c, const json_t *o, const char *const *allowed)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	/* jansson's iteration does not write through the object */
	json_object_foreach(OB_DECONST(json_t *, o), k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			/* The PIN belongs in a file the source names. */
			if (strcmp(k, "pin") == 0)
				return cfail(c, k, "is not a member: give "
				    "pin_source (file:, fd:, env:, askpass:)");
			return cfail(c, NULL, "has an unknown member \"%.64s\"",
			    k);
		}
	}
	return OB_OK;
}

static int
abspath(const struct cfg *c, const char *s, char **out)
{
	size_t	n;
	char	*p;

	if (s[0] == '/')
		return (*out = strdup(s)) != NULL ? OB_OK : OB_ERR_ALLOC;
	n = strlen(c->dir) + strlen(s) + 2;
	if ((p = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(p, n, "%s/%s", c->dir, s);
	*out = p;
	return OB_OK;
}

/* A string member of 1..max bytes; absent: *out stays NULL. */
static int
get_str(const struct cfg *c, const json_t *o, const char *key, int required,
    size_t max, char **out)
{
	json_t *v;

	if ((v = json_object_get(o, key)) == NULL)
		return required ? cfail(c, key, "is required") : OB_OK;
	if (!json_is_string(v))
		return cfail(c, key, "must be a string");
	if (json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return cfail(c, key, "must be 1 to %zu bytes", max);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

static int
get_int(const struct cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, long long *out)
{
	json_t *v;

	if ((v = json_object_get(o, key)) == NULL) {
		*out = def;
		return OB_OK;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return cfail(c, key, "must be an integer from %lld to %lld",
		    min, max);
	*out = json_integer_value(v);
	return OB_OK;
}

/* file:PATH made absolute, the way the server does it. */
static int
file_abs(const struct cfg *c, char **s, const char *prefix)
{
	size_t	 n = strlen(prefix);
	char	*p = NULL, *u;
	int	 r;

	if (strncmp(*s, prefix, n) != 0 || (*s)[n] == '/' || (*s)[n] == '\0')
		return OB_OK;
	if ((r = abspath(c, *s + n, &p)) != OB_OK)
		return r;
	if ((u = malloc(n + strlen(p) + 1)) == NULL) {
		free(p);
		return OB_ERR_ALLOC;
	}
	memcpy(u, prefix, n);
	memcpy(u + n, p, strlen(p) + 1);
	free(p);
	free(*s);
	*s = u;
	return OB_OK;
}

static int
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int
load_rate(const struct cfg *c, const json_t *o, struct ob_signer_keycfg *k)
{
	static const char *const m[] = { "per_second", "burst", NULL };
	json_t		*b, *v;
	long long	 burst;
	int		 r;

	k->per_second = 0;
	k->burst = 1;
	if ((b = json_object_get(o, "rate")) == NULL)
		return OB_OK;
	if (!json_is_object(b))
		return cfail(c, "rate", "must be an object");
	if ((r = only(c, b, m)) != OB_OK)
		return r;
	if ((v = json_object_get(b, "per_second")) == NULL ||
	    !json_is_number(v) || !(json_number_value(v) >= 0 &&
	    json_number_value(v) <= 1e6))
		return cfail(c, "rate", "needs per_second, a number from 0 (no "
		    "limit) to 1000000");
	k->per_second = json_number_value(v);
	if ((r = get_int(c, b, "burst", 1, 1000000,
	    (long long)(k->per_second * 2) + 1, &burst)) != OB_OK)
		return r;
	k->burst = (unsigned)burst;
	return OB_OK;
}

static int
load_key(struct cfg *c, const json_t *o, struct ob_signer_keycfg *k)
{
	static const char *const m[] = { "name", "uri", "pin_source", "role",
	    "ca", "gateway_id", "max_lifetime", "max_skew", "rate",
	    "verify_every", NULL };
	static const char *const schemes[] = { "file:", "pkcs11:", "tpm2:",
	    "piv:", NULL };
	struct ob_pin_source	*ps = NULL;
	char			*role = NULL;
	long long		 ve = 1;
	size_t			 i;
	int			 r;

	if (!json_is_object(o))
		return cfail(c, NULL, "must be an object");
	OB_TRY(only(c, o, m));
	OB_TRY(get_str(c, o, "name", 1, 64, &k->name));
	if (!name_ok(k->name)) {
		r = cfail(c, "name", "must be letters, digits, '.', '_' or "
		    "'-'");
		goto out;
	}
	OB_TRY(get_str(c, o, "uri", 1, 4096, &k->uri));
	for (i = 0; schemes[i] != NULL; i++)
		if (strncmp(k->uri, schemes[i], strlen(schemes[i])) == 0 &&
		    k->uri[strlen(schemes[i])] != '\0')
			break;
	if (schemes[i] == NULL) {
		r = cfail(c, "uri", "must be a key URI: file:, pkcs11:, tpm2: "
		    "or piv: (docs/key-uris.md; FIDO2 keys sign only "
		    "assertions)");
		goto out;
	}
	OB_TRY(file_abs(c, &k->uri, "file:"));
	OB_TRY(get_str(c, o, "pin_source", 0, 4096, &k->pin_source));
	if (k->pin_source != NULL) {
		OB_TRY(file_abs(c, &k->pin_source, "file:"));
		if (ob_pin_source_parse(k->pin_source, &ps) != OB_OK) {
			/* The detail never quotes the source (it may be the
			 * PIN itself). */
			r = cfail(c, "pin_source", "is refused: %s",
			    ob_err_detail());
			goto out;
		}
		ob_pin_source_free(&ps);
	}
	OB_TRY(get_str(c, o, "role", 1, 16, &role));
	if (strcmp(role, "issuer") == 0)
		k->role = OB_SIGNER_ISSUER;
	else if (strcmp(role, "gateway") == 0)
		k->role = OB_SIGNER_GATEWAY;
	else {
		r = cfail(c, "role", "must be issuer or gateway");
		goto out;
	}
	OB_TRY(get_str(c, o, "ca", k->role == OB_SIGNER_ISSUER, 4096, &k->ca));
	if (k->ca != NULL) {
		char *abs = NULL;

		if (k->role != OB_SIGNER_ISSUER) {
			r = cfail(c, "ca", "is for issuer keys only");
			goto out;
		}
		OB_TRY(abspath(c, k->ca, &abs));
		free(k->ca);
		k->ca = abs;
	}
	OB_TRY(get_str(c, o, "gateway_id", 0, 256, &k->gateway_id));
	if (k->gateway_id != NULL && k->role != OB_SIGNER_GATEWAY) {
		r = cfail(c, "gateway_id", "is for gateway keys only");
		goto out;
	}
	OB_TRY(get_int(c, o, "max_lifetime", LIFETIME_MIN, LIFETIME_MAX,
	    LIFETIME_MAX, &k->max_lifetime));
	OB_TRY(get_int(c, o, "max_skew", 0, SKEW_MAX, 300, &k->max_skew));
	OB_TRY(get_int(c, o, "verify_every", 1, VERIFY_EVERY_MAX, 1, &ve));
	k->verify_every = (unsigned)ve;
	r = load_rate(c, o, k);
out:
	free(role);
	return r;
}

static int
load_users(struct cfg *c, const json_t *root, struct ob_signer_config *cfg)
{
	struct passwd	 pw, *res;
	json_t		*a, *v;
	char		 buf[4096];
	size_t		 i, n;

	if ((a = json_object_get(root, "allow_users")) == NULL)
		return OB_OK;
	n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > OB_SIGNER_MAX_USERS)
		return cfail(c, "allow_users", "must be an array of 1 to %d "
		    "user names or uids", OB_SIGNER_MAX_USERS);
	if ((cfg->uids = calloc(n, sizeof(*cfg->uids))) == NULL)
		return OB_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		v = json_array_get(a, i);
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) < 0x7fffffff)
			cfg->uids[i] = (uid_t)json_integer_value(v);
		else if (json_is_string(v) && getpwnam_r(json_string_value(v),
		    &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
			cfg->uids[i] = pw.pw_uid;
		else
			return cfail(c, "allow_users", "[%zu] is neither a uid "
			    "nor a user of this system", i);
		cfg->nuids = i + 1;
	}
	return OB_OK;
}

static int
load(struct cfg *c, const json_t *root, struct ob_signer_config *cfg)
{
	static const char *const m[] = { "keys", "allow_users", "timeout_s",
	    NULL };
	json_t	*a;
	size_t	 i, j, n;
	int	 r;

	if (!json_is_object(root))
		return cfail(c, NULL, "the configuration must be an object");
	if ((r = only(c, root, m)) != OB_OK)
		return r;
	cfg->timeout_s = OB_SIGNER_TIMEOUT_S;
	if ((a = json_object_get(root, "timeout_s")) != NULL) {
		if (!json_is_integer(a) || json_integer_value(a) < 1 ||
		    json_integer_value(a) > 3600)
			return cfail(c, "timeout_s", "must be an integer of "
			    "seconds, 1 to 3600");
		cfg->timeout_s = (int)json_integer_value(a);
	}
	a = json_object_get(root, "keys");
	n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > OB_SIGNER_MAX_KEYS)
		return cfail(c, "keys", "must be an array of 1 to %d keys",
		    OB_SIGNER_MAX_KEYS);
	if ((cfg->keys = calloc(n, sizeof(*cfg->keys))) == NULL)
		return OB_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		cfg->nkeys = i + 1;
		(void)snprintf(c->path, sizeof(c->path), "keys[%zu]", i);
		if ((r = load_key(c, json_array_get(a, i), &cfg->keys[i])) !=
		    OB_OK)
			return r;
		for (j = 0; j < i; j++)
			if (strcmp(cfg->keys[j].name, cfg->keys[i].name) == 0)
				return cfail(c, "name", "repeats keys[%zu]", j);
	}
	c->path[0] = '\0';
	return load_users(c, root, cfg);
}

static int
parse(const void *buf, size_t len, const char *dir, const char *file,
    struct ob_signer_config **out)
{
	struct cfg		 c;
	struct ob_signer_config	*cfg = NULL;
	json_t			*root = NULL;
	int			 r;

	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.file = file;
	if (len > OB_SIGNER_CONFIG_MAX)
		return ob_errf(OB_ERR_SIGNER_CONFIG, "%s: larger than %d bytes",
		    file, OB_SIGNER_CONFIG_MAX);
	if ((r = ob_json_read(buf, len, OB_JSON_MAX_DEPTH, &root)) != OB_OK)
		return r == OB_ERR_ALLOC ? r : ob_err_prefix(
		    OB_ERR_SIGNER_CONFIG, "%s: not JSON (%s)", file,
		    ob_err_name(r));
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(load(&c, root, cfg));
	*out = cfg;
	cfg = NULL;
	r = OB_OK;
out:
	ob_signer_config_free(&cfg);
	json_decref(root);
	return r;
}

int
ob_signer_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_signer_config **out)
{
	return parse(buf, len, dir, "(config)", out);
}

int
ob_signer_config_load(const char *path, struct ob_signer_config **out)
{
	FILE	*f = NULL;
	char	*buf = NULL, *abs = NULL, *slash, cwd[4096];
	size_t	 n;
	int	 r;

	if (path[0] == '/')
		abs = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL &&
	    (abs = malloc(strlen(cwd) + strlen(path) + 2)) != NULL)
		(void)snprintf(abs, strlen(cwd) + strlen(path) + 2, "%s/%s",
		    cwd, path);
	if (abs == NULL)
		return ob_errf(OB_ERR_IO, "%s: cannot make the path absolute",
		    path);
	if ((f = fopen(abs, "re")) == NULL) {
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(OB_SIGNER_CONFIG_MAX + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	n = fread(buf, 1, OB_SIGNER_CONFIG_MAX + 1, f);
	if (ferror(f)) {
		r = ob_errf(OB_ERR_IO, "%s: read error", path);
		goto out;
	}
	slash = strrchr(abs, '/');
	*slash = '\0';
	r = parse(buf, n, slash == abs ? "/" : abs, path, out);
	*slash = '/';
	if (r == OB_OK) {
		(*out)->path = abs;
		abs = NULL;
	}
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(abs);
	return r;
}

void
ob_signer_config_free(struct ob_signer_config **cfgp)
{
	struct ob_signer_config	*c;
	size_t			 i;

	if (cfgp == NULL || (c = *cfgp) == NULL)
		return;
	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i].name);
		free(c->keys[i].uri);
		free(c->keys[i].pin_source);
		free(c->keys[i].ca);
		free(c->keys[i].gateway_id);
	}
	free(c->keys);
	free(c->uids);
	free(c->path);
	free(c);
	*cfgp = NULL;
}
