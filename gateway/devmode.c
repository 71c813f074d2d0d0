/*
 * Development mode (gateway/devmode.h, docs/gateway.md "Development
 * mode"): what tests/gateway/gw-setup.sh builds with softhsm2-util and
 * openssl, made here with PKCS#11 and OpenSSL's C API.
 *
 * The token: a SoftHSM2 token directory in DIR, initialised through
 * PKCS#11 (C_InitToken, C_InitPIN: ob_p11_init_token) with an SO PIN and
 * a user PIN from random bytes, each in a 0600 file; the gateway's P-256
 * key generated on it by ob_p11_keygen, the code path of `ownerbind
 * keygen --key pkcs11:...`.  That work is done by ownerbind-dev-token,
 * a program of its own which exits before the gateway starts, so the
 * gateway neither links a token library nor loads a module; its signer
 * (ownerbind-signer, which inherits SOFTHSM2_CONF from us) is the only
 * process that opens the key afterwards.
 *
 * The PKI: an organisation CA (file key) issues the gateway's signing
 * certificate for the token's public key (SAN DNS:<gateway id>, EKU
 * documentSigning); a TLS CA whose key stays in memory issues the
 * gateway's listener certificate, its client certificate towards the
 * server and one proxy's client certificate.  The server's dev TLS CA
 * cannot: its key was never written.
 *
 * The registration: the dev server's trust store gets the gateway entry,
 * its configuration the gateway as a client (role gateway) and a client
 * CA file with both TLS CAs, and its listen address pinned to the port
 * its dev.json names.  The server reads clients at start, so it picks
 * the gateway up when started again with --config (decision in
 * docs/decisions.md); the trust store alone would reload on SIGHUP.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/secfile.h"
#include "common/secmem.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/hex.h"
#include "gateway/config.h"
#include "gateway/devmode.h"
#include "ownerbind/ob_verify.h"
#include "server/config.h"
#include "server/devmode.h"
#include "tokens/file.h"

#define TOKEN_LABEL	"ownerbind-dev-gateway"
#define KEY_LABEL	"gateway"
#define SIGNER_KEY	"gateway"
#define GW_CLIENT_URI	"wimse://dev.ownerbind.test/gateway/dev"
#define PROXY_URI	"wimse://dev.ownerbind.test/proxy/" OB_GW_DEV_PROXY
#define SERVER_CLIENT	"dev-gateway"
#define DEV_TD		"dev.ownerbind.test"
#define DEV_AGENTS	"wimse://dev.ownerbind.test/agents/*"
#define PIN_BYTES	16
#define PIN_LEN		(2 * PIN_BYTES)

static const char *const softhsm_paths[] = {
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	NULL
};

static const struct ob_devmode_profile org_ca = {
	"ownerbind dev organisation CA", 1, "critical,keyCertSign,cRLSign",
	NULL, NULL
};
static const struct ob_devmode_profile gw_signing = {
	OB_GW_DEV_ID, 0, "critical,digitalSignature",
	"1.3.6.1.5.5.7.3.36", "DNS:" OB_GW_DEV_ID
};
static const struct ob_devmode_profile tls_ca = {
	"ownerbind dev gateway TLS CA", 1, "critical,keyCertSign,cRLSign",
	NULL, NULL
};
static const struct ob_devmode_profile gw_tls = {
	"localhost", 0, "critical,digitalSignature", "serverAuth",
	"DNS:localhost,IP:127.0.0.1,IP:::1"
};
static const struct ob_devmode_profile gw_client = {
	SERVER_CLIENT, 0, "critical,digitalSignature", "clientAuth",
	"URI:" GW_CLIENT_URI
};
static const struct ob_devmode_profile proxy_client = {
	OB_GW_DEV_PROXY, 0, "critical,digitalSignature", "clientAuth",
	"URI:" PROXY_URI
};

/* What the dev server's dev.json says (strings owned by srv). */
struct server_dev {
	json_t		*dev;
	const char	*url, *aud, *tls_ca, *trust, *config;
	char		 dir[PATH_MAX];
};

