/*
 * ownerbind-proxy's configuration (docs/proxy.md, "Configuration").  The
 * typed members and the "FILE:LINE" details come from common/cfgread.h;
 * this file knows only the proxy's sections.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_config.h"
#include "common/cfgread.h"
#include "core/err.h"
#include "core/hex.h"

static const char *const route_names[] = { "agent-mediated",
    "owner-mediated", "server-mediated", NULL };

const char *
ob_proxy_route_name(enum ob_proxy_route route)
{
	return route_names[route];
}

static int
load_upstream(struct ob_cfg *c, const json_t *root, const char *key,
    int required, struct ob_proxy_upstream *u)
{
	static const char *const allowed[] = { "url", "ca", "cert", "key",
	    NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, key, JSON_OBJECT, required, &o)) !=
	    OB_OK || o == NULL)
		return r;
	ob_cfg_push_key(c, key);
	if ((r = ob_cfg_only(c, o, allowed)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "url", 1, NULL, 1024, &u->url)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "ca", 1, NULL, &u->ca)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "cert", 1, NULL, &u->cert)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "key", 1, NULL, &u->key)) != OB_OK)
		goto out;
	if (strncmp(u->url, "https://", 8) != 0)
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "url", "must be an "
		    "https:// URL");
out:
	ob_cfg_pop(c);
	return r;
}

static int
load_ids(struct ob_cfg *c, const json_t *o, struct ob_proxy_agent *a)
{
	json_t	*v, *e;
	size_t	 i;
	int	 r;

	if ((r = ob_cfg_member(c, o, "ids", JSON_ARRAY, 1, &v)) != OB_OK)
		return r;
	if (json_array_size(v) == 0 || json_array_size(v) > OB_PROXY_MAX_IDS)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "ids", "must "
		    "list 1 to %d agent ids", OB_PROXY_MAX_IDS);
	if ((a->ids = calloc(json_array_size(v), sizeof(*a->ids))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "ids");
	json_array_foreach(v, i, e) {
		ob_cfg_push_idx(c, i);
		if (!json_is_string(e) || (strncmp(json_string_value(e),
		    "wimse://", 8) != 0 && strncmp(json_string_value(e),
		    "spiffe://", 9) != 0))
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "must "
			    "be a wimse:// or spiffe:// agent id");
		else if ((a->ids[i] = strdup(json_string_value(e))) == NULL)
			r = OB_ERR_ALLOC;
		ob_cfg_pop(c);
		if (r != OB_OK)
			break;
		a->nids++;
	}
	ob_cfg_pop(c);
	return r;
}

static int
load_uids(struct ob_cfg *c, const json_t *o, struct ob_proxy_agent *a)
{
	json_t	*v, *e;
	size_t	 i;
	int	 r;

	if ((r = ob_cfg_member(c, o, "uids", JSON_ARRAY, 1, &v)) != OB_OK)
		return r;
	if (json_array_size(v) == 0 || json_array_size(v) > OB_PROXY_MAX_IDS)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "uids", "must "
		    "list 1 to %d uids", OB_PROXY_MAX_IDS);
	if ((a->uids = calloc(json_array_size(v), sizeof(*a->uids))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "uids");
	json_array_foreach(v, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) > 0x7fffffff) {
			ob_cfg_push_idx(c, i);
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "must "
			    "be a uid (0 to 2147483647)");
			ob_cfg_pop(c);
			break;
		}
		a->uids[a->nuids++] = (uid_t)json_integer_value(e);
	}
	ob_cfg_pop(c);
	return r;
}

static int
load_agent(struct ob_cfg *c, const json_t *o, struct ob_proxy_agent *a)
{
	static const char *const allowed[] = { "name", "ids", "uids", "exe",
	    "exe_sha256", "model", NULL };
	const char	*exe;
	char		*hex = NULL;
	int		 r, route = 0;

	if (!json_is_object(o))
		return ob_cfg_fail(c, OB_ERR_CONFIG_TYPE, NULL, "must be an "
		    "object, not %s", ob_cfg_type_name(o));
	/* The agent's executable as the kernel names it: never relative
	 * to the configuration's directory. */
	if ((exe = json_string_value(json_object_get(o, "exe"))) != NULL &&
	    exe[0] != '/')
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "exe", "must be an "
		    "absolute path, not \"%.128s\"", exe);
	if ((r = ob_cfg_only(c, o, allowed)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "name", 1, NULL, 128, &a->name)) != OB_OK ||
	    (r = load_ids(c, o, a)) != OB_OK ||
	    (r = load_uids(c, o, a)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "exe", 0, NULL, &a->exe)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "exe_sha256", 0, NULL, 64, &hex)) != OB_OK ||
	    (r = ob_cfg_enum(c, o, "model", 1, route_names, 0, &route)) !=
	    OB_OK)
		goto out;
	a->route = (enum ob_proxy_route)route;
	if (hex != NULL) {
		if (ob_hex_to_bin(hex, a->exe_sha256, 32) != 0) {
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "exe_sha256",
			    "must be 64 hex digits");
			goto out;
		}
		a->has_exe_sha256 = 1;
	}
	r = OB_OK;
out:
	free(hex);
	return r;
}

