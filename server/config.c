/*
 * The server's configuration (docs/server.md).
 *
 * The file is read and its members are typed by the shared strict reader
 * (common/cfgread.h), which names the member and its line in every error;
 * this file knows only the server's sections.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/objects.h>

#include "server/config.h"
#include "server/issuer.h"
#include "common/cfgread.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/json.h"
#include "server-verify/redis.h"
#include "tokens/pin.h"
/* ---- sections ---- */

static int
load_tls(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "cert", "key", "client_ca", NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, "tls", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	ob_cfg_push_key(c, "tls");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "cert", 1, NULL, &cfg->tls.cert)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "key", 1, NULL, &cfg->tls.key)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "client_ca", 1, NULL,
	    &cfg->tls.client_ca)) != OB_OK)
		return r;
	ob_cfg_pop(c);
	return OB_OK;
}

/*
 * clients[].callback: where this client's ping notifications go
 * (docs/server.md).  Configured here and only here: a request asks for a
 * ping, it never names where.
 */
static int
load_callback(struct ob_cfg *c, const json_t *o, struct ob_server_client *cl)
{
	static const char *const m[] = { "url", "ca", NULL };
	json_t	*cb;
	int	 r;

	if ((r = ob_cfg_member(c, o, "callback", JSON_OBJECT, 0, &cb)) !=
	    OB_OK || cb == NULL)
		return r;
	if (cl->role != OB_CLIENT_PROXY)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "callback", "is for "
		    "role \"proxy\" only (held requests are a proxy's)");
	ob_cfg_push_key(c, "callback");
	if ((r = ob_cfg_only(c, cb, m)) != OB_OK ||
	    (r = ob_cfg_str(c, cb, "url", 1, NULL, 2048, &cl->callback_url)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, cb, "ca", 1, NULL, &cl->callback_ca)) != OB_OK)
		return r;
	if (strncmp(cl->callback_url, "https://", 8) != 0 ||
	    cl->callback_url[8] == '\0' ||
	    strpbrk(cl->callback_url, " \t\r\n") != NULL)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "url", "must be an "
		    "https:// URL");
	/* The URL goes into the log when a ping fails: no credentials in
	 * it (the bearer token is the request's, in its header). */
	{
		const char *auth = cl->callback_url + 8;
		size_t n = strcspn(auth, "/?#");

		if (memchr(auth, '@', n) != NULL)
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "url",
			    "must not carry a user or password (the ping "
			    "carries its own bearer token)");
	}
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_client(struct ob_cfg *c, const json_t *o, struct ob_server_client *cl)
{
	static const char *const m[] = { "id", "role", "san_uri",
	    "cert_sha256", "owner", "callback", NULL };
	static const char *const roles[] = { "proxy", "gateway", "responder",
	    NULL };
	char	*hex = NULL;
	int	 r, role;

	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "id", 1, NULL, 256, &cl->id)) != OB_OK ||
	    (r = ob_cfg_enum(c, o, "role", 1, roles, 0, &role)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "san_uri", 0, NULL, 2048, &cl->san_uri)) !=
	    OB_OK ||
	    (r = ob_cfg_str(c, o, "cert_sha256", 0, NULL, 64, &hex)) != OB_OK)
		goto out;
	cl->role = role == 0 ? OB_CLIENT_PROXY : role == 1 ?
	    OB_CLIENT_GATEWAY : OB_CLIENT_RESPONDER;
	/* A responder answers for exactly one owner; nobody else has one. */
	if ((r = ob_cfg_str(c, o, "owner", cl->role == OB_CLIENT_RESPONDER, NULL,
	    256, &cl->owner)) != OB_OK)
		goto out;
	if (cl->owner != NULL && cl->role != OB_CLIENT_RESPONDER) {
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "owner", "is for role "
		    "\"responder\" only");
		goto out;
	}
	if ((cl->san_uri == NULL) == (hex == NULL)) {
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "must have exactly "
		    "one of \"san_uri\" and \"cert_sha256\"");
		goto out;
	}
	if (cl->san_uri != NULL && strchr(cl->san_uri, ':') == NULL) {
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "san_uri", "is not a URI");
		goto out;
	}
	if (hex != NULL) {
		if (ob_hex_to_bin(hex, cl->cert_sha256, 32) != 0) {
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "cert_sha256",
			    "must be 64 hex digits (the SHA-256 of the "
			    "certificate's DER)");
			goto out;
		}
		cl->has_cert_sha256 = 1;
	}
	r = load_callback(c, o, cl);
