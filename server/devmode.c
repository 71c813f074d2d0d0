/*
 * Development mode: a throwaway PKI and configuration (devmode.h).
 *
 * Two CAs, as in a real deployment: the issuer CA signs the credentials
 * (WICs) and its key signs the WITs, so relying parties trust it; the TLS
 * CA signs the server's and the proxy's TLS certificates, so that a
 * relying party that trusts the issuer CA does not thereby accept the
 * server's TLS certificate as a credential, or the other way round.  The
 * TLS CA's key lives only in memory here: dev mode never issues another
 * TLS certificate.  Keys are written by tokens/file.c's key writer
 * (ob_file_keygen: PKCS#8 PEM, 0600, never over a file).  The issuer key
 * is made here, signs its own CA certificate and is freed: the server
 * then reaches it only through ownerbind-signer (signer.json), as it
 * would an HSM's.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/config.h"
#include "server/devmode.h"
#include "core/err.h"
#include "tokens/file.h"
#include "core/json.h"
#include "core/jwk.h"
#include "ownerbind/ob_verify.h"

#define LIFETIME_S	(24 * 60 * 60)	/* one day */
#define BACKDATE_S	(5 * 60)	/* clock skew between the processes */

static int
join(const char *dir, const char *name, char **out)
{
	size_t n = strlen(dir) + strlen(name) + 2;

	if ((*out = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(*out, n, "%s/%s", dir, name);
	return OB_OK;
}

/* Write len bytes to a new file (never over one), fsync'd. */
int
ob_devmode_write_new(const char *path, const void *buf, size_t len,
    mode_t mode)
{
	ssize_t	w;
	int	fd, r = OB_OK;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) < 0)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	w = write(fd, buf, len);
	if (w < 0 || (size_t)w != len || fsync(fd) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: write failed", path);
		(void)unlink(path);
	}
	close(fd);
	return r;
}

int
ob_devmode_write_cert(const char *path, X509 *x)
{
	BIO	*b;
	char	*data;
	long	 n;
	int	 r;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return OB_ERR_ALLOC;
	if (PEM_write_bio_X509(b, x) != 1 || (n = BIO_get_mem_data(b,
	    &data)) <= 0) {
		BIO_free(b);
		return ob_errf(OB_ERR_CRYPTO, "PEM encoding of %s", path);
	}
	r = ob_devmode_write_new(path, data, (size_t)n, 0644);
	BIO_free(b);
	return r;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*e;
	int		 ok;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return ob_errf(OB_ERR_CRYPTO, "extension %s = %s",
		    OBJ_nid2sn(nid), value);
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? OB_OK : OB_ERR_ALLOC;
}

/*
 * A certificate for key, signed by ca_key under ca (ca NULL: self-signed
 * with key), valid from a few minutes ago for one day, with a 128-bit
 * random serial and SKI/AKI.
 */
int
ob_devmode_make_cert(const struct ob_devmode_profile *p, EVP_PKEY *key,
    X509 *ca, EVP_PKEY *ca_key, X509 **out)
{
	X509		*x = NULL;
	X509_NAME	*name = NULL;
	BIGNUM		*bn = NULL;
	X509V3_CTX	 ctx;
	unsigned char	 serial[16];
	int		 r;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    (bn = BN_new()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1) {
		r = ob_errf(OB_ERR_RANDOM, "serial number");
		goto out;
	}
	serial[0] &= 0x7f;	/* positive, */
	serial[0] |= 0x40;	/* and 16 bytes long in DER */
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_bin2bn(serial, sizeof(serial), bn) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"ownerbind development", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)p->cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca) :
	    name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), LIFETIME_S) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		r = ob_errf(OB_ERR_CRYPTO, "certificate fields for %s", p->cn);
		goto out;
	}
	X509V3_set_ctx(&ctx, ca != NULL ? ca : x, x, NULL, NULL, 0);
	OB_TRY(add_ext(x, &ctx, NID_basic_constraints, p->ca ?
	    "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE"));
	OB_TRY(add_ext(x, &ctx, NID_key_usage, p->key_usage));
	if (p->eku != NULL)
		OB_TRY(add_ext(x, &ctx, NID_ext_key_usage, p->eku));
	if (p->san != NULL)
		OB_TRY(add_ext(x, &ctx, NID_subject_alt_name, p->san));
	OB_TRY(add_ext(x, &ctx, NID_subject_key_identifier, "hash"));
	OB_TRY(add_ext(x, &ctx, NID_authority_key_identifier,
	    "keyid:always"));
	if (X509_sign(x, ca_key != NULL ? ca_key : key, EVP_sha256()) <= 0) {
		r = ob_errf(OB_ERR_CRYPTO, "signing the certificate for %s",
		    p->cn);
		goto out;
	}
	*out = x;
	x = NULL;
	r = OB_OK;
