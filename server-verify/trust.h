/*
 * The loaded trust store (docs/trust-store.md); immutable after load,
 * except for the cache of verified gateway chains it owns.
 */
#ifndef OB_VERIFY_TRUST_H
#define OB_VERIFY_TRUST_H

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ownerbind/ob_verify.h"
#include "core/alg.h"

#define OB_TRUST_MAX_FILE	(4 * 1024 * 1024)
#define OB_TRUST_MAX_LIST	256	/* keys, patterns, proxies per entry */

struct ob_trust_key {
	char		*kid;
	char		*kind;
	enum ob_alg	 alg;
	EVP_PKEY	*pub;
	char		*jwk_text;	/* RFC 7638 canonical JWK, for verdicts */
	char		*assurance;
	long long	 not_before;	/* 0: none */
	long long	 not_after;	/* 0: none */
	long long	 revoked_at;	/* 0: not revoked */
	char		*revoked_reason;
	/* FIDO2 credentials */
	unsigned char	 rpid_hash[32];
	int		 uv_required;
	int		 backup_eligible;
	char		*rp_id;
	char		*credential_id;	/* base64url, or NULL */
	char		**origins;	/* web origins allowed, or NULL */
	size_t		 norigins;
};

struct ob_strlist {
	char	**v;
	size_t	  n;
};

struct ob_trust_owner {
	char			*id;
	char			*type;		/* user (default), organization, service */
	char			*group;		/* NULL if none */
	struct ob_strlist	 may_bind;
	struct ob_trust_key	*keys;
	size_t			 nkeys;
	long long		 revoked_at;	/* 0: not revoked */
	char			*revoked_reason;
};

struct ob_trust_gateway {
	char			*id;
	char			*owner;
	X509_STORE		*ca;
	struct ob_strlist	 proxies;
	struct ob_strlist	 trust_domains;
	struct ob_strlist	 may_bind;
	enum ob_alg		 algs[8];
	size_t			 nalgs;
	int			 require_eku;	/* leaf must name documentSigning */
	char			*kind;		/* its signing key's: software, ... */
	const char		*assurance;	/* software or hardware (static) */
};

/*
 * Gateway chains that verified, so that a gateway's next envelope skips
 * decoding, building and checking them again (docs/verifier.md, 7b).  One
 * per trust-store instance: a reload starts empty.  Direct-mapped by key:
 * SHA-256 over the gateway's index and the exact x5c strings.  A slot is
 * used only while the verification time is inside every certificate's
 * validity of the chain that was built (nb <= now < na).
 */
#define OB_CHAIN_CACHE_SLOTS	64

struct ob_chain_slot {
	unsigned char	 key[32];
	EVP_PKEY	*leafkey;	/* NULL: empty slot */
	long long	 nb, na;	/* latest notBefore, earliest notAfter */
};

struct ob_chain_cache {
	pthread_mutex_t		lock;
	struct ob_chain_slot	slot[OB_CHAIN_CACHE_SLOTS];
};

/* A TPM attestation key the server trusts (docs/tpm2.md). */
struct ob_trust_ak {
	char		*kid;
	EVP_PKEY	*pub;
};

struct ob_trust {
	struct ob_trust_owner	*owners;
	size_t			 nowners;
	struct ob_trust_gateway	*gateways;
	size_t			 ngateways;
	struct ob_trust_ak	*aks;		/* tpm_attestation_keys */
	size_t			 naks;
	X509_STORE		*piv_roots;	/* NULL if none */
	struct ob_chain_cache	*chains;	/* verified gateway chains */
};

const struct ob_trust_owner *ob_trust_owner(const struct ob_trust *,
    const char *id);
const struct ob_trust_key *ob_trust_owner_key(const struct ob_trust_owner *,
    const char *kid);
const struct ob_trust_gateway *ob_trust_gateway(const struct ob_trust *,
    const char *id);
/* fnmatch(3) with FNM_PATHNAME over the patterns: 1 on a match. */
int ob_strlist_match(const struct ob_strlist *patterns, const char *s);
int ob_strlist_has(const struct ob_strlist *l, const char *s);

#endif