out:
	free(hex);
	return r;
}

static int
load_clients(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	json_t	*a, *o;
	size_t	 i, j, n;
	int	 r;

	if ((r = ob_cfg_member(c, root, "clients", JSON_ARRAY, 1, &a)) != OB_OK)
		return r;
	n = json_array_size(a);
	if (n < 1 || n > 1024)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "clients", "must have 1 "
		    "to 1024 entries");
	if ((cfg->clients = calloc(n, sizeof(*cfg->clients))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "clients");
	for (i = 0; i < n; i++) {
		struct ob_server_client *cl = &cfg->clients[i];

		cfg->nclients = i + 1;
		o = json_array_get(a, i);
		ob_cfg_push_idx(c, i);
		if (!json_is_object(o))
			return ob_cfg_fail(c, OB_ERR_CONFIG_TYPE, NULL, "must be an "
			    "object, not %s", ob_cfg_type_name(o));
		if ((r = load_client(c, o, cl)) != OB_OK)
			return r;
		for (j = 0; j < i; j++) {
			const struct ob_server_client *p = &cfg->clients[j];

			if (strcmp(p->id, cl->id) == 0)
				return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "id",
				    "repeats clients[%zu]", j);
			if ((p->san_uri != NULL && cl->san_uri != NULL &&
			    strcmp(p->san_uri, cl->san_uri) == 0) ||
			    (p->has_cert_sha256 && cl->has_cert_sha256 &&
			    memcmp(p->cert_sha256, cl->cert_sha256, 32) == 0))
				return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID,
				    cl->san_uri != NULL ? "san_uri" :
				    "cert_sha256", "names the same certificate "
				    "as clients[%zu]", j);
		}
		ob_cfg_pop(c);
	}
	ob_cfg_pop(c);
	return OB_OK;
}

/* A key name of the signer's (signer/config.c has the same rule). */
static int
key_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

static int
load_issuer(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "key", "chain", "publish", NULL };
	json_t	*o, *a, *v;
	size_t	 i;
	int	 r;

	if ((r = ob_cfg_member(c, root, "issuer", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	ob_cfg_push_key(c, "issuer");
	/* Keys and PINs live in ownerbind-signer, never here. */
	if (json_object_get(o, "pin_source") != NULL)
		return ob_cfg_fail(c, OB_ERR_CONFIG_UNKNOWN, "pin_source", "belongs "
		    "in the signer's configuration (keys[].pin_source, "
		    "ownerbind-signer(8))");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "key", 1, NULL, 64, &cfg->issuer.key)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, o, "chain", 1, NULL, &cfg->issuer.chain)) != OB_OK)
		return r;
	if (!key_name_ok(cfg->issuer.key))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "key", "must name a key "
		    "of the signer (its keys[].name: letters, digits, '.', "
		    "'_', '-'); a key URI belongs in the signer's "
		    "configuration");
	/* Other issuer CAs whose keys GET /v1/keys serves (rotation). */
	if ((r = ob_cfg_member(c, o, "publish", JSON_ARRAY, 0, &a)) != OB_OK)
		return r;
	if (a != NULL && json_array_size(a) > OB_ISSUER_MAX_PUBLISH)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "publish", "has at "
		    "most %d entries", OB_ISSUER_MAX_PUBLISH);
	if (a != NULL && json_array_size(a) > 0 && (cfg->issuer.publish =
	    calloc(json_array_size(a), sizeof(char *))) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || *s == '\0' || strlen(s) > 4096)
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "publish",
			    "[%zu] is not a path (a string of 1 to 4096 "
			    "bytes)", i);
		if ((r = ob_cfg_abspath(c, s, &cfg->issuer.publish[i])) !=
		    OB_OK)
			return r;
		cfg->issuer.npublish = i + 1;
	}
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_signer(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "program", "config", "socket",
	    "timeout_ms", "backoff_max_ms", NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, "signer", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	ob_cfg_push_key(c, "signer");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "program", 0, NULL,
	    &cfg->signer.program)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "config", 0, NULL, &cfg->signer.config)) !=
	    OB_OK ||
	    (r = ob_cfg_path(c, o, "socket", 0, NULL, &cfg->signer.socket)) !=
	    OB_OK ||
	    (r = ob_cfg_uint(c, o, "timeout_ms", 100, 600000, 5000,
	    &cfg->signer.timeout_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "backoff_max_ms", 100, 600000, 10000,
	    &cfg->signer.backoff_max_ms)) != OB_OK)
		return r;
	if ((cfg->signer.config == NULL) == (cfg->signer.socket == NULL))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "must have "
		    "exactly one of \"config\" (start the helper) and "
		    "\"socket\" (reach a running one)");
	if (cfg->signer.program != NULL && cfg->signer.socket != NULL)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "program", "is for a "
		    "helper the server starts (with \"config\")");
	ob_cfg_pop(c);
	return OB_OK;
}

