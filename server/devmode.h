/*
 * Development mode (`ownerbind-server --dev DIR`): a throwaway PKI, an
 * empty trust store and a configuration in DIR, so that the server can be
 * tried on one machine in a minute (docs/server.md, "Development mode").
 * Everything is made with OpenSSL's C API; nothing is shelled out.
 */
#ifndef OB_SERVER_DEVMODE_H
#define OB_SERVER_DEVMODE_H

#include <sys/types.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "ownerbind/ob_err.h"

/* The URI SAN of the one proxy's client certificate. */
#define OB_DEVMODE_PROXY_URI	"wimse://dev.ownerbind.test/proxy/dev"
#define OB_DEVMODE_PROXY_ID	"dev-proxy"
#define OB_DEVMODE_AUD		"https://localhost/ownerbind-dev"

/* Absolute paths of what ob_devmode_create made (all strings owned). */
struct ob_devmode_paths {
	char	*dir;
	char	*aud;		/* the audience requests must name */
	char	*tls_ca;	/* CA of the server and client certificates */
	char	*server_cert, *server_key;
	char	*client_cert, *client_key;
	char	*issuer_ca;	/* the issuer CA certificate (WIC chain) */
	char	*issuer_key;	/* its private key, a file: key */
	char	*issuer_jwks;	/* the WIT keys as a JWKS */
	char	*trust;		/* an empty trust store */
	char	*signer_config;	/* ownerbind-signer's: the issuer key */
	char	*config;	/* a configuration for server/config.c */
	char	*info;		/* DIR/dev.json, written by write_info */
};

/*
 * Create DIR (mode 0700) if it does not exist, and in it: issuer-ca.pem
 * and issuer.key (P-256, CA:TRUE, keyCertSign, one day), issuer-jwks.json,
 * tls-ca.pem (its key is never written), server.pem/server.key
 * (localhost, 127.0.0.1, ::1; serverAuth), client.pem/client.key (URI SAN
 * OB_DEVMODE_PROXY_URI; clientAuth), trust.json (empty), signer.json
 * (ownerbind-signer with issuer.key as its key "issuer") and server.json
 * (listening on listen, e.g. "127.0.0.1:0", signing through the helper
 * started with signer.json).  Private keys are mode 0600.
 * DIR must be new or empty: OB_ERR_DEVMODE_DIR otherwise (dev mode never
 * reuses keys).  *out is set only on success.
 */
int ob_devmode_create(const char *dir, const char *listen,
    struct ob_devmode_paths **out) OB_WUR;

/*
 * Write DIR/dev.json with exactly the members url, aud, tls_ca,
 * client_cert, client_key, issuer_ca, issuer_jwks, trust and config, once
 * the server knows its URL (the port when listen said 0).  Replaces an
 * earlier dev.json atomically.
 */
int ob_devmode_write_info(const struct ob_devmode_paths *p, const char *url)
    OB_WUR;

void ob_devmode_paths_free(struct ob_devmode_paths **pp);

/*
 * The pieces, shared with the gateway's development mode
 * (gateway/devmode.c).
 */

/* What a certificate is for. */
struct ob_devmode_profile {
	const char	*cn;
	int		 ca;
	const char	*key_usage;
	const char	*eku;		/* NULL: none */
	const char	*san;		/* NULL: none */
};

/*
 * A certificate for key, signed by ca_key under ca (ca NULL: self-signed
 * with key), valid from a few minutes ago for one day, with a 128-bit
 * random serial and SKI/AKI; a CA has pathlen 0.
 */
int ob_devmode_make_cert(const struct ob_devmode_profile *p, EVP_PKEY *key,
    X509 *ca, EVP_PKEY *ca_key, X509 **out) OB_WUR;
/* DIR is created, or exists, is ours and empty; mode 0700 either way. */
int ob_devmode_make_dir(const char *dir) OB_WUR;
/* New files only (O_EXCL), fsync'd; JSON ends with a newline. */
int ob_devmode_write_new(const char *path, const void *buf, size_t len,
    mode_t mode) OB_WUR;
int ob_devmode_write_cert(const char *path, X509 *x) OB_WUR;
int ob_devmode_write_json(const char *path, json_t *v, mode_t mode) OB_WUR;

#endif
