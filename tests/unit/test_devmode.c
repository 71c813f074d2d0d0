/*
 * Development mode (server/devmode.c): the PKI it makes is checked by
 * openssl(1), not by the code that made it; the configuration loads with
 * server/config.c, the trust store with ob_trust_load_file, the issuer key
 * with tokens/file.c; dev.json has exactly its members; a second run on
 * the same directory is refused.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/config.h"
#include "server/devmode.h"
#include "tokens/file.h"
#include "core/json.h"
#include "core/jwk.h"
#include "tests/unit/obtest.h"
#include "ownerbind/ob_verify.h"

static char top[] = "/tmp/ob-dev-XXXXXX";
static char dir[300];
static struct ob_devmode_paths *p;

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/dev", top);
	return ob_devmode_create(dir, "127.0.0.1:0", &p) == OB_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	ob_devmode_paths_free(&p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd);	/* lint: ok: rm -rf of this test's mkdtemp */
}

/* Run a shell command; its stdout and stderr, and its exit status. */
static char *
run(const char *cmd, int *status)
{
	char	 full[2048], *out = calloc(1, 65536);
	FILE	*f;
	size_t	 n;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	/* lint: ok: the commands are this test's own, over its mkdtemp */
	assert_non_null(f = popen(full, "r"));
	n = fread(out, 1, 65535, f);
	out[n] = '\0';
	*status = pclose(f);
	return out;
}

static void
expect_run(const char *cmd, int ok, const char *const *needles)
{
	char	*out;
	int	 st;

	out = run(cmd, &st);
	if ((st == 0) != ok)
		fail_msg("%s: exit %d, wanted %s:\n%s", cmd, st,
		    ok ? "success" : "failure", out);
	for (; needles != NULL && *needles != NULL; needles++)
		if (strstr(out, *needles) == NULL)
			fail_msg("%s: no \"%s\" in:\n%s", cmd, *needles, out);
	free(out);
}

static void
test_openssl_verify(void **state)
{
	char	cmd[1024];

	(void)state;
	/* Server and client certificates chain to the TLS CA, for TLS. */
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile %s "
	    "-purpose sslserver -verify_hostname localhost %s", p->tls_ca,
	    p->server_cert);
	expect_run(cmd, 1, (const char *const[]){ ": OK", NULL });
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile %s "
	    "-purpose sslserver -verify_ip 127.0.0.1 %s", p->tls_ca,
	    p->server_cert);
	expect_run(cmd, 1, NULL);
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile %s "
	    "-purpose sslclient %s", p->tls_ca, p->client_cert);
	expect_run(cmd, 1, (const char *const[]){ ": OK", NULL });
	/* ... and only for what each is for. */
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s -purpose "
	    "sslclient %s", p->tls_ca, p->server_cert);
	expect_run(cmd, 0, NULL);
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s -purpose "
	    "sslserver %s", p->tls_ca, p->client_cert);
	expect_run(cmd, 0, NULL);
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s -purpose "
	    "sslserver -verify_hostname example.org %s", p->tls_ca,
	    p->server_cert);
	expect_run(cmd, 0, NULL);
	/* The issuer CA is a separate root: it does not vouch for TLS. */
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s",
	    p->issuer_ca, p->server_cert);
	expect_run(cmd, 0, NULL);
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile %s "
	    "-purpose any %s", p->issuer_ca, p->issuer_ca);
	expect_run(cmd, 1, NULL);
}