/*
 * Dotted decimal, at least two arcs, first 0..2 (second < 40 below 2),
 * every arc below 2^31 (Go's crypto/x509 and others), not under 2.25
 * (UUID arcs: docs/decisions.md).
 */
static int
oid_ok(const char *s)
{
	unsigned long long	 arc[2] = { 0, 0 };
	size_t			 n = 0, digits;
	unsigned long long	 v;

	if (strncmp(s, "2.25.", 5) == 0 || strcmp(s, "2.25") == 0)
		return 0;
	for (;;) {
		v = 0;
		for (digits = 0; isdigit((unsigned char)*s); s++, digits++) {
			v = v * 10 + (unsigned long long)(*s - '0');
			if (v > INT_MAX)
				return 0;
		}
		if (digits == 0 || (digits > 1 && s[-(long)digits] == '0'))
			return 0;
		if (n < 2)
			arc[n] = v;
		n++;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			return 0;
	}
	return n >= 2 && arc[0] <= 2 && (arc[0] == 2 || arc[1] < 40);
}

/*
 * The issuer refuses an OID OpenSSL knows as something else (decision 27:
 * the binding cannot pose as another extension); --check-config says so
 * too, rather than the start.  The default's own OID written out is the
 * default (NULL).
 */
static int
known_oid(struct ob_cfg *c, char **oid)
{
	ASN1_OBJECT	*o;
	int		 nid;

	if ((o = OBJ_txt2obj(*oid, 1)) == NULL)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "owner_oid",
		    "must be a dotted OID");
	nid = OBJ_obj2nid(o);
	ASN1_OBJECT_free(o);
	if (nid == NID_subject_directory_attributes) {
		free(*oid);
		*oid = NULL;
		return OB_OK;
	}
	if (nid != NID_undef)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "owner_oid", "is "
		    "the OID of %s: an organisation's own OID, or none for "
		    "the default", OBJ_nid2sn(nid));
	return OB_OK;
}

static int
load_wic(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "owner_oid", "subject_ou", NULL };
	json_t	*o, *v;
	int	 r;

	if ((r = ob_cfg_member(c, root, "wic", JSON_OBJECT, 0, &o)) != OB_OK ||
	    o == NULL)
		return r;
	ob_cfg_push_key(c, "wic");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "owner_oid", 0, NULL, 256,
	    &cfg->wic.owner_oid)) != OB_OK ||
	    (r = ob_cfg_member(c, o, "subject_ou", JSON_TRUE, 0, &v)) != OB_OK)
		return r;
	if (cfg->wic.owner_oid != NULL && !oid_ok(cfg->wic.owner_oid))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "owner_oid", "must be a "
		    "dotted OID with arcs below 2^31, not under 2.25");
	if (cfg->wic.owner_oid != NULL && (r = known_oid(c,
	    &cfg->wic.owner_oid)) != OB_OK)
		return r;
	cfg->wic.subject_ou = v != NULL && json_is_true(v);
	ob_cfg_pop(c);
	return OB_OK;
}

static int
domain_ok(const char *d)
{
	size_t i, n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-' ||
	    d[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '-' &&
		    d[i] != '.')
			return 0;
	return 1;
}

