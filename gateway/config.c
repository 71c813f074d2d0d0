/*
 * The gateway's configuration (docs/gateway.md), on the daemons' reader
 * (common/cfgread.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfgread.h"
#include "core/err.h"
#include "core/hex.h"
#include "gateway/config.h"


static int
load_tls(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	static const char *const m[] = { "cert", "key", "client_ca", NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, "tls", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	ob_cfg_push_key(c, "tls");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "cert", 1, NULL, &cfg->tls.cert)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, o, "key", 1, NULL, &cfg->tls.key)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "client_ca", 1, NULL,
	    &cfg->tls.client_ca)) != OB_OK)
		return r;
	ob_cfg_pop(c);
	return OB_OK;
}

/* A proxy id: what the server's Ownerbind-Proxy header carries. */
static int
proxy_id_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

static int
load_proxy(struct ob_cfg *c, const json_t *o, struct ob_gw_proxy *p)
{
	static const char *const m[] = { "id", "san_uri", "cert_sha256",
	    NULL };
	char	*hex = NULL;
	size_t	 n;
	int	 r;

	if (!json_is_object(o))
		return ob_cfg_fail(c, OB_ERR_CONFIG_TYPE, NULL, "must be an "
		    "object");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "id", 1, NULL, 128, &p->id)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "san_uri", 0, NULL, 2048,
	    &p->san_uri)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "cert_sha256", 0, NULL, 64, &hex)) !=
	    OB_OK)
		goto out;
	if (!proxy_id_ok(p->id)) {
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "id", "must be "
		    "visible ASCII");
		goto out;
	}
	if (hex != NULL) {
		for (n = 0; n < 32 && strlen(hex) == 64; n++) {
			int hi = ob_hexval(hex[2 * n]);
			int lo = ob_hexval(hex[2 * n + 1]);

			if (hi < 0 || lo < 0)
				break;
			p->cert_sha256[n] = (unsigned char)(hi << 4 | lo);
		}
		if (n != 32) {
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID,
			    "cert_sha256", "must be 64 hex digits");
			goto out;
		}
		p->has_cert_sha256 = 1;
	}
	/* As the server's clients[]: one way to name the certificate. */
	if ((p->san_uri == NULL) == !p->has_cert_sha256)
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "must have "
		    "exactly one of \"san_uri\" and \"cert_sha256\"");
	else if (p->san_uri != NULL && strchr(p->san_uri, ':') == NULL)
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "san_uri", "is not a "
		    "URI");
out:
	free(hex);
	return r;
}

