/*
 * The server's configuration: one JSON file read strictly (docs/server.md
 * lists every member with its type and default).  Unknown members,
 * duplicates and wrong types are errors that name the member and its line;
 * relative paths are taken from the configuration file's directory and
 * stored absolute.  Nothing here opens the files named: the server does,
 * at start and on SIGHUP.
 */
#ifndef OB_SERVER_CONFIG_H
#define OB_SERVER_CONFIG_H

#include <stddef.h>

#include "common/cfgread.h"
#include "ownerbind/ob_err.h"

enum ob_client_role {
	OB_CLIENT_PROXY,
	OB_CLIENT_GATEWAY,
	OB_CLIENT_RESPONDER,	/* an owner's device (server-mediated) */
};

/* A TLS client the server accepts: by URI SAN or by certificate hash. */
struct ob_server_client {
	char			*id;
	enum ob_client_role	 role;
	char			*owner;	/* responder: the trust-store owner */
	char			*san_uri;		/* NULL when by hash */
	int			 has_cert_sha256;
	unsigned char		 cert_sha256[32];	/* of the leaf's DER */
	char			*callback_url;	/* https://, or NULL */
	char			*callback_ca;	/* PEM: the callback's CA */
};

/* A token bucket: per_second 0 means no limit. */
struct ob_rate {
	double		per_second;
	unsigned	burst;
};

struct ob_domain_lifetime {
	char		*domain;
	long long	 seconds;
};

enum ob_log_level {
	OB_LOG_DEBUG,
	OB_LOG_INFO,
	OB_LOG_WARN,
	OB_LOG_ERROR,
};

/* WebAuthn residentKey, in this order in docs/server.md. */
enum { OB_RK_REQUIRED, OB_RK_PREFERRED, OB_RK_DISCOURAGED };

struct ob_server_config {
	char			*path;		/* the file read, absolute */
	char			*listen;	/* "HOST:PORT" */
	char			*metrics_listen;/* "HOST:PORT" */
	char			*aud;
	char			*iss;
	struct {
		char	*cert, *key, *client_ca;
	}			 tls;
	struct ob_server_client	*clients;
	size_t			 nclients;
	char			*trust;
	char			*state;		/* a path, or a Redis URI */
	int			 state_redis;	/* state is redis:// or unix: */
	struct {
		char		*user;		/* NULL: the default user */
		char		*password_source; /* NULL: no AUTH */
		char		*prefix;	/* NULL: "ob:" */
		unsigned	 connect_timeout_ms, timeout_ms;
		unsigned	 wait_replicas, wait_timeout_ms;
	}			 redis;		/* with a Redis state only */
	char			*audit;
	struct {
		char	*key;		/* a key name of the signer's */
		char	*chain;		/* PEM: issuer CA (and intermediates) */
		char	**publish;	/* PEM chains: other keys for JWKS */
		size_t	 npublish;	/* 0..OB_ISSUER_MAX_PUBLISH */
	}			 issuer;
	struct {
		char	 *program;	/* NULL: next to ownerbind-server */
		char	 *config;	/* start the helper with it, or */
		char	 *socket;	/* reach a running helper here */
		unsigned  timeout_ms, backoff_max_ms;
	}			 signer;
	struct {
		char	*owner_oid;	/* NULL: the issuer's default */
		int	 subject_ou;	/* put the owner's group in Subject OU */
	}			 wic;
	long long		 min_lifetime;	/* floor of lifetime (1..; 60) */
	long long		 lifetime;
	struct ob_domain_lifetime *lifetime_by_domain;
	size_t			 nlifetime_by_domain;
	struct {
		size_t		max_body, max_header;
		unsigned	max_conns, timeout_s, workers, queue;
	}			 limits;
	struct {
		struct ob_rate	per_peer, per_owner, per_agent;
		int		shared;		/* buckets in the Redis state */
	}			 rate;
	struct {
		long long	deadline_s;	/* how long a request is held */
		long long	interval_s;	/* the poll interval asked for */
		long long	max_pending;	/* held requests at once */
		long long	wait_max_s;	/* longest responder long-poll */
		int		approval_page;	/* serve the browser page */
		struct ob_rate	page_per_ip;	/* the page's buckets */
		struct ob_rate	page_global;
	}			 challenge;	/* docs/server-mediated.md */
	struct {
		char		*dir;		/* NULL: no enrolment page */
		char		*rp_id;
		char		**origins;	/* norigins of them */
		size_t		 norigins;
		int		 uv_required;	/* else "preferred" */
		int		 resident_key;	/* enum below */
		long long	 invite_ttl_s;	/* default of invite --ttl */
		struct ob_rate	 per_ip;	/* the public routes' buckets */
		struct ob_rate	 global;
	}			 enrol;		/* passkey enrolment */
	char			*user;		/* NULL: do not change user */
	int			 sandbox;	/* seccomp and Landlock */
	enum ob_log_level	 log_level;
};

/*
 * Read the configuration at path.  OB_OK: *out is new (free with
 * ob_server_config_free).  Otherwise *out is untouched and *errline (may
 * be NULL) is the line the error is on, 0 when it has none (an unreadable
 * file); codes: OB_ERR_CONFIG_UNKNOWN (an unknown member: the detail names
 * it), OB_ERR_CONFIG_TYPE (wrong type: the detail names the member and
 * the type), OB_ERR_CONFIG_INVALID (not JSON, a duplicate member, a
 * missing member, a value out of range), OB_ERR_IO, OB_ERR_ALLOC.  The
 * detail starts with "PATH:LINE: ".
 */
int ob_server_config_load(const char *path, struct ob_server_config **out,
    unsigned long *errline) OB_WUR;

/* The same from a buffer; relative paths are taken from dir. */
int ob_server_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_server_config **out, unsigned long *errline) OB_WUR;

void ob_server_config_free(struct ob_server_config **cfgp);

/*
 * The credential lifetime in seconds for an agent id ("wimse://DOMAIN/..."
 * or "spiffe://DOMAIN/..."): its trust domain's lifetime_by_domain entry
 * (compared case-insensitively), else lifetime.
 */
long long ob_server_config_lifetime_for(const struct ob_server_config *c,
    const char *agent_id);

/*
 * `ownerbind-server --check-config FILE`: prints "FILE: ok" and returns 0,
 * or "FILE:LINE: <detail>" on stderr and returns 1.
 */
int ob_server_config_check_main(const char *path);

#endif