#define LIFETIME_FLOOR	1	/* the least min_lifetime */
#define LIFETIME_MIN	60	/* min_lifetime's default */
#define LIFETIME_MAX	86400

static int
load_lifetimes(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	json_t		*o, *v;
	const char	*k;
	size_t		 n = 0;
	int		 r;

	if ((r = ob_cfg_int(c, root, "min_lifetime", LIFETIME_FLOOR,
	    LIFETIME_MAX, LIFETIME_MIN, &cfg->min_lifetime)) != OB_OK ||
	    (r = ob_cfg_int(c, root, "lifetime", cfg->min_lifetime,
	    LIFETIME_MAX, 3600, &cfg->lifetime)) != OB_OK ||
	    (r = ob_cfg_member(c, root, "lifetime_by_domain", JSON_OBJECT, 0, &o)) !=
	    OB_OK || o == NULL)
		return r;
	if (json_object_size(o) > 4096)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "lifetime_by_domain",
		    "has more than 4096 entries");
	if ((cfg->lifetime_by_domain = calloc(json_object_size(o) + 1,
	    sizeof(*cfg->lifetime_by_domain))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "lifetime_by_domain");
	json_object_foreach(o, k, v) {
		struct ob_domain_lifetime *d = &cfg->lifetime_by_domain[n];

		if (!domain_ok(k))
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, k, "is not a "
			    "trust domain name");
		if ((r = ob_cfg_int(c, o, k, cfg->min_lifetime, LIFETIME_MAX,
		    0, &d->seconds)) != OB_OK)
			return r;
		if ((d->domain = strdup(k)) == NULL)
			return OB_ERR_ALLOC;
		cfg->nlifetime_by_domain = ++n;
	}
	ob_cfg_pop(c);
	return OB_OK;
}

static int
load_limits(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "max_body", "max_header",
	    "max_conns", "timeout_s", "workers", "queue", NULL };
	json_t	*o;
	int	 r;

	if ((r = ob_cfg_member(c, root, "limits", JSON_OBJECT, 0, &o)) != OB_OK)
		return r;
	if (o == NULL)
		o = json_object();	/* every default */
	else
		json_incref(o);
	if (o == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "limits");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_size(c, o, "max_body", 1024, 16 << 20, 64 << 10,
	    &cfg->limits.max_body)) != OB_OK ||
	    (r = ob_cfg_size(c, o, "max_header", 1024, 1 << 20, 8 << 10,
	    &cfg->limits.max_header)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "max_conns", 1, 65536, 1024,
	    &cfg->limits.max_conns)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "timeout_s", 1, 3600, 10,
	    &cfg->limits.timeout_s)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "workers", 1, 256, 2,
	    &cfg->limits.workers)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "queue", 1, 65536, 256,
	    &cfg->limits.queue)) != OB_OK)
		goto out;
	ob_cfg_pop(c);
out:
	json_decref(o);
	return r;
}

static int
load_bucket(struct ob_cfg *c, const json_t *o, const char *key,
    struct ob_rate def, struct ob_rate *out)
{
	*out = def;
	return ob_cfg_bucket(c, o, key, &out->per_second, &out->burst);
}

/* The approval page's public routes' buckets (docs/server.md). */
static const struct ob_rate def_page_ip = { 5, 40 };
static const struct ob_rate def_page_all = { 100, 400 };

