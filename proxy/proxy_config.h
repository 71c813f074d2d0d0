/*
 * ownerbind-proxy's configuration: one JSON file read strictly by the
 * shared reader (common/cfgread.h); docs/proxy.md lists every member with
 * its type and default.  Relative paths are taken from the file's
 * directory and stored absolute.
 */
#ifndef OB_PROXY_CONFIG_H
#define OB_PROXY_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "ownerbind/ob_err.h"

#define OB_PROXY_MAX_AGENTS	256
#define OB_PROXY_MAX_IDS	64	/* agent ids, uids per entry */

enum ob_proxy_route {
	OB_ROUTE_AGENT_MEDIATED,	/* forward the owner-signed envelope */
	OB_ROUTE_OWNER_MEDIATED,	/* to the gateway */
	OB_ROUTE_SERVER_MEDIATED,	/* start at the server, then poll */
};

/* An upstream: its https:// base URL and this proxy's TLS material. */
struct ob_proxy_upstream {
	char	*url;
	char	*ca, *cert, *key;
};

/*
 * Who may obtain which agent ids: a caller matches when its uid is in
 * uids and, when set, its executable is exe and hashes to exe_sha256.
 */
struct ob_proxy_agent {
	char			*name;
	char			**ids;		/* agent ids (exact) */
	size_t			 nids;
	uid_t			*uids;
	size_t			 nuids;
	char			*exe;		/* NULL: any */
	int			 has_exe_sha256;
	unsigned char		 exe_sha256[32];
	enum ob_proxy_route	 route;
};

struct ob_proxy_config {
	char			*path;		/* the file read, absolute */
	char			*socket;	/* the Agent API's unix socket */
	unsigned		 socket_mode;
	struct ob_proxy_upstream server;
	struct ob_proxy_upstream gateway;	/* url NULL: none */
	unsigned		 deadline_ms;	/* one agent request, overall */
	unsigned		 try_timeout_ms; /* one upstream exchange */
	unsigned		 backoff_initial_ms, backoff_max_ms;
	unsigned		 max_inflight;
	unsigned		 renew_before_s;
	unsigned		 max_conns;	/* Agent API connections open */
	unsigned		 timeout_s;	/* a connection's deadline */
	struct ob_proxy_agent	*agents;
	size_t			 nagents;
	int			 any_exe_sha256; /* an entry has exe_sha256 */
	char			*user;		/* NULL: do not change user */
	int			 sandbox;	/* seccomp and Landlock */
};

/*
 * Read the configuration at path: OB_OK and *out new (free with
 * ob_proxy_config_free), or the codes and "FILE:LINE: " details of
 * common/cfgread.h.
 */
int ob_proxy_config_load(const char *path, struct ob_proxy_config **out)
    OB_WUR;
/* The same from a buffer; relative paths are taken from dir. */
int ob_proxy_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_proxy_config **out) OB_WUR;
void ob_proxy_config_free(struct ob_proxy_config **cfgp);

const char *ob_proxy_route_name(enum ob_proxy_route route);

#endif