static int
path_in(const char *dir, const char *name, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outsz)
		return ob_errf(OB_ERR_INVALID_ARG, "%s/%s: path too long",
		    dir, name);
	return OB_OK;
}

/* out: PATH_MAX bytes (realpath(3)). */
static int
absolute(const char *dir, char out[PATH_MAX])
{
	if (realpath(dir, out) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", dir, strerror(errno));
	return OB_OK;
}

/* SERVER_DIR must hold the dev.json and server.json `--dev` wrote. */
static int
server_dev_load(const char *sdir, struct server_dev *s)
{
	struct ob_server_config	*c = NULL;
	json_error_t		 je;
	char			 p[PATH_MAX], abs[PATH_MAX];
	int			 r;

	if (realpath(sdir, abs) == NULL)
		return ob_errf(OB_ERR_GW_DEV_SERVER, "%s: %s", sdir,
		    strerror(errno));
	(void)snprintf(s->dir, sizeof(s->dir), "%s", abs);
	OB_TRY(path_in(abs, "dev.json", p, sizeof(p)));
	if ((s->dev = json_load_file(p, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL || json_unpack(s->dev, "{s:s,s:s,s:s,s:s,s:s}", "url",
	    &s->url, "aud", &s->aud, "tls_ca", &s->tls_ca, "trust", &s->trust,
	    "config", &s->config) != 0)
		return ob_errf(OB_ERR_GW_DEV_SERVER, "%s: no dev.json with "
		    "url, aud, tls_ca, trust and config", abs);
	if (strncmp(s->url, "https://", 8) != 0 || strlen(s->url) > 200)
		return ob_errf(OB_ERR_GW_DEV_SERVER, "%s: url is not https",
		    p);
	if ((r = ob_server_config_load(s->config, &c, NULL)) != OB_OK)
		return ob_errf(OB_ERR_GW_DEV_SERVER, "%s: %s", s->config,
		    ob_err_detail());
	ob_server_config_free(&c);
	r = OB_OK;
out:
	return r;
}

/* A random PIN, hex, in secure memory: PIN_LEN characters and a NUL. */
static int
make_pin(char **out)
{
	unsigned char		 b[PIN_BYTES];
	char			*p;

	if ((p = ob_secmem_alloc(PIN_LEN + 2)) == NULL)
		return OB_ERR_ALLOC;
	if (RAND_bytes(b, sizeof(b)) != 1) {
		ob_secmem_free(p);
		return ob_errf(OB_ERR_RANDOM, "PIN");
	}
	(void)ob_bin_to_hex(b, sizeof(b), p, PIN_LEN + 2);
	ob_secmem_wipe(b, sizeof(b));
	*out = p;
	return OB_OK;
}

/* The PIN's file: one line, 0600, through the secret-file writer. */
static int
write_pin(const char *path, char *pin)
{
	int r;

	pin[PIN_LEN] = '\n';
	r = ob_secfile_write(path, pin, PIN_LEN + 1);
	pin[PIN_LEN] = '\0';
	return r;
}

static const char *
softhsm_module(void)
{
	size_t i;

	for (i = 0; softhsm_paths[i] != NULL; i++)
		if (access(softhsm_paths[i], R_OK) == 0)
			return softhsm_paths[i];
	return NULL;
}

static int
write_softhsm_conf(const char *dir, const char *conf)
{
	char	tok[PATH_MAX], text[PATH_MAX + 128];
	int	n, r;

	OB_TRY(path_in(dir, "tokens", tok, sizeof(tok)));
	if (mkdir(tok, 0700) != 0)
		return ob_errf(OB_ERR_IO, "%s: %s", tok, strerror(errno));
	n = snprintf(text, sizeof(text), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n", tok);
	if (n < 0 || (size_t)n >= sizeof(text))
		return ob_errf(OB_ERR_INVALID_ARG, "%s: path too long", tok);
	r = ob_devmode_write_new(conf, text, (size_t)n, 0644);
out:
	return r;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0;	/* DIR itself stays */
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/*
 * Undo a failed create: DIR was new or empty and is ours (0700), so all
 * in it is what we made.  SERVER_DIR's files are written last, each
 * atomically; a failure after them leaves them registered.
 */
static void
remove_made(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ownerbind-dev-token, next to this program (as ownerbind-signer is). */
static int
helper_path(char *buf, size_t size)
{
	static const char	 name[] = "/ownerbind-dev-token";
	char			*slash;
	ssize_t			 n;

	if ((n = readlink("/proc/self/exe", buf, size - 1)) <= 0 ||
	    (size_t)n >= size - 1)
		return ob_errf(OB_ERR_GW_DEV_TOKEN, "cannot find this "
		    "program's directory");
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL ||
	    (size_t)(slash - buf) + sizeof(name) > size)
		return ob_errf(OB_ERR_GW_DEV_TOKEN, "program path too long");
	memcpy(slash, name, sizeof(name));
	if (access(buf, X_OK) != 0)
		return ob_errf(OB_ERR_GW_DEV_TOKEN, "%s: %s (built without "
		    "PKCS#11?)", buf, strerror(errno));
	return OB_OK;
}

/*
 * The token and its key, made by ownerbind-dev-token (its argv holds
 * paths only: the PINs are in their files); the public key comes back
 * in pubpath.  The helper's own error line goes to our stderr.
 */
static int
make_token(const char *module, const char *uri, const char *sopath,
    const char *pinpath, const char *pubpath)
{
	char		 prog[PATH_MAX];
	char *const	 argv[] = { prog, OB_DECONST(char *, module),
	    OB_DECONST(char *, TOKEN_LABEL), OB_DECONST(char *, sopath),
	    OB_DECONST(char *, pinpath), OB_DECONST(char *, uri),
	    OB_DECONST(char *, pubpath), NULL };
	pid_t		 pid;
	int		 r, st;

	if ((r = helper_path(prog, sizeof(prog))) != OB_OK)
		return r;
	(void)fflush(stderr);
	if ((pid = fork()) < 0)
		return ob_errf(OB_ERR_GW_DEV_TOKEN, "fork: %s",
		    strerror(errno));
	if (pid == 0) {
		execv(prog, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ob_errf(OB_ERR_GW_DEV_TOKEN, "waitpid: %s",
			    strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return ob_errf(OB_ERR_GW_DEV_TOKEN, "%s failed (its error "
		    "is on the line above)", prog);
	return OB_OK;
}

static int
read_pubkey(const char *path, EVP_PKEY **out)
{
	FILE	*f;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	*out = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return ob_errf(OB_ERR_GW_DEV_TOKEN, "%s: not a public key",
		    path);
	return OB_OK;
}

/* Certificates concatenated (PEM) into a new file. */
static int
write_chain(const char *path, X509 *a, X509 *b)
{
	BIO	*bio;
	char	*data;
	long	 n;
	int	 r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return OB_ERR_ALLOC;
	if (PEM_write_bio_X509(bio, a) != 1 || PEM_write_bio_X509(bio, b) !=
	    1 || (n = BIO_get_mem_data(bio, &data)) <= 0)
		r = ob_errf(OB_ERR_CRYPTO, "PEM encoding of %s", path);
	else
		r = ob_devmode_write_new(path, data, (size_t)n, 0644);
	BIO_free(bio);
	return r;
}

/* Replace path atomically with v (a temporary file, then rename). */
static int
replace_json(const char *path, json_t *v)
{
	char	tmp[PATH_MAX + 16];
	int	r;

	(void)snprintf(tmp, sizeof(tmp), "%s.gw-dev.tmp", path);
	(void)unlink(tmp);
	OB_TRY(ob_devmode_write_json(tmp, v, 0644));
	if (rename(tmp, path) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
out:
	return r;
}

/* Remove the array's objects whose key is value. */
static void
drop_by(json_t *a, const char *key, const char *value)
{
	size_t	i = json_array_size(a);
	json_t	*v;

	while (i-- > 0) {
		v = json_object_get(json_array_get(a, i), key);
		if (json_is_string(v) && strcmp(json_string_value(v), value) ==
		    0)
			(void)json_array_remove(a, i);
	}
}

static int
pem_of(X509 *x, json_t **out)
{
	BIO	*b;
	char	*data;
	long	 n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return OB_ERR_ALLOC;
	if (PEM_write_bio_X509(b, x) != 1 || (n = BIO_get_mem_data(b,
	    &data)) <= 0) {
		BIO_free(b);
		return ob_errf(OB_ERR_CRYPTO, "PEM encoding");
	}
	*out = json_stringn(data, (size_t)n);
	BIO_free(b);
	return *out == NULL ? OB_ERR_ALLOC : OB_OK;
}

/* The server's trust store gets (or has replaced) the gateway entry. */
static int
register_trust(const struct server_dev *s, X509 *orgca)
{
	json_t		*t = NULL, *g = NULL, *pem = NULL, *gws;
	json_error_t	 je;
	int		 r;

	if ((t = json_load_file(s->trust, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL || !json_is_array(gws = json_object_get(t, "gateways"))) {
		r = ob_errf(OB_ERR_GW_DEV_SERVER, "%s: no gateways[]",
		    s->trust);
		goto out;
	}
	OB_TRY(pem_of(orgca, &pem));
	if ((g = json_pack("{s:s,s:s,s:[O],s:[s],s:[s],s:[s],s:[s],s:b,"
	    "s:s}", "id", OB_GW_DEV_ID, "owner", OB_GW_DEV_ORG, "ca", pem,
	    "algs", "ES256", "proxies", OB_GW_DEV_PROXY, "trust_domains",
	    DEV_TD, "may_bind", DEV_AGENTS, "require_eku", 1, "kind",
	    "pkcs11")) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	drop_by(gws, "id", OB_GW_DEV_ID);
	if (json_array_append(gws, g) != 0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = replace_json(s->trust, t);
out:
	json_decref(pem);
	json_decref(g);
	json_decref(t);
	return r;
}

/* Both TLS CAs, so that the server accepts the gateway's client. */
static int
write_clients_ca(const struct server_dev *s, const char *mine,
    const char *path)
{
	const char	*src[2] = { s->tls_ca, mine };
	FILE		*in, *out;
	char		 tmp[PATH_MAX + 16], buf[4096];
	size_t		 n;
	int		 i, r = OB_OK;

	(void)snprintf(tmp, sizeof(tmp), "%s.gw-dev.tmp", path);
	(void)unlink(tmp);
	if ((out = fopen(tmp, "wxe")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", tmp, strerror(errno));
	for (i = 0; i < 2 && r == OB_OK; i++) {
		if ((in = fopen(src[i], "re")) == NULL) {
			r = ob_errf(OB_ERR_IO, "%s: %s", src[i],
			    strerror(errno));
			break;
		}
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			if (fwrite(buf, 1, n, out) != n)
				r = ob_errf(OB_ERR_IO, "%s: write", tmp);
		if (ferror(in))
			r = ob_errf(OB_ERR_IO, "%s: read", src[i]);
		fclose(in);
	}
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		r = ob_errf(OB_ERR_IO, "%s: write", tmp);
	fclose(out);
	if (r == OB_OK && rename(tmp, path) != 0)
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	if (r != OB_OK)
		(void)unlink(tmp);
	return r;
}

/*
 * The server's configuration: the gateway as a client, the client CA
 * with both TLS CAs, the listen address its dev.json names.
 */
static int
register_client(const struct server_dev *s, const char *clients_ca)
{
	json_t		*c = NULL, *cl, *tls, *e = NULL;
	json_error_t	 je;
	int		 r;

	if ((c = json_load_file(s->config, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL || !json_is_array(cl = json_object_get(c, "clients")) ||
	    !json_is_object(tls = json_object_get(c, "tls"))) {
		r = ob_errf(OB_ERR_GW_DEV_SERVER, "%s: no clients[] and tls",
		    s->config);
		goto out;
	}
	if ((e = json_pack("{s:s,s:s,s:s}", "id", SERVER_CLIENT, "role",
	    "gateway", "san_uri", GW_CLIENT_URI)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	drop_by(cl, "id", SERVER_CLIENT);
	if (json_array_append(cl, e) != 0 ||
	    json_object_set_new(tls, "client_ca", json_string(clients_ca)) !=
	    0 || json_object_set_new(c, "listen", json_string(s->url + 8)) !=
	    0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = replace_json(s->config, c);
out:
	json_decref(e);
	json_decref(c);
	return r;
}

static int
write_policy(const char *path)
{
	json_t	*p;
	int	 r;

	if ((p = json_pack("{s:i,s:[{s:s,s:s,s:[s],s:[s],s:i}]}",
	    "ownerbind_gateway_policy", 1, "rules", "name", "dev-agents",
	    "effect", "allow", "proxies", OB_GW_DEV_PROXY, "agents",
	    DEV_AGENTS, "max_lifetime", 3600)) == NULL)
		return OB_ERR_ALLOC;
	r = ob_devmode_write_json(path, p, 0644);
	json_decref(p);
	return r;
}

static int
write_signer(const char *path, const char *uri, const char *pinpath)
{
	json_t	*c;
	char	 ps[PATH_MAX + 8];
	int	 r;

	(void)snprintf(ps, sizeof(ps), "file:%s", pinpath);
	if ((c = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "keys", "name",
	    SIGNER_KEY, "uri", uri, "pin_source", ps, "role", "gateway",
	    "gateway_id", OB_GW_DEV_ID)) == NULL)
		return OB_ERR_ALLOC;
	r = ob_devmode_write_json(path, c, 0600);
	json_decref(c);
	return r;
}

/* Every path absolute: the gateway may be started from anywhere. */
static int
write_gw_config(const char *dir, const struct server_dev *s,
    const char *path)
{
	static const char *const n[10] = { "gateway-tls.pem",
	    "gateway-tls.key", "tls-ca.pem", "gateway-client.pem",
	    "gateway-client.key", "signer.json", "x5c.pem", "policy.json",
	    "audit.jsonl", NULL };
	json_t	*c;
	char	 p[10][PATH_MAX];
	int	 i, r;

	for (i = 0; n[i] != NULL; i++)
		OB_TRY(path_in(dir, n[i], p[i], sizeof(p[i])));
	c = json_pack("{s:s,s:s,s:s,s:s,"
	    "s:{s:s,s:s,s:s},"
	    "s:[{s:s,s:s}],"
	    "s:{s:s,s:s,s:s,s:s},"
	    "s:{s:s,s:s},"
	    "s:s,s:s,s:s,s:s}",
	    "listen", "127.0.0.1:0", "metrics_listen", "127.0.0.1:0",
	    "id", OB_GW_DEV_ID, "aud", s->aud,
	    "tls", "cert", p[0], "key", p[1], "client_ca", p[2],
	    "proxies", "id", OB_GW_DEV_PROXY, "san_uri", PROXY_URI,
	    "server", "url", s->url, "ca", s->tls_ca, "cert", p[3],
	    "key", p[4],
	    "signer", "config", p[5], "key", SIGNER_KEY,
	    "x5c", p[6], "policy", p[7], "trust", s->trust, "audit", p[8]);
	if (c == NULL)
		return OB_ERR_ALLOC;
	r = ob_devmode_write_json(path, c, 0644);
	json_decref(c);
out:
	return r;
}

/* What was written must load as the daemons will load it. */
static int
self_check(const struct server_dev *s, const char *gwcfg)
{
	struct ob_gw_config	*g = NULL;
	struct ob_server_config	*c = NULL;
	struct ob_trust		*t = NULL;
	int			 r;

	if ((r = ob_trust_load_file(s->trust, &t)) != OB_OK)
		return ob_err_prefix(OB_ERR_INTERNAL, "%s", s->trust);
	ob_trust_free(&t);
	if ((r = ob_server_config_load(s->config, &c, NULL)) != OB_OK)
		return ob_err_prefix(OB_ERR_INTERNAL, "%s", s->config);
	ob_server_config_free(&c);
	if ((r = ob_gw_config_load(gwcfg, &g, NULL)) != OB_OK)
		return ob_err_prefix(OB_ERR_INTERNAL, "%s", gwcfg);
	ob_gw_config_free(&g);
	return OB_OK;
}

/* A key file (0600) and its certificate under ca/cakey. */
static int
leaf(const char *dir, const char *base, const struct ob_devmode_profile *p,
    X509 *ca, EVP_PKEY *cakey)
{
	EVP_PKEY	*k = NULL;
	X509		*x = NULL;
	char		 kp[PATH_MAX], cp[PATH_MAX], name[64];
	int		 r;

	(void)snprintf(name, sizeof(name), "%s.key", base);
	OB_TRY(path_in(dir, name, kp, sizeof(kp)));
	(void)snprintf(name, sizeof(name), "%s.pem", base);
	OB_TRY(path_in(dir, name, cp, sizeof(cp)));
	OB_TRY(ob_file_keygen(kp, OB_ALG_ES256, NULL, &k));
	OB_TRY(ob_devmode_make_cert(p, k, ca, cakey, &x));
	r = ob_devmode_write_cert(cp, x);
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

int
ob_gw_devmode_create(const char *dir, const char *server_dir, char *cfg,
    size_t cfgsz)
{
	struct server_dev	 s;
	EVP_PKEY		*ok = NULL, *hk = NULL, *tk = NULL;
	X509			*oc = NULL, *hc = NULL, *tc = NULL;
	char			*so = NULL, *user = NULL;
	char			 abs[PATH_MAX], p[PATH_MAX], pin[PATH_MAX];
	char			 sopath[PATH_MAX];
	char			 uri[2 * PATH_MAX], ca[PATH_MAX];
	const char		*module;
	int			 r, made = 0;

	memset(&s, 0, sizeof(s));
	if (cfgsz != 0)
		cfg[0] = '\0';
	OB_TRY(server_dev_load(server_dir, &s));
	if ((module = softhsm_module()) == NULL) {
		r = ob_errf(OB_ERR_GW_DEV_TOKEN, "no libsofthsm2.so in %s or "
		    "the other usual places", softhsm_paths[0]);
		goto out;
	}
	abs[0] = '\0';
	OB_TRY(ob_devmode_make_dir(dir));
	OB_TRY(absolute(dir, abs));
	if (strcmp(abs, s.dir) == 0) {
		r = ob_errf(OB_ERR_DEVMODE_DIR, "%s is the server's directory",
		    abs);
		goto out;
	}
	made = 1;

	/* The token, in DIR; the signer inherits SOFTHSM2_CONF. */
	OB_TRY(path_in(abs, "softhsm2.conf", p, sizeof(p)));
	OB_TRY(write_softhsm_conf(abs, p));
	if (setenv("SOFTHSM2_CONF", p, 1) != 0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(make_pin(&so));
	OB_TRY(make_pin(&user));
	OB_TRY(path_in(abs, "so.pin", p, sizeof(p)));
	OB_TRY(write_pin(p, so));
	OB_TRY(path_in(abs, "user.pin", pin, sizeof(pin)));
	OB_TRY(write_pin(pin, user));
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN_LABEL
	    ";object=" KEY_LABEL "?module-path=%s", module);
	OB_TRY(path_in(abs, "signer.json", p, sizeof(p)));
	OB_TRY(write_signer(p, uri, pin));
	(void)snprintf(uri + strlen(uri), sizeof(uri) - strlen(uri),
	    "&pin-source=file:%s", pin);
	OB_TRY(path_in(abs, "gateway-key.pub.pem", p, sizeof(p)));
	OB_TRY(path_in(abs, "so.pin", sopath, sizeof(sopath)));
	OB_TRY(make_token(module, uri, sopath, pin, p));
	OB_TRY(read_pubkey(p, &hk));

	/* The organisation CA and the gateway's signing certificate. */
	OB_TRY(path_in(abs, "org-ca.key", p, sizeof(p)));
	OB_TRY(ob_file_keygen(p, OB_ALG_ES256, NULL, &ok));
	OB_TRY(ob_devmode_make_cert(&org_ca, ok, NULL, NULL, &oc));
	OB_TRY(path_in(abs, "org-ca.pem", p, sizeof(p)));
	OB_TRY(ob_devmode_write_cert(p, oc));
	OB_TRY(ob_devmode_make_cert(&gw_signing, hk, oc, ok, &hc));
	OB_TRY(path_in(abs, "gateway-signing.pem", p, sizeof(p)));
	OB_TRY(ob_devmode_write_cert(p, hc));
	OB_TRY(path_in(abs, "x5c.pem", p, sizeof(p)));
	OB_TRY(write_chain(p, hc, oc));

	/* TLS: one CA in memory for the listener, the client, the proxy. */
	if ((tk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		r = ob_errf(OB_ERR_CRYPTO, "TLS CA key");
		goto out;
	}
	OB_TRY(ob_devmode_make_cert(&tls_ca, tk, NULL, NULL, &tc));
	OB_TRY(path_in(abs, "tls-ca.pem", ca, sizeof(ca)));
	OB_TRY(ob_devmode_write_cert(ca, tc));
	OB_TRY(leaf(abs, "gateway-tls", &gw_tls, tc, tk));
	OB_TRY(leaf(abs, "gateway-client", &gw_client, tc, tk));
	OB_TRY(leaf(abs, "proxy", &proxy_client, tc, tk));

	OB_TRY(path_in(abs, "policy.json", p, sizeof(p)));
	OB_TRY(write_policy(p));
	OB_TRY(path_in(abs, "gateway.json", p, sizeof(p)));
	OB_TRY(write_gw_config(abs, &s, p));

	/* The registration with the dev server. */
	OB_TRY(register_trust(&s, oc));
	OB_TRY(path_in(s.dir, "clients-ca.pem", p, sizeof(p)));
	OB_TRY(write_clients_ca(&s, ca, p));
	OB_TRY(register_client(&s, p));
	OB_TRY(path_in(abs, "gateway.json", p, sizeof(p)));
	OB_TRY(self_check(&s, p));
	if ((size_t)snprintf(cfg, cfgsz, "%s", p) >= cfgsz) {
		r = ob_errf(OB_ERR_INVALID_ARG, "%s: path too long", p);
		goto out;
	}
	r = OB_OK;
out:
	if (r != OB_OK) {
		r = ob_err_prefix(r, "gateway dev mode");
		if (made)
			remove_made(abs);
	}
	ob_secmem_free(so);
	ob_secmem_free(user);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(hk);
	EVP_PKEY_free(tk);
	X509_free(oc);
	X509_free(hc);
	X509_free(tc);
	json_decref(s.dev);
	return r;
}

int
ob_gw_devmode_write_info(const char *dir, const char *url)
{
	json_t	*v = NULL;
	char	 abs[PATH_MAX], p[6][PATH_MAX], tmp[PATH_MAX];
	static const char *const n[6] = { "tls-ca.pem", "proxy.pem",
	    "proxy.key", "policy.json", "gateway.json", "dev.json" };
	int	 i, r;

	OB_TRY(absolute(dir, abs));
	for (i = 0; i < 6; i++)
		OB_TRY(path_in(abs, n[i], p[i], sizeof(p[i])));
	if ((v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "url", url,
	    "tls_ca", p[0], "client_cert", p[1], "client_key", p[2],
	    "policy", p[3], "config", p[4])) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(path_in(abs, ".dev.json.tmp", tmp, sizeof(tmp)));
	(void)unlink(tmp);
	OB_TRY(ob_devmode_write_json(tmp, v, 0644));
	if (rename(tmp, p[5]) != 0) {
		r = ob_errf(OB_ERR_IO, "%s: %s", p[5], strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	r = OB_OK;
out:
	json_decref(v);
	return r;
}