/* docs/server.md, "challenge" (the server-mediated model). */
static int
load_challenge(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "deadline_s", "interval_s",
	    "max_pending", "wait_max_s", "approval_page", "page_per_ip",
	    "page_global", NULL };
	json_t	*o, *ap;
	int	 r;

	cfg->challenge.deadline_s = 120;
	cfg->challenge.interval_s = 2;
	cfg->challenge.max_pending = 1024;
	cfg->challenge.wait_max_s = 5;
	cfg->challenge.page_per_ip = def_page_ip;
	cfg->challenge.page_global = def_page_all;
	if ((r = ob_cfg_member(c, root, "challenge", JSON_OBJECT, 0, &o)) != OB_OK ||
	    o == NULL)
		return r;
	ob_cfg_push_key(c, "challenge");
	/* The deadline stays inside the verifier's 300 s max_age: the
	 * agent's entry must still be fresh when the owner answers. */
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "deadline_s", 1, 240, 120,
	    &cfg->challenge.deadline_s)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "interval_s", 1, 60, 2,
	    &cfg->challenge.interval_s)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "max_pending", 1, 100000, 1024,
	    &cfg->challenge.max_pending)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "wait_max_s", 0, 60, 5,
	    &cfg->challenge.wait_max_s)) != OB_OK ||
	    (r = ob_cfg_member(c, o, "approval_page", JSON_TRUE, 0, &ap)) !=
	    OB_OK ||
	    (r = load_bucket(c, o, "page_per_ip", def_page_ip,
	    &cfg->challenge.page_per_ip)) != OB_OK ||
	    (r = load_bucket(c, o, "page_global", def_page_all,
	    &cfg->challenge.page_global)) != OB_OK)
		return r;
	cfg->challenge.approval_page = ap != NULL && json_is_true(ap);
	ob_cfg_pop(c);
	return OB_OK;
}

/* The public enrolment routes' buckets (docs/server.md, "enrol"). */
static const struct ob_rate def_enrol_ip = { 2, 20 };
static const struct ob_rate def_enrol_all = { 50, 200 };

/* docs/server.md, "enrol" (passkey enrolment through the page). */
static int
load_enrol(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "dir", "rp_id", "origins",
	    "user_verification", "resident_key", "invite_ttl_s", "per_ip",
	    "global", NULL };
	static const char *const uv[] = { "required", "preferred", NULL };
	static const char *const rk[] = { "required", "preferred",
	    "discouraged", NULL };
	json_t		*o, *a, *v;
	const char	*s;
	size_t		 i;
	int		 r, u;

	cfg->enrol.invite_ttl_s = 86400;
	cfg->enrol.per_ip = def_enrol_ip;
	cfg->enrol.global = def_enrol_all;
	if ((r = ob_cfg_member(c, root, "enrol", JSON_OBJECT, 0, &o)) !=
	    OB_OK || o == NULL)
		return r;
	ob_cfg_push_key(c, "enrol");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_path(c, o, "dir", 1, NULL, &cfg->enrol.dir)) !=
	    OB_OK ||
	    (r = ob_cfg_str(c, o, "rp_id", 1, NULL, 253, &cfg->enrol.rp_id)) !=
	    OB_OK ||
	    (r = ob_cfg_enum(c, o, "user_verification", 0, uv, 0, &u)) !=
	    OB_OK ||
	    (r = ob_cfg_enum(c, o, "resident_key", 0, rk, OB_RK_REQUIRED,
	    &cfg->enrol.resident_key)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "invite_ttl_s", 60, 604800, 86400,
	    &cfg->enrol.invite_ttl_s)) != OB_OK ||
	    (r = load_bucket(c, o, "per_ip", def_enrol_ip,
	    &cfg->enrol.per_ip)) != OB_OK ||
	    (r = load_bucket(c, o, "global", def_enrol_all,
	    &cfg->enrol.global)) != OB_OK ||
	    (r = ob_cfg_member(c, o, "origins", JSON_ARRAY, 1, &a)) != OB_OK)
		return r;
	cfg->enrol.uv_required = u == 0;
	if (json_array_size(a) < 1 || json_array_size(a) > 16)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "origins",
		    "has 1 to 16 entries");
	if ((cfg->enrol.origins = calloc(json_array_size(a),
	    sizeof(char *))) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(a, i, v) {
		/* The trust store's rule for a credential's origins. */
		if ((s = json_string_value(v)) == NULL || strlen(s) > 256 ||
		    strncmp(s, "https://", 8) != 0 || s[8] == '\0' ||
		    strchr(s + 8, '/') != NULL)
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "origins",
			    "[%zu] is not https://HOST[:PORT]", i);
		if ((cfg->enrol.origins[i] = strdup(s)) == NULL)
			return OB_ERR_ALLOC;
		cfg->enrol.norigins = i + 1;
	}
	ob_cfg_pop(c);
	return OB_OK;
}