static int
load_proxies(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	json_t	*a;
	size_t	 i, j;
	int	 r;

	if ((r = ob_cfg_member(c, root, "proxies", JSON_ARRAY, 1, &a)) !=
	    OB_OK)
		return r;
	if (json_array_size(a) == 0 || json_array_size(a) >
	    OB_GW_MAX_PROXIES)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "proxies",
		    "must hold 1 to %d proxies", OB_GW_MAX_PROXIES);
	if ((cfg->proxies = calloc(json_array_size(a),
	    sizeof(*cfg->proxies))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "proxies");
	for (i = 0; i < json_array_size(a); i++) {
		ob_cfg_push_idx(c, i);
		cfg->nproxies = i + 1;
		if ((r = load_proxy(c, json_array_get(a, i),
		    &cfg->proxies[i])) != OB_OK)
			return r;
		for (j = 0; j < i; j++) {
			const struct ob_gw_proxy *q = &cfg->proxies[j],
			    *p = &cfg->proxies[i];

			if (strcmp(q->id, p->id) == 0)
				return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID,
				    "id", "repeats proxies[%zu]", j);
			if ((q->san_uri != NULL && p->san_uri != NULL &&
			    strcmp(q->san_uri, p->san_uri) == 0) ||
			    (q->has_cert_sha256 && p->has_cert_sha256 &&
			    memcmp(q->cert_sha256, p->cert_sha256, 32) == 0))
				return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID,
				    p->san_uri != NULL ? "san_uri" :
				    "cert_sha256", "names the same certificate "
				    "as proxies[%zu]", j);
		}
		ob_cfg_pop(c);
	}
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_server(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	static const char *const m[] = { "url", "ca", "cert", "key",
	    "timeout_ms", NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, "server", JSON_OBJECT, 1, &o)) !=
	    OB_OK)
		return r;
	ob_cfg_push_key(c, "server");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "url", 1, NULL, 1024, &cfg->server.url)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, o, "ca", 1, NULL, &cfg->server.ca)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "cert", 1, NULL, &cfg->server.cert)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, o, "key", 1, NULL, &cfg->server.key)) !=
	    OB_OK ||
	    (r = ob_cfg_uint(c, o, "timeout_ms", 100, 600000, 10000,
	    &cfg->server.timeout_ms)) != OB_OK)
		return r;
	if (strncmp(cfg->server.url, "https://", 8) != 0 ||
	    strchr(cfg->server.url + 8, '/') != NULL)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "url", "must be "
		    "https://HOST[:PORT] without a path");
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_signer(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	static const char *const m[] = { "program", "config", "socket", "key",
	    "timeout_ms", "backoff_max_ms", NULL };
	const char	*k;
	json_t		*o;
	int		 r;

	if ((r = ob_cfg_member(c, root, "signer", JSON_OBJECT, 1, &o)) !=
	    OB_OK)
		return r;
	ob_cfg_push_key(c, "signer");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "program", 0, NULL,
	    &cfg->signer.program)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "config", 0, NULL,
	    &cfg->signer.config)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "socket", 0, NULL,
	    &cfg->signer.socket)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "key", 1, NULL, 64, &cfg->signer.key)) !=
	    OB_OK ||
	    (r = ob_cfg_uint(c, o, "timeout_ms", 100, 60000, 5000,
	    &cfg->signer.timeout_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "backoff_max_ms", 100, 600000, 10000,
	    &cfg->signer.backoff_max_ms)) != OB_OK)
		return r;
	if ((cfg->signer.config == NULL) == (cfg->signer.socket == NULL))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "needs "
		    "exactly one of config (start the helper) and socket "
		    "(reach a running one)");
	for (k = cfg->signer.key; *k != '\0'; k++)
		if (!isalnum((unsigned char)*k) && *k != '.' && *k != '_' &&
		    *k != '-')
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "key",
			    "must be [A-Za-z0-9._-]");
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_queue(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	static const char *const m[] = { "depth", "deadline_ms", "in_flight",
	    NULL };
	json_t	*o;
	int	 r;

	cfg->hsm_queue.depth = 64;
	cfg->hsm_queue.deadline_ms = 2000;
	cfg->hsm_queue.in_flight = 4;
	if ((r = ob_cfg_member(c, root, "hsm_queue", JSON_OBJECT, 0, &o)) !=
	    OB_OK || o == NULL)
		return r;
	ob_cfg_push_key(c, "hsm_queue");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "depth", 1, 100000, 64,
	    &cfg->hsm_queue.depth)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "deadline_ms", 10, 600000, 2000,
	    &cfg->hsm_queue.deadline_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "in_flight", 1, 32, 4,
	    &cfg->hsm_queue.in_flight)) != OB_OK)
		return r;
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_limits(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	static const char *const m[] = { "max_body", "max_header",
	    "max_conns", "timeout_s", "workers", "queue", NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, "limits", JSON_OBJECT, 0, &o)) !=
	    OB_OK)
		return r;
	if (o == NULL)
		o = json_object();	/* every default */
	else
		json_incref(o);
	if (o == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "limits");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_size(c, o, "max_body", 1024, 1 << 20, 65536,
	    &cfg->limits.max_body)) != OB_OK ||
	    (r = ob_cfg_size(c, o, "max_header", 1024, 1 << 16, 8192,
	    &cfg->limits.max_header)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "max_conns", 1, 100000, 2048,
	    &cfg->limits.max_conns)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "timeout_s", 1, 3600, 10,
	    &cfg->limits.timeout_s)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "workers", 1, 256, 8,
	    &cfg->limits.workers)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "queue", 1, 100000, 256,
	    &cfg->limits.queue)) != OB_OK)
		goto out;
	ob_cfg_pop(c);
out:
	json_decref(o);
	return r;
}

static int
load_rate(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	static const char *const m[] = { "per_proxy", "per_owner",
	    "per_agent", NULL };
	json_t	*o;
	int	 r;

	cfg->rate.per_proxy = (struct ob_rate){ 0, 1 };
	cfg->rate.per_owner = (struct ob_rate){ 0, 1 };
	cfg->rate.per_agent = (struct ob_rate){ 2, 5 };
	if ((r = ob_cfg_member(c, root, "rate", JSON_OBJECT, 0, &o)) !=
	    OB_OK || o == NULL)
		return r;
	ob_cfg_push_key(c, "rate");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_bucket(c, o, "per_proxy",
	    &cfg->rate.per_proxy.per_second,
	    &cfg->rate.per_proxy.burst)) != OB_OK ||
	    (r = ob_cfg_bucket(c, o, "per_owner",
	    &cfg->rate.per_owner.per_second,
	    &cfg->rate.per_owner.burst)) != OB_OK ||
	    (r = ob_cfg_bucket(c, o, "per_agent",
	    &cfg->rate.per_agent.per_second,
	    &cfg->rate.per_agent.burst)) != OB_OK)
		return r;
	ob_cfg_pop(c);
	return OB_OK;
}

static const char *const top_members[] = {
	"listen", "metrics_listen", "id", "aud", "tls", "proxies", "server",
	"signer", "x5c", "policy", "trust", "audit", "hsm_queue",
	"approval_timeout_s", "limits", "rate", "user", "sandbox", "log_level",
	NULL
};
static const char *const log_levels[] = { "debug", "info", "warn", "error",
	NULL };