static int
load_agents(struct ob_cfg *c, const json_t *root, struct ob_proxy_config *cfg)
{
	json_t	*v, *e;
	size_t	 i, j;
	int	 r;

	if ((r = ob_cfg_member(c, root, "agents", JSON_ARRAY, 1, &v)) != OB_OK)
		return r;
	if (json_array_size(v) == 0 ||
	    json_array_size(v) > OB_PROXY_MAX_AGENTS)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "agents", "must "
		    "list 1 to %d entries", OB_PROXY_MAX_AGENTS);
	if ((cfg->agents = calloc(json_array_size(v),
	    sizeof(*cfg->agents))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "agents");
	json_array_foreach(v, i, e) {
		ob_cfg_push_idx(c, i);
		cfg->nagents++;
		r = load_agent(c, e, &cfg->agents[i]);
		cfg->any_exe_sha256 |= cfg->agents[i].has_exe_sha256;
		if (r == OB_OK && cfg->agents[i].route ==
		    OB_ROUTE_OWNER_MEDIATED && cfg->gateway.url == NULL)
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "model",
			    "is owner-mediated, but there is no \"gateway\"");
		/* The cache and the renewal check are keyed by name. */
		for (j = 0; r == OB_OK && j < i; j++)
			if (strcmp(cfg->agents[j].name, cfg->agents[i].name) ==
			    0)
				r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "name",
				    "\"%s\" is agents[%zu]'s name already",
				    cfg->agents[i].name, j);
		ob_cfg_pop(c);
		if (r != OB_OK)
			break;
	}
	ob_cfg_pop(c);
	return r;
}

static const char *const top_members[] = {
	"socket", "socket_mode", "server", "gateway", "deadline_ms",
	"try_timeout_ms", "backoff_initial_ms", "backoff_max_ms",
	"max_inflight", "renew_before_s", "max_conns", "timeout_s", "agents",
	"user",
	"sandbox", NULL
};

static int
load(struct ob_cfg *c, const json_t *root, struct ob_proxy_config *cfg)
{
	json_t	*sb = NULL;
	int	 r;

	if ((r = ob_cfg_only(c, root, top_members)) != OB_OK ||
	    (r = ob_cfg_path(c, root, "socket", 1, NULL, &cfg->socket)) !=
	    OB_OK ||
	    (r = ob_cfg_uint(c, root, "socket_mode", 0, 0777, 0666,
	    &cfg->socket_mode)) != OB_OK ||
	    (r = load_upstream(c, root, "server", 1, &cfg->server)) != OB_OK ||
	    (r = load_upstream(c, root, "gateway", 0, &cfg->gateway)) !=
	    OB_OK ||
	    (r = ob_cfg_uint(c, root, "deadline_ms", 100, 600000, 15000,
	    &cfg->deadline_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "try_timeout_ms", 100, 600000, 5000,
	    &cfg->try_timeout_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "backoff_initial_ms", 1, 60000, 100,
	    &cfg->backoff_initial_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "backoff_max_ms", 1, 600000, 2000,
	    &cfg->backoff_max_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "max_inflight", 1, 4096, 32,
	    &cfg->max_inflight)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "renew_before_s", 0, 86400, 0,
	    &cfg->renew_before_s)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "max_conns", 1, 65536, 512,
	    &cfg->max_conns)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "timeout_s", 1, 3600, 10,
	    &cfg->timeout_s)) != OB_OK ||
	    (r = load_agents(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "user", 0, NULL, 256, &cfg->user)) !=
	    OB_OK ||
	    (r = ob_cfg_member(c, root, "sandbox", JSON_TRUE, 0, &sb)) !=
	    OB_OK)
		return r;
	cfg->sandbox = sb == NULL || json_is_true(sb);
	return OB_OK;
}

/* Read text (from file, relative paths from dir) into a new config. */
static int
parse(const void *buf, size_t len, const char *dir, const char *file,
    struct ob_proxy_config **out)
{
	struct ob_cfg		 c;
	struct ob_proxy_config	*cfg = NULL;
	json_t			*root = NULL;
	int			 r;

	OB_TRY(ob_cfg_read(&c, buf, len, dir, file, &root));
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(load(&c, root, cfg));
	*out = cfg;
	cfg = NULL;
	r = OB_OK;
out:
	ob_proxy_config_free(&cfg);
	json_decref(root);
	return r;
}

int
ob_proxy_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_proxy_config **out)
{
	return parse(buf, len, dir, "(config)", out);
}

int
ob_proxy_config_load(const char *path, struct ob_proxy_config **out)
{
	char	*buf = NULL, *abs = NULL, *dir = NULL;
	size_t	 n;
	int	 r;

	OB_TRY(ob_cfg_slurp(path, &abs, &dir, &buf, &n));
	OB_TRY(parse(buf, n, dir, path, out));
	(*out)->path = abs;
	abs = NULL;
out:
	free(buf);
	free(dir);
	free(abs);
	return r;
}

static void
upstream_clear(struct ob_proxy_upstream *u)
{
	free(u->url);
	free(u->ca);
	free(u->cert);
	free(u->key);
}

void
ob_proxy_config_free(struct ob_proxy_config **cfgp)
{
	struct ob_proxy_config	*cfg = *cfgp;
	size_t			 i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nagents; i++) {
		for (j = 0; j < cfg->agents[i].nids; j++)
			free(cfg->agents[i].ids[j]);
		free(cfg->agents[i].ids);
		free(cfg->agents[i].uids);
		free(cfg->agents[i].name);
		free(cfg->agents[i].exe);
	}
	free(cfg->agents);
	upstream_clear(&cfg->server);
	upstream_clear(&cfg->gateway);
	free(cfg->socket);
	free(cfg->user);
	free(cfg->path);
	free(cfg);
	*cfgp = NULL;
}