/* docs/server.md, "rate". */
static const struct ob_rate def_peer = { 0, 1 };
static const struct ob_rate def_owner = { 10, 20 };
static const struct ob_rate def_agent = { 2, 5 };

static int
load_rate(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "per_peer", "per_owner",
	    "per_agent", "shared", NULL };
	json_t	*o, *v;
	int	 r;

	cfg->rate.per_peer = def_peer;
	cfg->rate.per_owner = def_owner;
	cfg->rate.per_agent = def_agent;
	if ((r = ob_cfg_member(c, root, "rate", JSON_OBJECT, 0, &o)) != OB_OK ||
	    o == NULL)
		return r;
	ob_cfg_push_key(c, "rate");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = load_bucket(c, o, "per_peer", def_peer,
	    &cfg->rate.per_peer)) != OB_OK ||
	    (r = load_bucket(c, o, "per_owner", def_owner,
	    &cfg->rate.per_owner)) != OB_OK ||
	    (r = load_bucket(c, o, "per_agent", def_agent,
	    &cfg->rate.per_agent)) != OB_OK ||
	    (r = ob_cfg_member(c, o, "shared", JSON_TRUE, 0, &v)) != OB_OK)
		return r;
	cfg->rate.shared = v != NULL && json_is_true(v);
	if (cfg->rate.shared && !cfg->state_redis)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "shared", "needs a "
		    "Redis state (redis:// or unix:): the buckets live there");
	ob_cfg_pop(c);
	return OB_OK;
}

/*
 * state: a path (SQLite), or a Redis URI.  A unix: socket path is taken
 * from the configuration's directory like any other path.  The URI is
 * never repeated in an error: one with a password is refused, and the
 * password must not reach a log.
 */
/* PREFIX:PATH made absolute (unix: state, file: password source); other
 * schemes as they are. */
static int
file_uri_abs(const struct ob_cfg *c, char **s, const char *prefix)
{
	size_t	 n = strlen(prefix);
	char	*p = NULL, *u;
	int	 r;

	if (strncmp(*s, prefix, n) != 0 || (*s)[n] == '/' || (*s)[n] == '\0')
		return OB_OK;
	if ((r = ob_cfg_abspath(c, *s + n, &p)) != OB_OK)
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
load_state(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	char	*s = NULL;
	int	 r;

	if ((r = ob_cfg_str(c, root, "state", 0, "state.sqlite", 4096, &s)) !=
	    OB_OK)
		return r;
	if (!ob_redis_is_uri(s)) {
		r = ob_cfg_abspath(c, s, &cfg->state);
		free(s);
		return r;
	}
	cfg->state = s;
	cfg->state_redis = 1;
	if ((r = file_uri_abs(c, &cfg->state, "unix:")) != OB_OK)
		return r;
	if (ob_redis_uri_check(cfg->state) != OB_OK)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "state", "is not a "
		    "Redis URI: %s", ob_err_detail());
	return OB_OK;
}