out:
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return r;
}

static const struct ob_devmode_profile issuer_ca = {
	"ownerbind dev issuer CA", 1, "critical,keyCertSign,cRLSign", NULL,
	NULL
};
static const struct ob_devmode_profile tls_ca = {
	"ownerbind dev TLS CA", 1, "critical,keyCertSign,cRLSign", NULL, NULL
};
static const struct ob_devmode_profile server_tls = {
	"localhost", 0, "critical,digitalSignature", "serverAuth",
	"DNS:localhost,IP:127.0.0.1,IP:::1"
};
static const struct ob_devmode_profile client_tls = {
	OB_DEVMODE_PROXY_ID, 0, "critical,digitalSignature", "clientAuth",
	"URI:" OB_DEVMODE_PROXY_URI
};

/* DIR exists and is empty, or is created; mode 0700 either way. */
int
ob_devmode_make_dir(const char *dir)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if (mkdir(dir, 0700) == 0)
		return OB_OK;
	if (errno != EEXIST)
		return ob_errf(OB_ERR_IO, "%s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ob_errf(OB_ERR_DEVMODE_DIR, "%s: not a directory", dir);
	if (st.st_uid != geteuid())
		return ob_errf(OB_ERR_DEVMODE_DIR, "%s: owned by another user",
		    dir);
	if ((d = opendir(dir)) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n != 0)
		return ob_errf(OB_ERR_DEVMODE_DIR, "%s holds %d entr%s", dir,
		    n, n == 1 ? "y" : "ies");
	if (chmod(dir, 0700) != 0)
		return ob_errf(OB_ERR_IO, "%s: chmod: %s", dir,
		    strerror(errno));
	return OB_OK;
}

int
ob_devmode_write_json(const char *path, json_t *v, mode_t mode)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		return OB_ERR_ALLOC;
	n = strlen(s);
	if ((r = ob_devmode_write_new(path, s, n, mode)) == OB_OK) {
		/* a text file: end with a newline */
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC |
		    O_NOFOLLOW);

		if (fd < 0 || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
			r = ob_errf(OB_ERR_IO, "%s: write failed", path);
		if (fd >= 0)
			close(fd);
	}
	free(s);
	return r;
}

