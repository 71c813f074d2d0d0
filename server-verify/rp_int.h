/*
 * server-verify/rp_int.h: the relying party's structures (ob_rp.h keeps
 * them opaque), shared by rp_api.c (configuration, getters), rp_wit.c
 * (WIT + WPT) and rp_wic.c (WIC).  For the library and the project's own
 * programs only, as verify_int.h.
 */
#ifndef OB_SERVER_VERIFY_RP_INT_H
#define OB_SERVER_VERIFY_RP_INT_H

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "core/alg.h"
#include "ownerbind/ob_rp.h"
#include "server-verify/verify_int.h"

#define RP_DEF_SKEW	60
#define RP_DEF_WPT_TTL	300
#define RP_MAX_KID	256
#define RP_MAX_OTHER	8
#define RP_MAX_HEADER	64	/* an oth header name */
#define RP_MAX_ID	256	/* owner, gateway and group ids */

/* One key that may sign WITs. */
struct rp_key {
	char		*kid;
	EVP_PKEY	*pk;
	enum ob_alg	 alg;
	long long	 nb, na;	/* from a CA certificate; else the range
					 * of time_t */
};

struct ob_rp {
	OB_ABI_PAD_FIELD
	struct rp_key	 keys[OB_RP_MAX_KEYS];
	size_t		 nkeys;
	X509_STORE	*cas;		/* NULL until a CA is added */
	char		*iss;		/* NULL: any */
	long long	 now;		/* 0: the clock */
	long long	 skew;		/* 0: RP_DEF_SKEW */
	long long	 wpt_ttl;	/* 0: RP_DEF_WPT_TTL */
	ASN1_OBJECT	*oid;		/* NULL: subjectDirectoryAttributes */
	enum ob_rp_purpose purpose;
};

/* A token's base64url SHA-256, the form ath, tth and oth carry. */
struct rp_hash {
	int	set;
	char	b64[44];
};

struct ob_rp_req {
	OB_ABI_PAD_FIELD
	char		*aud;
	struct rp_hash	 ath, tth;
	struct {
		char		name[RP_MAX_HEADER + 1];
		struct rp_hash	h;
	}		 other[RP_MAX_OTHER];
	size_t		 nother;
};

struct ob_rp_result {
	OB_ABI_PAD_FIELD
	char		*via;
	char		*agent;
	char		*agent_jkt;
	char		*agent_alg;
	char		*iss;
	char		*jti;
	char		*wpt_jti;
	char		*dns_name;
	char		*logical_id;
	char		*client_id;
	char		*owner;
	char		*owner_type;
	char		*owner_kind;
	char		*assurance;
	char		*model;
	char		*gateway;
	char		*owner_group;
	char		*owner_jkt;
	char		*gateway_x5t;
	char		*envelope_sha256;
	long long	 approved_at;
	long long	 exp;
};

/* The WIT claim that carries the owner binding (docs/credentials.md). */
#define RP_OWNER_CLAIM	"urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"

/*
 * The owner binding as read from either credential, borrowed from the
 * WIT's claims or the WIC decoder's buffers; hash is owner_jkt or, owner-
 * mediated, gateway_x5t.
 */
struct rp_owner {
	const char	*id;
	const char	*type;
	const char	*kind;
	const char	*assurance;
	const char	*model;
	const char	*gateway;	/* owner-mediated only */
	const char	*group;		/* or NULL */
	const char	*hash;
	const char	*envelope_sha256;
	long long	 approved_at;
};

/* Copy the owner binding into a result; OB_ERR_ALLOC. */
int rp_result_owner(struct ob_rp_result *r, const struct rp_owner *o)
    OB_WUR;

/* A certificate time as Unix time; 0 if it does not convert. */
int rp_asn1_epoch(const ASN1_TIME *t, long long *out);

/* The JWS algs an issuer key or an agent key may sign with here. */
int rp_alg_allowed(enum ob_alg alg);

/* The effective clock and skew of a configuration. */
long long rp_now(const struct ob_rp *rp);
long long rp_skew(const struct ob_rp *rp);

/* strdup into *dst unless s is NULL; OB_ERR_ALLOC. */
int rp_dup(char **dst, const char *s) OB_WUR;

/* base64url SHA-256 of n bytes into out[44]. */
int rp_sha256_b64(const void *buf, size_t n, char out[44]) OB_WUR;

/*
 * The owner binding's enumerations (docs/credentials.md), shared by the
 * WIT owner claim and the WIC extension: 1 when v is a value of that
 * member.  rp_id_ok: an owner, gateway or group id, 1..RP_MAX_ID visible
 * ASCII bytes (space too when spaces is set).
 */
int rp_owner_value_ok(const char *member, const char *v);
int rp_id_ok(const char *s, size_t n, int spaces);

#endif