/* redis: how the Redis state is reached (docs/server.md, "redis"). */
static int
load_redis(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "user", "password_source", "prefix",
	    "connect_timeout_ms", "timeout_ms", "wait_replicas",
	    "wait_timeout_ms", NULL };
	struct ob_pin_source	*ps = NULL;
	json_t			*o;
	int			 r;

	if ((r = ob_cfg_member(c, root, "redis", JSON_OBJECT, 0, &o)) != OB_OK)
		return r;
	if (o != NULL && !cfg->state_redis)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "redis", "is for a Redis "
		    "state only, and \"state\" is a file path");
	if (o == NULL)
		o = json_object();	/* every default */
	else
		json_incref(o);
	if (o == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "redis");
	if ((r = ob_cfg_only(c, o, m)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "user", 0, NULL, 256, &cfg->redis.user)) !=
	    OB_OK ||
	    (r = ob_cfg_str(c, o, "password_source", 0, NULL, 4096,
	    &cfg->redis.password_source)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "prefix", 0, NULL, OB_REDIS_PREFIX_MAX,
	    &cfg->redis.prefix)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "connect_timeout_ms", 1, 60000, 1000,
	    &cfg->redis.connect_timeout_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "timeout_ms", 1, 60000, 1000,
	    &cfg->redis.timeout_ms)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "wait_replicas", 0, 16, 0,
	    &cfg->redis.wait_replicas)) != OB_OK ||
	    (r = ob_cfg_uint(c, o, "wait_timeout_ms", 1, 60000, 100,
	    &cfg->redis.wait_timeout_ms)) != OB_OK)
		goto out;
	if (cfg->redis.prefix != NULL &&
	    ob_redis_prefix_check(cfg->redis.prefix) != OB_OK) {
		r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "prefix", "must be 1 to %d "
		    "letters, digits and : . _ -", OB_REDIS_PREFIX_MAX);
		goto out;
	}
	if (cfg->redis.password_source != NULL) {
		/* lint: ok: a pin-source spec, not the password */
		if (strcmp(cfg->redis.password_source, "tty") == 0) {
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "password_source",
			    "cannot be tty: a server has no terminal");
			goto out;
		}
		if ((r = file_uri_abs(c, &cfg->redis.password_source,
		    "file:")) != OB_OK)
			goto out;
		if (ob_pin_source_parse(cfg->redis.password_source, &ps) !=
		    OB_OK) {
			r = ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "password_source",
			    "is not a PIN source (file:, fd:, env:, askpass:; "
			    "docs/pin-sources.md)");
			goto out;
		}
		ob_pin_source_free(&ps);
	}
	ob_cfg_pop(c);
	r = OB_OK;
out:
	json_decref(o);
	return r;
}

static const char *const top_members[] = {
	"listen", "metrics_listen", "aud", "iss", "tls", "clients", "trust",
	"state", "redis", "audit", "issuer", "signer", "wic", "min_lifetime",
	"lifetime", "lifetime_by_domain", "limits", "rate", "challenge", "enrol",
	"user", "sandbox", "log_level", NULL
};

static int
load(struct ob_cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const levels[] = { "debug", "info", "warn",
	    "error", NULL };
	json_t	*sb;
	int	 r, lvl;

	if ((r = ob_cfg_only(c, root, top_members)) != OB_OK ||
	    (r = ob_cfg_listen(c, root, "listen", "127.0.0.1:8443",
	    &cfg->listen)) != OB_OK ||
	    (r = ob_cfg_listen(c, root, "metrics_listen", "127.0.0.1:8444",
	    &cfg->metrics_listen)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "aud", 1, NULL, 1024, &cfg->aud)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "iss", 1, NULL, 1024, &cfg->iss)) != OB_OK ||
	    (r = load_tls(c, root, cfg)) != OB_OK ||
	    (r = load_clients(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_path(c, root, "trust", 1, NULL, &cfg->trust)) != OB_OK ||
	    (r = load_state(c, root, cfg)) != OB_OK ||
	    (r = load_redis(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_path(c, root, "audit", 0, "audit.jsonl",
	    &cfg->audit)) != OB_OK ||
	    (r = load_issuer(c, root, cfg)) != OB_OK ||
	    (r = load_signer(c, root, cfg)) != OB_OK ||
	    (r = load_wic(c, root, cfg)) != OB_OK ||
	    (r = load_lifetimes(c, root, cfg)) != OB_OK ||
	    (r = load_limits(c, root, cfg)) != OB_OK ||
	    (r = load_rate(c, root, cfg)) != OB_OK ||
	    (r = load_challenge(c, root, cfg)) != OB_OK ||
	    (r = load_enrol(c, root, cfg)) != OB_OK ||
	    (r = ob_cfg_str(c, root, "user", 0, NULL, 256, &cfg->user)) != OB_OK ||
	    (r = ob_cfg_member(c, root, "sandbox", JSON_TRUE, 0, &sb)) != OB_OK ||
	    (r = ob_cfg_enum(c, root, "log_level", 0, levels, OB_LOG_INFO,
	    &lvl)) != OB_OK)
		return r;
	cfg->sandbox = sb == NULL || json_is_true(sb);
	cfg->log_level = (enum ob_log_level)lvl;
	return OB_OK;
}

static int
parse(const void *buf, size_t len, const char *dir, const char *file,
    struct ob_server_config **out, unsigned long *errline)
{
	struct ob_cfg		 c;
	struct ob_server_config	*cfg = NULL;
	json_t			*root = NULL;
	int			 r;