static int
load(struct ob_cfg *c, const json_t *root, struct ob_gw_config *cfg)
{
	json_t	*sb;
	int	 r, lvl;

	if ((r = ob_cfg_only(c, root, top_members)) != OB_OK ||
	    (r = ob_cfg_listen(c, root, "listen", "127.0.0.1:8453",
	    &cfg->listen)) != OB_OK ||
	    (r = ob_cfg_listen(c, root, "metrics_listen", "127.0.0.1:8454",
	    &cfg->metrics_listen)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "id", 1, NULL, 256, &cfg->id)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "aud", 1, NULL, 2048, &cfg->aud)) !=
	    OB_OK ||
	    (r = load_tls(c, root, cfg)) != OB_OK ||
	    (r = load_proxies(c, root, cfg)) != OB_OK ||
	    (r = load_server(c, root, cfg)) != OB_OK ||
	    (r = load_signer(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_path(c, root, "x5c", 1, NULL, &cfg->x5c)) != OB_OK ||
	    (r = ob_cfg_path(c, root, "policy", 1, NULL, &cfg->policy)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, root, "trust", 0, NULL, &cfg->trust)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, root, "audit", 0, "audit.jsonl",
	    &cfg->audit)) != OB_OK ||
	    (r = load_queue(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_uint(c, root, "approval_timeout_s", 1, 86400, 300,
	    &cfg->approval_timeout_s)) != OB_OK ||
	    (r = load_limits(c, root, cfg)) != OB_OK ||
	    (r = load_rate(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "user", 0, NULL, 256, &cfg->user)) !=
	    OB_OK ||
	    (r = ob_cfg_member(c, root, "sandbox", JSON_TRUE, 0, &sb)) != OB_OK ||
	    (r = ob_cfg_enum(c, root, "log_level", 0, log_levels, 1, &lvl)) !=
	    OB_OK)
		return r;
	cfg->sandbox = sb == NULL || json_is_true(sb);
	cfg->log_level = log_levels[lvl];
	return OB_OK;
}

int
ob_gw_config_load(const char *path, struct ob_gw_config **out,
    unsigned long *errline)
{
	struct ob_cfg		 c;
	struct ob_gw_config	*cfg = NULL;
	json_t			*root = NULL;
	char			*buf = NULL, *dir = NULL, *abs = NULL;
	size_t			 n;
	int			 r;

	memset(&c, 0, sizeof(c));
	OB_TRY(ob_cfg_slurp(path, &abs, &dir, &buf, &n));
	OB_TRY(ob_cfg_read(&c, buf, n, dir, path, &root));
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(load(&c, root, cfg));
	cfg->path = abs;
	abs = NULL;
	*out = cfg;
	cfg = NULL;
	r = OB_OK;
out:
	if (r != OB_OK) {
		if (errline != NULL)
			*errline = c.errline;
		r = ob_err_prefix(r == OB_ERR_ALLOC || r == OB_ERR_IO ? r :
		    OB_ERR_GATEWAY_CONFIG, "gateway configuration");
	}
	ob_gw_config_free(&cfg);
	json_decref(root);
	free(abs);		/* still ours unless handed to cfg */
	free(buf);
	free(dir);
	return r;
}

void
ob_gw_config_free(struct ob_gw_config **cfgp)
{
	struct ob_gw_config	*c;
	size_t			 i;

	if (cfgp == NULL || (c = *cfgp) == NULL)
		return;
	free(c->path);
	free(c->listen);
	free(c->metrics_listen);
	free(c->id);
	free(c->aud);
	free(c->tls.cert);
	free(c->tls.key);
	free(c->tls.client_ca);
	for (i = 0; i < c->nproxies; i++) {
		free(c->proxies[i].id);
		free(c->proxies[i].san_uri);
	}
	free(c->proxies);
	free(c->server.url);
	free(c->server.ca);
	free(c->server.cert);
	free(c->server.key);
	free(c->signer.program);
	free(c->signer.config);
	free(c->signer.socket);
	free(c->signer.key);
	free(c->x5c);
	free(c->policy);
	free(c->trust);
	free(c->audit);
	free(c->user);
	free(c);
	*cfgp = NULL;
}

int
ob_gw_config_check_main(const char *path)
{
	struct ob_gw_config	*cfg = NULL;
	unsigned long		 line = 0;
	int			 r;

	ob_err_clear();
	if ((r = ob_gw_config_load(path, &cfg, &line)) != OB_OK) {
		fprintf(stderr, "%s (%s)\n", ob_err_detail(), ob_err_name(r));
		return 1;
	}
	printf("%s: ok\n", path);
	ob_gw_config_free(&cfg);
	return 0;
}