static void
test_openssl_text(void **state)
{
	char	cmd[1024];

	(void)state;
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s",
	    p->server_cert);
	expect_run(cmd, 1, (const char *const[]){
	    "Subject: O = ownerbind development, CN = localhost",
	    "X509v3 Subject Alternative Name",
	    "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
	    "TLS Web Server Authentication", "CA:FALSE",
	    "X509v3 Key Usage: critical", "Digital Signature",
	    "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
	    "ASN1 OID: prime256v1", NULL });
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s",
	    p->client_cert);
	expect_run(cmd, 1, (const char *const[]){
	    "URI:" OB_DEVMODE_PROXY_URI, "TLS Web Client Authentication",
	    "CA:FALSE", NULL });
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s",
	    p->issuer_ca);
	expect_run(cmd, 1, (const char *const[]){
	    "X509v3 Basic Constraints: critical", "CA:TRUE",
	    "Certificate Sign", "ASN1 OID: prime256v1", NULL });
	/* No SAN or EKU on the CA; the client has no DNS name. */
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s | "
	    "grep -q 'Alternative Name'", p->issuer_ca);
	expect_run(cmd, 0, NULL);
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s | "
	    "grep -q 'DNS:'", p->client_cert);
	expect_run(cmd, 0, NULL);
	/* A 128-bit serial, one day of validity. */
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -serial -in %s | "
	    "grep -Eq '^serial=[0-9A-F]{32}$' && openssl x509 -noout "
	    "-checkend 86000 -in %s && ! openssl x509 -noout -checkend "
	    "86500 -in %s", p->issuer_ca, p->issuer_ca, p->issuer_ca);
	expect_run(cmd, 1, NULL);
}

