/*
 * ownerbind-signer's configuration: one JSON file read strictly (the
 * project's JSON reader: no duplicate members, nothing after the value),
 * documented member by member in man/ownerbind-signer.8 and
 * docs/signer-protocol.md ("Configuration").  Unknown members and wrong
 * types are errors that name the member's path ("keys[1].role");
 * relative paths are taken from the file's directory and stored absolute.
 * Nothing here opens a key: ob_signerd_new does.
 */
#ifndef OB_SIGNER_CONFIG_H
#define OB_SIGNER_CONFIG_H

#include <sys/types.h>

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_SIGNER_MAX_KEYS	16
#define OB_SIGNER_MAX_USERS	16
/* --listen: seconds for a connection's HELLO, a begun frame, a reply. */
#define OB_SIGNER_TIMEOUT_S	10
#define OB_SIGNER_CONFIG_MAX	(64 * 1024)

/* What a key may sign: an issuer WITs and WIC TBSCertificates, a gateway
 * its envelope entries. */
enum ob_signer_role {
	OB_SIGNER_ISSUER = 1,
	OB_SIGNER_GATEWAY,
};

struct ob_signer_keycfg {
	char			*name;		/* [A-Za-z0-9._-]{1,64} */
	char			*uri;		/* a tokens/ key URI */
	char			*pin_source;	/* or NULL */
	enum ob_signer_role	 role;
	char			*ca;		/* issuer: its CA certificate */
	char			*gateway_id;	/* gateway: the kid, or NULL */
	long long		 max_lifetime;	/* seconds */
	long long		 max_skew;	/* seconds */
	double			 per_second;	/* 0: no limit */
	unsigned		 verify_every;	/* check 1 in N; 1: each */
	unsigned		 burst;
};

struct ob_signer_config {
	char			*path;		/* absolute, or NULL */
	struct ob_signer_keycfg	*keys;
	size_t			 nkeys;
	uid_t			*uids;		/* who may connect (--listen) */
	size_t			 nuids;		/* 0: the helper's own uid */
	int			 timeout_s;	/* --listen: HELLO, a frame */
};

/*
 * Read the configuration at path (at most OB_SIGNER_CONFIG_MAX bytes).
 * *out is new on OB_OK; otherwise untouched.  Errors: OB_ERR_SIGNER_CONFIG
 * (the detail starts with "PATH: " and names the member), OB_ERR_IO,
 * OB_ERR_ALLOC.
 */
int ob_signer_config_load(const char *path, struct ob_signer_config **out)
    OB_WUR;

/* The same from a buffer; relative paths are taken from dir. */
int ob_signer_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_signer_config **out) OB_WUR;

void ob_signer_config_free(struct ob_signer_config **cfgp);

#endif