/* The WIT key as a JWKS: {"keys": [{..., "kid", "alg", "use"}]}. */
static int
write_jwks(const char *path, EVP_PKEY *key)
{
	json_t	*jwk = NULL, *top = NULL;
	char	 kid[44];
	int	 r;

	OB_TRY(ob_jwk_from_pkey(key, &jwk));
	OB_TRY(ob_pkey_thumbprint(key, kid));
	if (json_object_set_new(jwk, "kid", json_string(kid)) != 0 ||
	    json_object_set_new(jwk, "alg", json_string("ES256")) != 0 ||
	    json_object_set_new(jwk, "use", json_string("sig")) != 0 ||
	    (top = json_pack("{s:[O]}", "keys", jwk)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = ob_devmode_write_json(path, top, 0644);
out:
	json_decref(jwk);
	json_decref(top);
	return r;
}

static int
write_trust(const char *path)
{
	json_t	*t;
	int	 r;

	if ((t = json_pack("{s:i,s:[],s:[]}", "ownerbind_trust", 1, "owners",
	    "gateways")) == NULL)
		return OB_ERR_ALLOC;
	r = ob_devmode_write_json(path, t, 0644);
	json_decref(t);
	return r;
}

/* signer.json: the helper's one key (ownerbind-signer(8)). */
static int
write_signer_config(const char *path)
{
	json_t	*c;
	int	 r;

	if ((c = json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "name",
	    "issuer", "uri", "file:issuer.key", "role", "issuer", "ca",
	    "issuer-ca.pem")) == NULL)
		return OB_ERR_ALLOC;
	r = ob_devmode_write_json(path, c, 0600);
	json_decref(c);
	return r;
}

/* server.json: every path relative to DIR (docs/server.md). */
static int
write_config(const char *path, const char *listen)
{
	json_t	*c;
	int	 r;

	c = json_pack("{s:s,s:s,s:s,s:s,"
	    "s:{s:s,s:s,s:s},"
	    "s:[{s:s,s:s,s:s}],"
	    "s:s,s:s,s:s,"
	    "s:{s:s,s:s},"
	    "s:{s:s},"
	    "s:s}",
	    "listen", listen, "metrics_listen", "127.0.0.1:0",
	    "aud", OB_DEVMODE_AUD, "iss", OB_DEVMODE_AUD,
	    "tls", "cert", "server.pem", "key", "server.key",
	    "client_ca", "tls-ca.pem",
	    "clients", "id", OB_DEVMODE_PROXY_ID, "role", "proxy",
	    "san_uri", OB_DEVMODE_PROXY_URI,
	    "trust", "trust.json", "state", "state.sqlite",
	    "audit", "audit.jsonl",
	    "issuer", "key", "issuer", "chain", "issuer-ca.pem",
	    "signer", "config", "signer.json",
	    "log_level", "debug");
	if (c == NULL)
		return OB_ERR_ALLOC;
	r = ob_devmode_write_json(path, c, 0644);
	json_decref(c);
	return r;
}

static int
fill_paths(const char *dir, struct ob_devmode_paths *p)
{
	char	*abs = NULL, cwd[4096];
	int	 r;

	if (dir[0] == '/')
		abs = strdup(dir);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return ob_errf(OB_ERR_IO, "getcwd: %s", strerror(errno));
	else if ((r = join(cwd, dir, &abs)) != OB_OK)
		return r;
	if (abs == NULL)
		return OB_ERR_ALLOC;
	p->dir = abs;
	if ((p->aud = strdup(OB_DEVMODE_AUD)) == NULL)
		return OB_ERR_ALLOC;
	OB_TRY(join(abs, "tls-ca.pem", &p->tls_ca));
	OB_TRY(join(abs, "server.pem", &p->server_cert));
	OB_TRY(join(abs, "server.key", &p->server_key));
	OB_TRY(join(abs, "client.pem", &p->client_cert));
	OB_TRY(join(abs, "client.key", &p->client_key));
	OB_TRY(join(abs, "issuer-ca.pem", &p->issuer_ca));
	OB_TRY(join(abs, "issuer.key", &p->issuer_key));
	OB_TRY(join(abs, "issuer-jwks.json", &p->issuer_jwks));
	OB_TRY(join(abs, "trust.json", &p->trust));
	OB_TRY(join(abs, "signer.json", &p->signer_config));
	OB_TRY(join(abs, "server.json", &p->config));
	OB_TRY(join(abs, "dev.json", &p->info));
	r = OB_OK;
out:
	return r;
}

/* What was written must load as the server will load it. */
static int
self_check(const struct ob_devmode_paths *p)
{
	struct ob_server_config	*c = NULL;
	struct ob_trust		*t = NULL;
	int			 r;

	if ((r = ob_trust_load_file(p->trust, &t)) != OB_OK)
		return ob_err_prefix(OB_ERR_INTERNAL, "%s", p->trust);
	ob_trust_free(&t);
	if ((r = ob_server_config_load(p->config, &c, NULL)) != OB_OK)
		return ob_err_prefix(OB_ERR_INTERNAL, "%s", p->config);
	ob_server_config_free(&c);
	return OB_OK;
}

/* Undo a failed create: DIR was empty (or new), so its files are ours. */
static void
remove_all(const struct ob_devmode_paths *p)
{
	const char *const f[] = { p->tls_ca, p->server_cert, p->server_key,
	    p->client_cert, p->client_key, p->issuer_ca, p->issuer_key,
	    p->issuer_jwks, p->trust, p->signer_config, p->config };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		(void)unlink(f[i]);
}

int
ob_devmode_create(const char *dir, const char *listen,
    struct ob_devmode_paths **out)
{
	struct ob_devmode_paths	*p = NULL;
	EVP_PKEY		*ik = NULL, *tk = NULL, *sk = NULL, *ck = NULL;
	X509			*ic = NULL, *tc = NULL, *sc = NULL, *cc = NULL;
	int			 r;

	if (listen == NULL)
		listen = "127.0.0.1:0";
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_ALLOC;
	OB_TRY(ob_devmode_make_dir(dir));
	OB_TRY(fill_paths(dir, p));
	/* The issuer CA; its key is the server's file: issuer key. */
	OB_TRY(ob_file_keygen(p->issuer_key, OB_ALG_ES256, NULL, &ik));
	OB_TRY(ob_devmode_make_cert(&issuer_ca, ik, NULL, NULL, &ic));
	OB_TRY(ob_devmode_write_cert(p->issuer_ca, ic));
	OB_TRY(write_jwks(p->issuer_jwks, ik));
	/* The TLS CA, in memory only. */
	if ((tk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		r = ob_errf(OB_ERR_CRYPTO, "TLS CA key");
		goto out;
	}
	OB_TRY(ob_devmode_make_cert(&tls_ca, tk, NULL, NULL, &tc));
	OB_TRY(ob_devmode_write_cert(p->tls_ca, tc));
	OB_TRY(ob_file_keygen(p->server_key, OB_ALG_ES256, NULL, &sk));
	OB_TRY(ob_devmode_make_cert(&server_tls, sk, tc, tk, &sc));
	OB_TRY(ob_devmode_write_cert(p->server_cert, sc));
	OB_TRY(ob_file_keygen(p->client_key, OB_ALG_ES256, NULL, &ck));
	OB_TRY(ob_devmode_make_cert(&client_tls, ck, tc, tk, &cc));
	OB_TRY(ob_devmode_write_cert(p->client_cert, cc));
	OB_TRY(write_trust(p->trust));
	OB_TRY(write_signer_config(p->signer_config));
	OB_TRY(write_config(p->config, listen));
	OB_TRY(self_check(p));
	*out = p;
	p = NULL;
	r = OB_OK;
out:
	if (r != OB_OK) {
		r = ob_err_prefix(r, "dev mode");
		if (p->info != NULL)
			remove_all(p);
	}
	EVP_PKEY_free(ik);
	EVP_PKEY_free(tk);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(ck);
	X509_free(ic);
	X509_free(tc);
	X509_free(sc);
	X509_free(cc);
	ob_devmode_paths_free(&p);
	return r;
}

int
ob_devmode_write_info(const struct ob_devmode_paths *p, const char *url)
{
	json_t	*v;
	char	*tmp = NULL;
	int	 r;

	if ((v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "url", url, "aud", p->aud, "tls_ca", p->tls_ca,
	    "client_cert", p->client_cert, "client_key", p->client_key,
	    "issuer_ca", p->issuer_ca, "issuer_jwks", p->issuer_jwks,
	    "trust", p->trust, "config", p->config)) == NULL)
		return OB_ERR_ALLOC;
	OB_TRY(join(p->dir, ".dev.json.tmp", &tmp));
	(void)unlink(tmp);
	OB_TRY(ob_devmode_write_json(tmp, v, 0644));
	if (rename(tmp, p->info) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", p->info, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	r = OB_OK;
out:
	free(tmp);
	json_decref(v);
	return r;
}

void
ob_devmode_paths_free(struct ob_devmode_paths **pp)
{
	struct ob_devmode_paths *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	free(p->dir);
	free(p->aud);
	free(p->tls_ca);
	free(p->server_cert);
	free(p->server_key);
	free(p->client_cert);
	free(p->client_key);
	free(p->issuer_ca);
	free(p->issuer_key);
	free(p->issuer_jwks);
	free(p->trust);
	free(p->signer_config);
	free(p->config);
	free(p->info);
	free(p);
	*pp = NULL;
}