	OB_TRY(ob_cfg_read(&c, buf, len, dir, file, &root));
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((r = load(&c, root, cfg)) != OB_OK)
		goto out;
	*out = cfg;
	cfg = NULL;
	r = OB_OK;
out:
	if (r != OB_OK && errline != NULL)
		*errline = c.errline;
	ob_server_config_free(&cfg);
	json_decref(root);
	return r;
}

int
ob_server_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_server_config **out, unsigned long *errline)
{
	return parse(buf, len, dir, "(config)", out, errline);
}

int
ob_server_config_load(const char *path, struct ob_server_config **out,
    unsigned long *errline)
{
	char		*buf = NULL, *abs = NULL, *dir = NULL;
	size_t		 n;
	unsigned long	 line = 0;
	int		 r;

	OB_TRY(ob_cfg_slurp(path, &abs, &dir, &buf, &n));
	r = parse(buf, n, dir, path, out, &line);
	if (r == OB_OK) {
		(*out)->path = abs;
		abs = NULL;
	}
out:
	if (r != OB_OK && errline != NULL)
		*errline = line;
	free(buf);
	free(dir);
	free(abs);
	return r;
}

void
ob_server_config_free(struct ob_server_config **cfgp)
{
	struct ob_server_config	*c;
	size_t			 i;

	if (cfgp == NULL || (c = *cfgp) == NULL)
		return;
	free(c->path);
	free(c->listen);
	free(c->metrics_listen);
	free(c->aud);
	free(c->iss);
	free(c->tls.cert);
	free(c->tls.key);
	free(c->tls.client_ca);
	for (i = 0; i < c->nclients; i++) {
		free(c->clients[i].id);
		free(c->clients[i].san_uri);
		free(c->clients[i].owner);
		free(c->clients[i].callback_url);
		free(c->clients[i].callback_ca);
	}
	free(c->clients);
	free(c->trust);
	free(c->state);
	free(c->redis.user);
	free(c->redis.password_source);
	free(c->redis.prefix);
	free(c->audit);
	free(c->issuer.key);
	free(c->issuer.chain);
	for (i = 0; i < c->issuer.npublish; i++)
		free(c->issuer.publish[i]);
	free(c->issuer.publish);
	free(c->signer.program);
	free(c->signer.config);
	free(c->signer.socket);
	free(c->wic.owner_oid);
	for (i = 0; i < c->nlifetime_by_domain; i++)
		free(c->lifetime_by_domain[i].domain);
	free(c->lifetime_by_domain);
	for (i = 0; i < c->enrol.norigins; i++)
		free(c->enrol.origins[i]);
	free(c->enrol.origins);
	free(c->enrol.dir);
	free(c->enrol.rp_id);
	free(c->user);
	free(c);
	*cfgp = NULL;
}

long long
ob_server_config_lifetime_for(const struct ob_server_config *c,
    const char *agent_id)
{
	const char	*d, *e;
	size_t		 i, n;

	if (strncmp(agent_id, "wimse://", 8) == 0)
		d = agent_id + 8;
	else if (strncmp(agent_id, "spiffe://", 9) == 0)
		d = agent_id + 9;
	else
		return c->lifetime;
	e = strchr(d, '/');
	n = e != NULL ? (size_t)(e - d) : strlen(d);
	for (i = 0; i < c->nlifetime_by_domain; i++)
		if (strlen(c->lifetime_by_domain[i].domain) == n &&
		    strncasecmp(c->lifetime_by_domain[i].domain, d, n) == 0)
			return c->lifetime_by_domain[i].seconds;
	return c->lifetime;
}

int
ob_server_config_check_main(const char *path)
{
	struct ob_server_config	*cfg = NULL;
	unsigned long		 line = 0;
	int			 r;

	ob_err_clear();
	if ((r = ob_server_config_load(path, &cfg, &line)) != OB_OK) {
		fprintf(stderr, "%s (%s)\n", ob_err_detail(), ob_err_name(r));
		return 1;
	}
	printf("%s: ok\n", path);
	ob_server_config_free(&cfg);
	return 0;
}
