/*
 * ownerbind-gateway's configuration (docs/gateway.md, "Configuration"),
 * read with common/cfgread.h: unknown members, duplicates and wrong types
 * are errors that name the member and its line.  Paths are made absolute
 * against the file's directory.
 */
#ifndef OB_GATEWAY_CONFIG_H
#define OB_GATEWAY_CONFIG_H

#include <stddef.h>

#include "ownerbind/ob_err.h"
#include "server/config.h"

#define OB_GW_MAX_PROXIES	256

struct ob_gw_proxy {
	char		*id;
	char		*san_uri;		/* NULL when by hash */
	int		 has_cert_sha256;
	unsigned char	 cert_sha256[32];
};

struct ob_gw_config {
	char			*path;		/* the file read, absolute */
	char			*listen, *metrics_listen;
	char			*id;		/* the gateway id (entry kid) */
	char			*aud;		/* the identity server's URI */
	struct {
		char	*cert, *key, *client_ca;
	}			 tls;
	struct ob_gw_proxy	*proxies;
	size_t			 nproxies;
	struct {
		char		*url, *ca, *cert, *key;
		unsigned	 timeout_ms;
	}			 server;
	struct {
		char		*program, *config, *socket;
		char		*key;		/* the signer's key name */
		unsigned	 timeout_ms, backoff_max_ms;
	}			 signer;
	char			*x5c;		/* PEM: gateway cert, then CAs */
	char			*policy;
	char			*trust;		/* owners' keys, for approvals */
	char			*audit;
	struct {
		unsigned	 depth;		/* waiting for the HSM */
		unsigned	 deadline_ms;	/* from arrival to signature */
		unsigned	 in_flight;	/* signatures at once */
	}			 hsm_queue;
	unsigned		 approval_timeout_s;
	struct {
		size_t		max_body, max_header;
		unsigned	max_conns, timeout_s, workers, queue;
	}			 limits;
	struct {
		struct ob_rate	per_proxy, per_owner, per_agent;
	}			 rate;
	char			*user;
	int			 sandbox;
	const char		*log_level;	/* "debug" .. "error" (static) */
};

/* Load; *errline (may be NULL) the line of a failure (0: not known). */
int ob_gw_config_load(const char *path, struct ob_gw_config **out,
    unsigned long *errline) OB_WUR;
void ob_gw_config_free(struct ob_gw_config **cfgp);
/* --check-config: 0 valid, 1 not (the detail on stderr). */
int ob_gw_config_check_main(const char *path);

#endif