static void
test_files(void **state)
{
	const char *const keys[] = { p->issuer_key, p->server_key,
	    p->client_key };
	struct stat	 st;
	EVP_PKEY	*k = NULL;
	X509		*x;
	FILE		*f;
	size_t		 i;

	(void)state;
	assert_int_equal(stat(p->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_string_equal(p->dir, dir);
	for (i = 0; i < 3; i++) {
		assert_int_equal(stat(keys[i], &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* The TLS CA's key is not kept: the three keys are all there is. */
	{
		char	 cmd[400];
		int	 rc;
		char	*out;

		snprintf(cmd, sizeof(cmd), "grep -l 'PRIVATE KEY' %s/* | wc -l",
		    p->dir);
		out = run(cmd, &rc);
		assert_int_equal(rc, 0);
		assert_int_equal(strtol(out, NULL, 10), 3);
		free(out);
	}
	/* The issuer key is a file: key of the issuer CA's public key. */
	assert_int_equal(ob_file_load(p->issuer_key, NULL, &k), OB_OK);
	assert_non_null(f = fopen(p->issuer_ca, "r"));
	assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	assert_int_equal(X509_check_private_key(x, k), 1);
	X509_free(x);
	/* The JWKS holds that key under its thumbprint. */
	{
		json_t		*j = json_load_file(p->issuer_jwks, 0, NULL);
		json_t		*jwk;
		char		 kid[44];

		assert_non_null(j);
		assert_int_equal(json_array_size(json_object_get(j, "keys")),
		    1);
		jwk = json_array_get(json_object_get(j, "keys"), 0);
		assert_int_equal(ob_pkey_thumbprint(k, kid), OB_OK);
		assert_string_equal(json_string_value(json_object_get(jwk,
		    "kid")), kid);
		assert_string_equal(json_string_value(json_object_get(jwk,
		    "alg")), "ES256");
		assert_null(json_object_get(jwk, "d"));
		json_decref(j);
	}
	EVP_PKEY_free(k);
	/* ownerbind-signer's configuration: that key, as the issuer. */
	{
		json_t	*j, *key;

		assert_int_equal(stat(p->signer_config, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_non_null(j = json_load_file(p->signer_config,
		    JSON_REJECT_DUPLICATES, NULL));
		assert_int_equal(json_array_size(json_object_get(j, "keys")),
		    1);
		key = json_array_get(json_object_get(j, "keys"), 0);
		assert_string_equal(json_string_value(json_object_get(key,
		    "name")), "issuer");
		assert_string_equal(json_string_value(json_object_get(key,
		    "uri")), "file:issuer.key");
		assert_string_equal(json_string_value(json_object_get(key,
		    "role")), "issuer");
		assert_string_equal(json_string_value(json_object_get(key,
		    "ca")), "issuer-ca.pem");
		json_decref(j);
	}
}

static void
test_config_and_trust_load(void **state)
{
	struct ob_server_config	*c = NULL;
	struct ob_trust		*t = NULL;
	unsigned long		 line = 0;
	char			 want[400];

	(void)state;
	if (ob_server_config_load(p->config, &c, &line) != OB_OK)
		fail_msg("%s:%lu: %s", p->config, line, ob_err_detail());
	assert_string_equal(c->listen, "127.0.0.1:0");
	assert_string_equal(c->aud, p->aud);
	assert_string_equal(c->tls.cert, p->server_cert);
	assert_string_equal(c->tls.key, p->server_key);
	assert_string_equal(c->tls.client_ca, p->tls_ca);
	assert_string_equal(c->trust, p->trust);
	assert_string_equal(c->issuer.chain, p->issuer_ca);
	/* The issuer key is the signer's: the server names it only. */
	assert_string_equal(c->issuer.key, "issuer");
	assert_string_equal(c->signer.config, p->signer_config);
	assert_null(c->signer.socket);
	(void)want;
	assert_int_equal(c->nclients, 1);
	assert_string_equal(c->clients[0].san_uri, OB_DEVMODE_PROXY_URI);
	assert_int_equal(c->clients[0].role, OB_CLIENT_PROXY);
	ob_server_config_free(&c);
	if (ob_trust_load_file(p->trust, &t) != OB_OK)
		fail_msg("%s: %s", p->trust, ob_err_detail());
	ob_trust_free(&t);
}

static void
test_info(void **state)
{
	static const char *const members[] = { "url", "aud", "tls_ca",
	    "client_cert", "client_key", "issuer_ca", "issuer_jwks", "trust",
	    "config" };
	json_t		*j;
	const char	*k;
	json_t		*v;
	size_t		 i;

	(void)state;
	assert_int_equal(ob_devmode_write_info(p, "https://127.0.0.1:1"),
	    OB_OK);
	/* Replaced in place once the port is known. */
	assert_int_equal(ob_devmode_write_info(p, "https://127.0.0.1:45678"),
	    OB_OK);
	assert_non_null(j = json_load_file(p->info, JSON_REJECT_DUPLICATES,
	    NULL));
	assert_int_equal(json_object_size(j), 9);
	for (i = 0; i < 9; i++)
		assert_non_null(json_object_get(j, members[i]));
	json_object_foreach(j, k, v) {
		assert_true(json_is_string(v));
		if (strcmp(k, "url") != 0 && strcmp(k, "aud") != 0) {
			assert_true(json_string_value(v)[0] == '/');
			assert_int_equal(access(json_string_value(v), R_OK),
			    0);
		}
	}
	assert_string_equal(json_string_value(json_object_get(j, "url")),
	    "https://127.0.0.1:45678");
	assert_string_equal(json_string_value(json_object_get(j, "aud")),
	    OB_DEVMODE_AUD);
	json_decref(j);
}

static void
test_rerun_refused(void **state)
{
	struct ob_devmode_paths	*q = NULL;
	char			 other[400];

	(void)state;
	assert_int_equal(ob_devmode_create(dir, NULL, &q), OB_ERR_DEVMODE_DIR);
	assert_null(q);
	/* Nothing was touched: the first run's files still match. */
	assert_int_equal(access(p->issuer_key, R_OK), 0);
	/* A file is not a directory. */
	assert_int_equal(ob_devmode_create(p->trust, NULL, &q),
	    OB_ERR_DEVMODE_DIR);
	/* An existing empty directory is fine, and made 0700. */
	snprintf(other, sizeof(other), "%s/empty", top);
	assert_int_equal(mkdir(other, 0755), 0);
	assert_int_equal(ob_devmode_create(other, "127.0.0.1:8443", &q),
	    OB_OK);
	ob_devmode_paths_free(&q);
	assert_null(q);
	{
		struct stat st;

		assert_int_equal(stat(other, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	/* An empty directory of another user is not taken over. */
	if (geteuid() == 0) {
		snprintf(other, sizeof(other), "%s/theirs", top);
		assert_int_equal(mkdir(other, 0700), 0);
		assert_int_equal(chown(other, 65534, 65534), 0);
		assert_int_equal(ob_devmode_create(other, NULL, &q),
		    OB_ERR_DEVMODE_DIR);
		assert_non_null(strstr(ob_err_detail(), "another user"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_verify),
		cmocka_unit_test(test_openssl_text),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_config_and_trust_load),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_rerun_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
