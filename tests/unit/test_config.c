/*
 * The server's configuration (server/config.c): a good file and its
 * defaults; every unknown member, wrong type, duplicate and bad value
 * named with its member and the right line (docs/server.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "tests/unit/obtest.h"

/* One member per line where it matters: the cases below count lines. */
static const char base[] =
	"{\n"								/* 1 */
	"  \"listen\": \"127.0.0.1:8443\",\n"				/* 2 */
	"  \"metrics_listen\": \"[::1]:8444\",\n"			/* 3 */
	"  \"aud\": \"https://id.example/\",\n"				/* 4 */
	"  \"iss\": \"https://id.example\",\n"				/* 5 */
	"  \"tls\": {\n"						/* 6 */
	"    \"cert\": \"tls/server.pem\",\n"				/* 7 */
	"    \"key\": \"tls/server.key\",\n"				/* 8 */
	"    \"client_ca\": \"/etc/ownerbind/clients.pem\"\n"		/* 9 */
	"  },\n"							/* 10 */
	"  \"clients\": [\n"						/* 11 */
	"    {\"id\": \"proxy-eu-1\", \"role\": \"proxy\", \"san_uri\": "
	"\"wimse://td.example/proxy/eu-1\"},\n"				/* 12 */
	"    {\n"							/* 13 */
	"      \"id\": \"gw-acme\",\n"					/* 14 */
	"      \"role\": \"gateway\",\n"				/* 15 */
	"      \"cert_sha256\": \"00112233445566778899aabbccddeeff"
	"00112233445566778899AABBCCDDEEFF\"\n"				/* 16 */
	"    }\n"							/* 17 */
	"  ],\n"							/* 18 */
	"  \"trust\": \"trust.json\",\n"				/* 19 */
	"  \"state\": \"state.sqlite\",\n"				/* 20 */
	"  \"audit\": \"/var/lib/ownerbind/audit.jsonl\",\n"		/* 21 */
	"  \"issuer\": {\"key\": \"issuer\", \"chain\": \"issuer-ca.pem\", "
	"\"publish\": [\"old-ca.pem\", \"/etc/ob/next-ca.pem\"]}, "
	"\"signer\": {\"config\": \"signer.json\", \"timeout_ms\": 2000},\n"
									/* 22 */
	"  \"wic\": {\"owner_oid\": \"1.3.6.1.4.1.99999.1\", "
	"\"subject_ou\": true},\n"					/* 23 */
	"  \"lifetime\": 3600,\n"					/* 24 */
	"  \"lifetime_by_domain\": {\"example.org\": 600, "
	"\"td.example\": 1800},\n"					/* 25 */
	"  \"limits\": {\"max_body\": 65536, \"max_header\": 8192, "
	"\"max_conns\": 1024,\n"					/* 26 */
	"             \"timeout_s\": 10, \"workers\": 2, \"queue\": 256},\n"
									/* 27 */
	"  \"rate\": {\"per_peer\": {\"per_second\": 100, \"burst\": 200},\n"
									/* 28 */
	"           \"per_owner\": {\"per_second\": 10}, \"per_agent\": "
	"{\"per_second\": 0.5, \"burst\": 3}},\n"			/* 29 */
	"  \"user\": \"ownerbind\", \"sandbox\": false,\n"		/* 30 */
	"  \"log_level\": \"info\"\n"					/* 31 */
	"}\n";								/* 32 */

/* text with from replaced by to, malloc'd. */
static char *
edit_in(const char *text, const char *from, const char *to)
{
	const char	*at = strstr(text, from);
	char		*s;
	size_t		 n;

	if (at == NULL)
		fail_msg("case text not in the base: %s", from);
	n = strlen(text) - strlen(from) + strlen(to) + 1;
	assert_non_null(s = malloc(n));
	(void)snprintf(s, n, "%.*s%s%s", (int)(at - text), text, to,
	    at + strlen(from));
	return s;
}

static char *
edit(const char *from, const char *to)
{
	return edit_in(base, from, to);
}

static void
test_good(void **state)
{
	struct ob_server_config	*c = NULL;
	unsigned long		 line = 99;

	(void)state;
	assert_int_equal(ob_server_config_parse(base, strlen(base), "/srv/ob",
	    &c, &line), OB_OK);
	assert_int_equal(line, 99);	/* untouched on success */
	assert_string_equal(c->listen, "127.0.0.1:8443");
	assert_string_equal(c->metrics_listen, "[::1]:8444");
	assert_string_equal(c->aud, "https://id.example/");
	assert_string_equal(c->iss, "https://id.example");
	assert_string_equal(c->tls.cert, "/srv/ob/tls/server.pem");
	assert_string_equal(c->tls.key, "/srv/ob/tls/server.key");
	assert_string_equal(c->tls.client_ca, "/etc/ownerbind/clients.pem");
	assert_int_equal(c->nclients, 2);
	assert_string_equal(c->clients[0].id, "proxy-eu-1");
	assert_int_equal(c->clients[0].role, OB_CLIENT_PROXY);
	assert_string_equal(c->clients[0].san_uri,
	    "wimse://td.example/proxy/eu-1");
	assert_false(c->clients[0].has_cert_sha256);
	assert_int_equal(c->clients[1].role, OB_CLIENT_GATEWAY);
	assert_null(c->clients[1].san_uri);
	assert_true(c->clients[1].has_cert_sha256);
	assert_int_equal(c->clients[1].cert_sha256[1], 0x11);
	assert_int_equal(c->clients[1].cert_sha256[31], 0xff);
	assert_string_equal(c->trust, "/srv/ob/trust.json");
	assert_string_equal(c->state, "/srv/ob/state.sqlite");
	assert_string_equal(c->audit, "/var/lib/ownerbind/audit.jsonl");
	assert_string_equal(c->issuer.key, "issuer");
	assert_string_equal(c->issuer.chain, "/srv/ob/issuer-ca.pem");
	assert_int_equal(c->issuer.npublish, 2);
	assert_string_equal(c->issuer.publish[0], "/srv/ob/old-ca.pem");
	assert_string_equal(c->issuer.publish[1], "/etc/ob/next-ca.pem");
	assert_string_equal(c->signer.config, "/srv/ob/signer.json");
	assert_null(c->signer.program);
	assert_null(c->signer.socket);
	assert_int_equal(c->signer.timeout_ms, 2000);
	assert_int_equal(c->signer.backoff_max_ms, 10000);
	assert_string_equal(c->wic.owner_oid, "1.3.6.1.4.1.99999.1");
	assert_true(c->wic.subject_ou);
	assert_int_equal(c->lifetime, 3600);
	assert_int_equal(ob_server_config_lifetime_for(c,
	    "wimse://example.org/agents/a1"), 600);
	assert_int_equal(ob_server_config_lifetime_for(c,
	    "spiffe://TD.example/x"), 1800);
	assert_int_equal(ob_server_config_lifetime_for(c,
	    "wimse://example.org.evil/a"), 3600);
	assert_int_equal(ob_server_config_lifetime_for(c, "urn:x"), 3600);
	assert_int_equal(c->limits.max_body, 65536);
	assert_int_equal(c->limits.workers, 2);
	assert_true(c->rate.per_peer.per_second == 100);
	assert_int_equal(c->rate.per_peer.burst, 200);
	assert_true(c->rate.per_owner.per_second == 10);
	assert_int_equal(c->rate.per_owner.burst, 21);
	assert_true(c->rate.per_agent.per_second == 0.5);
	assert_int_equal(c->rate.per_agent.burst, 3);
	assert_string_equal(c->user, "ownerbind");
	assert_false(c->sandbox);
	assert_int_equal(c->log_level, OB_LOG_INFO);
	ob_server_config_free(&c);
	assert_null(c);
}

static void
test_enrol(void **state)
{
	struct ob_server_config	*c = NULL;
	char			*s;

	(void)state;
	s = edit("\"log_level\": \"info\"\n", "\"log_level\": \"info\", "
	    "\"enrol\": {\"dir\": \"enrol\", \"rp_id\": \"id.example\", "
	    "\"origins\": [\"https://id.example\", \"https://id.example:8443\"],"
	    " \"user_verification\": \"preferred\", \"resident_key\": "
	    "\"discouraged\", \"invite_ttl_s\": 3600}\n");
	assert_int_equal(ob_server_config_parse(s, strlen(s), "/srv/ob", &c,
	    NULL), OB_OK);
	assert_string_equal(c->enrol.dir, "/srv/ob/enrol");
	assert_string_equal(c->enrol.rp_id, "id.example");
	assert_int_equal(c->enrol.norigins, 2);
	assert_string_equal(c->enrol.origins[1], "https://id.example:8443");
	assert_false(c->enrol.uv_required);
	assert_int_equal(c->enrol.resident_key, OB_RK_DISCOURAGED);
	assert_int_equal(c->enrol.invite_ttl_s, 3600);
	ob_server_config_free(&c);
	free(s);
	/* Without the section: no enrolment. */
	assert_int_equal(ob_server_config_parse(base, strlen(base), "/d", &c,
	    NULL), OB_OK);
	assert_null(c->enrol.dir);
	assert_int_equal(c->enrol.invite_ttl_s, 86400);
	ob_server_config_free(&c);
}

/* The default's own OID written out is the default. */
static void
test_default_oid(void **state)
{
	struct ob_server_config	*c = NULL;
	char			*s;

	(void)state;
	s = edit("\"1.3.6.1.4.1.99999.1\"", "\"2.5.29.9\"");
	assert_int_equal(ob_server_config_parse(s, strlen(s), "/d", &c, NULL),
	    OB_OK);
	assert_null(c->wic.owner_oid);
	ob_server_config_free(&c);
	free(s);
}

static void
test_defaults(void **state)
{
	static const char min[] = "{\"aud\": \"a\", \"iss\": \"i\", "
	    "\"tls\": {\"cert\": \"c\", \"key\": \"k\", \"client_ca\": \"ca\"},"
	    " \"clients\": [{\"id\": \"p\", \"role\": \"proxy\", \"san_uri\": "
	    "\"spiffe://x/p\"}], \"trust\": \"t\", \"issuer\": {\"key\": "
	    "\"hsm-1\", \"chain\": \"ch\"}, \"signer\": {\"socket\": "
	    "\"/run/ob/signer.sock\"}}";
	struct ob_server_config	*c = NULL;

	(void)state;
	assert_int_equal(ob_server_config_parse(min, strlen(min), "/d", &c,
	    NULL), OB_OK);
	assert_string_equal(c->listen, "127.0.0.1:8443");
	assert_string_equal(c->metrics_listen, "127.0.0.1:8444");
	assert_string_equal(c->state, "/d/state.sqlite");
	assert_string_equal(c->audit, "/d/audit.jsonl");
	assert_string_equal(c->issuer.key, "hsm-1");
	assert_string_equal(c->signer.socket, "/run/ob/signer.sock");
	assert_null(c->signer.config);
	assert_int_equal(c->signer.timeout_ms, 5000);
	assert_null(c->wic.owner_oid);
	assert_false(c->wic.subject_ou);
	assert_int_equal(c->lifetime, 3600);
	assert_int_equal(c->nlifetime_by_domain, 0);
	assert_int_equal(c->limits.max_body, 64 * 1024);
	assert_int_equal(c->limits.max_header, 8 * 1024);
	assert_int_equal(c->limits.max_conns, 1024);
	assert_int_equal(c->limits.timeout_s, 10);
	assert_int_equal(c->limits.workers, 2);
	assert_int_equal(c->limits.queue, 256);
	assert_true(c->sandbox);	/* on unless turned off */
	assert_true(c->rate.per_peer.per_second == 0);
	assert_true(c->rate.per_owner.per_second == 10);
	assert_int_equal(c->rate.per_owner.burst, 20);
	assert_true(c->rate.per_agent.per_second == 2);
	assert_int_equal(c->rate.per_agent.burst, 5);
	assert_null(c->user);
	assert_int_equal(c->log_level, OB_LOG_INFO);
	ob_server_config_free(&c);
}

struct bad {
	const char	*from, *to;
	int		 code;
	unsigned long	 line;
	const char	*names;		/* must be in the detail */
};

static const struct bad bads[] = {
	/* unknown members */
	{ "\"user\":", "\"usr\":", OB_ERR_CONFIG_UNKNOWN, 30, "\"usr\"" },
	{ "\"client_ca\":", "\"client_cax\":", OB_ERR_CONFIG_UNKNOWN, 9,
	  "\"tls.client_cax\"" },
	{ "\"role\": \"gateway\"", "\"rol\": \"gateway\"",
	  OB_ERR_CONFIG_UNKNOWN, 15, "\"clients[1].rol\"" },
	{ "{\"per_second\": 10}", "{\"per_second\": 10, \"brust\": 1}",
	  OB_ERR_CONFIG_UNKNOWN, 29, "\"rate.per_owner.brust\"" },
	{ "\"timeout_s\"", "\"timeout\"", OB_ERR_CONFIG_UNKNOWN, 27,
	  "\"limits.timeout\"" },
	/* the scan decodes names as the reader does */
	{ "\"log_level\": \"info\"", "\"log_\\u006cevel2\": \"info\"",
	  OB_ERR_CONFIG_UNKNOWN, 31, "\"log_level2\"" },
	/* a same-named member earlier in another object is not it */
	{ "\"chain\": \"issuer-ca.pem\"", "\"chain\": \"issuer-ca.pem\", "
	  "\"cert\": 1", OB_ERR_CONFIG_UNKNOWN, 22, "\"issuer.cert\"" },
	/* wrong types */
	{ "\"lifetime\": 3600", "\"lifetime\": \"3600\"", OB_ERR_CONFIG_TYPE,
	  24, "\"lifetime\" must be an integer, not a string" },
	{ "\"workers\": 2", "\"workers\": 2.5", OB_ERR_CONFIG_TYPE, 27,
	  "\"limits.workers\" must be an integer, not a number" },
	{ "\"subject_ou\": true", "\"subject_ou\": 1", OB_ERR_CONFIG_TYPE, 23,
	  "\"wic.subject_ou\" must be a boolean" },
	{ "\"sandbox\": false", "\"sandbox\": \"off\"", OB_ERR_CONFIG_TYPE,
	  30, "\"sandbox\" must be a boolean" },
	{ "\"trust\": \"trust.json\"", "\"trust\": [\"trust.json\"]",
	  OB_ERR_CONFIG_TYPE, 19, "\"trust\" must be a string, not an array" },
	{ "{\"id\": \"proxy-eu-1\", \"role\": \"proxy\", \"san_uri\": "
	  "\"wimse://td.example/proxy/eu-1\"}", "\"proxy-eu-1\"",
	  OB_ERR_CONFIG_TYPE, 12, "\"clients[0]\" must be an object" },
	{ "\"id\": \"gw-acme\"", "\"id\": null", OB_ERR_CONFIG_TYPE, 14,
	  "\"clients[1].id\" must be a string, not null" },
	{ "\"example.org\": 600", "\"example.org\": \"600\"",
	  OB_ERR_CONFIG_TYPE, 25,
	  "\"lifetime_by_domain.example.org\" must be an integer" },
	{ "{\"per_second\": 0.5, \"burst\": 3}", "{\"per_second\": \"0.5\"}",
	  OB_ERR_CONFIG_TYPE, 29, "\"rate.per_agent.per_second\" must be a "
	  "number" },
	{ "\"tls\": {", "\"tls\": 7, \"x\": {", OB_ERR_CONFIG_UNKNOWN, 6,
	  "\"x\"" },
	/* duplicates */
	{ "\"iss\": \"https://id.example\"", "\"aud\": \"x\"",
	  OB_ERR_CONFIG_INVALID, 5, "\"aud\" is repeated" },
	{ "\"key\": \"tls/server.key\"", "\"cert\": \"tls/server.key\"",
	  OB_ERR_CONFIG_INVALID, 8, "\"tls.cert\" is repeated" },
	{ "\"role\": \"gateway\"", "\"id\": \"gateway\"",
	  OB_ERR_CONFIG_INVALID, 15, "\"clients[1].id\" is repeated" },
	{ "\"td.example\": 1800", "\"example.org\": 1800",
	  OB_ERR_CONFIG_INVALID, 25,
	  "\"lifetime_by_domain.example.org\" is repeated" },
	{ "\"key\": \"tls/server.key\"", "\"\\u0063ert\": \"tls/server.key\"",
	  OB_ERR_CONFIG_INVALID, 8, "is repeated" },
	/* syntax: where the reader stopped */
	{ "\"state.sqlite\",", "\"state.sqlite\"", OB_ERR_CONFIG_INVALID, 21,
	  "not JSON" },
	{ "\"queue\": 256}", "\"queue\": 256", OB_ERR_CONFIG_INVALID, 33,
	  "the end of the input" },
	{ "\"max_conns\": 1024,", "\"max_conns\": 1024 x,",
	  OB_ERR_CONFIG_INVALID, 26, "not JSON" },
	/* values */
	{ "  \"aud\": \"https://id.example/\",\n", "", OB_ERR_CONFIG_INVALID,
	  1, "has no member \"aud\"" },
	{ "\"cert\": \"tls/server.pem\",\n", "", OB_ERR_CONFIG_INVALID, 6,
	  "\"tls\" has no member \"cert\"" },
	{ "\"workers\": 2", "\"workers\": 0", OB_ERR_CONFIG_INVALID, 27,
	  "\"limits.workers\" must be from 1 to 256" },
	{ "\"lifetime\": 3600", "\"lifetime\": 86401", OB_ERR_CONFIG_INVALID,
	  24, "\"lifetime\" must be from 60 to 86400" },
	{ "\"role\": \"gateway\"", "\"role\": \"gw\"", OB_ERR_CONFIG_INVALID,
	  15, "must be one of proxy, gateway" },
	{ "\"id\": \"gw-acme\"", "\"id\": \"proxy-eu-1\"",
	  OB_ERR_CONFIG_INVALID, 14, "\"clients[1].id\" repeats clients[0]" },
	{ "\"cert_sha256\": \"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"",
	  "\"san_uri\": \"wimse://td.example/proxy/eu-1\"",
	  OB_ERR_CONFIG_INVALID, 16, "names the same certificate" },
	{ "\"role\": \"gateway\",", "\"role\": \"gateway\", \"san_uri\": "
	  "\"spiffe://a/b\",", OB_ERR_CONFIG_INVALID, 13,
	  "\"clients[1]\" must have exactly one of" },
	{ "AABBCCDDEEFF\"", "AABBCCDDEEF\"", OB_ERR_CONFIG_INVALID, 16,
	  "64 hex digits" },
	{ "\"1.3.6.1.4.1.99999.1\"", "\"2.25.329800735698586629295641978511506172918\"",
	  OB_ERR_CONFIG_INVALID, 23, "\"wic.owner_oid\"" },
	{ "\"1.3.6.1.4.1.99999.1\"", "\"1.3.6.1.4.1.2147483648\"",
	  OB_ERR_CONFIG_INVALID, 23, "arcs below 2^31" },
	{ "\"1.3.6.1.4.1.99999.1\"", "\"2.25.1\"", OB_ERR_CONFIG_INVALID, 23,
	  "not under 2.25" },
	{ "\"1.3.6.1.4.1.99999.1\"", "\"1.3.06.1\"", OB_ERR_CONFIG_INVALID, 23,
	  "\"wic.owner_oid\"" },
	{ "\"1.3.6.1.4.1.99999.1\"", "\"1.40\"", OB_ERR_CONFIG_INVALID, 23,
	  "\"wic.owner_oid\"" },
	/* An OID OpenSSL knows as something else: refused here, not at start. */
	{ "\"1.3.6.1.4.1.99999.1\"", "\"2.5.29.17\"", OB_ERR_CONFIG_INVALID,
	  23, "is the OID of subjectAltName" },
	{ "\"1.3.6.1.4.1.99999.1\"", "\"1.2.840.113549.1.9.5\"",
	  OB_ERR_CONFIG_INVALID, 23, "is the OID of signingTime" },
	/* issuer.publish: an array of 0..4 paths */
	{ "[\"old-ca.pem\", \"/etc/ob/next-ca.pem\"]", "\"old-ca.pem\"",
	  OB_ERR_CONFIG_TYPE, 22, "\"issuer.publish\" must be an array" },
	{ "[\"old-ca.pem\", \"/etc/ob/next-ca.pem\"]", "[\"a\", 1]",
	  OB_ERR_CONFIG_INVALID, 22, "[1] is not a path" },
	{ "[\"old-ca.pem\", \"/etc/ob/next-ca.pem\"]", "[\"\"]",
	  OB_ERR_CONFIG_INVALID, 22, "[0] is not a path" },
	{ "[\"old-ca.pem\", \"/etc/ob/next-ca.pem\"]",
	  "[\"a\", \"b\", \"c\", \"d\", \"e\"]", OB_ERR_CONFIG_INVALID, 22,
	  "\"issuer.publish\" has at most 4 entries" },
	/* keys and PINs are the signer's, never the server's */
	{ "\"key\": \"issuer\"", "\"key\": \"issuer\", \"pin_source\": "
	  "\"env:OB_PIN\"", OB_ERR_CONFIG_UNKNOWN, 22,
	  "\"issuer.pin_source\" belongs in the signer's configuration" },
	{ "\"key\": \"issuer\"", "\"key\": \"pkcs11:token=ob;object=i\"",
	  OB_ERR_CONFIG_INVALID, 22, "\"issuer.key\" must name a key of the "
	  "signer" },
	{ "\"key\": \"issuer\"", "\"key\": \"file:issuer.key\"",
	  OB_ERR_CONFIG_INVALID, 22, "a key URI belongs in the signer's" },
	{ "\"config\": \"signer.json\"", "\"socket\": \"s\", \"config\": "
	  "\"signer.json\"", OB_ERR_CONFIG_INVALID, 22, "\"signer\" must have "
	  "exactly one of" },
	{ "\"config\": \"signer.json\", ", "", OB_ERR_CONFIG_INVALID, 22,
	  "\"signer\" must have exactly one of" },
	{ "\"config\": \"signer.json\"", "\"socket\": \"s\", \"program\": "
	  "\"p\"", OB_ERR_CONFIG_INVALID, 22, "\"signer.program\" is for a "
	  "helper the server starts" },
	{ "\"timeout_ms\": 2000", "\"timeout_ms\": 50", OB_ERR_CONFIG_INVALID,
	  22, "\"signer.timeout_ms\" must be from 100" },
	{ "\"timeout_ms\": 2000", "\"timeouts\": 2000", OB_ERR_CONFIG_UNKNOWN,
	  22, "\"signer.timeouts\"" },
	{ "\"127.0.0.1:8443\"", "\"127.0.0.1\"", OB_ERR_CONFIG_INVALID, 2,
	  "\"listen\" must be HOST:PORT" },
	{ "\"127.0.0.1:8443\"", "\"127.0.0.1:65536\"", OB_ERR_CONFIG_INVALID,
	  2, "\"listen\"" },
	{ "\"[::1]:8444\"", "\"::1:8444\"", OB_ERR_CONFIG_INVALID, 3,
	  "\"metrics_listen\"" },
	{ "\"example.org\": 600", "\"exa mple\": 600", OB_ERR_CONFIG_INVALID,
	  25, "\"lifetime_by_domain.exa mple\" is not a trust domain name" },
	{ "\"log_level\": \"info\"", "\"log_level\": \"verbose\"",
	  OB_ERR_CONFIG_INVALID, 31, "one of debug, info, warn, error" },
	{ "\"user\": \"ownerbind\"", "\"user\": \"\"", OB_ERR_CONFIG_INVALID,
	  30, "\"user\" must be 1 to 256 bytes long" },
	{ "\"per_second\": 100", "\"per_second\": -1", OB_ERR_CONFIG_INVALID,
	  28, "\"rate.per_peer.per_second\" must be from 0" },
	{ "\"clients\": [\n    {\"id\": \"proxy-eu-1\", \"role\": \"proxy\", "
	  "\"san_uri\": \"wimse://td.example/proxy/eu-1\"},\n    {\n      "
	  "\"id\": \"gw-acme\",\n      \"role\": \"gateway\",\n      "
	  "\"cert_sha256\": \"00112233445566778899aabbccddeeff00112233445566"
	  "778899AABBCCDDEEFF\"\n    }\n  ]", "\"clients\": []",
	  OB_ERR_CONFIG_INVALID, 11, "\"clients\" must have 1 to 1024" },
	/* the Redis state (docs/server.md, "redis") */
	{ "\"state.sqlite\"", "\"redis://host:0\"", OB_ERR_CONFIG_INVALID,
	  20, "\"state\" is not a Redis URI: the port" },
	{ "\"state.sqlite\"", "\"rediss://host\"", OB_ERR_CONFIG_INVALID,
	  20, "TLS tunnel" },
	{ "\"state.sqlite\"", "\"unix:\"", OB_ERR_CONFIG_INVALID, 20,
	  "absolute socket path" },
	{ "\"state.sqlite\"", "\"unix:/r.sock?db=x\"", OB_ERR_CONFIG_INVALID,
	  20, "?db=N" },
	{ "\"state.sqlite\",", "\"state.sqlite\", \"redis\": {},",
	  OB_ERR_CONFIG_INVALID, 20, "\"redis\" is for a Redis state only" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": {\"usr\": \"x\"}",
	  OB_ERR_CONFIG_UNKNOWN, 20, "\"redis.usr\"" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": {\"prefix\": "
	  "\"ob*\"}", OB_ERR_CONFIG_INVALID, 20, "\"redis.prefix\" must be" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": {\"prefix\": "
	  "\"\"}", OB_ERR_CONFIG_INVALID, 20, "\"redis.prefix\" must be 1 to" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": "
	  "{\"password_source\": \"tty\"}", OB_ERR_CONFIG_INVALID, 20,
	  "\"redis.password_source\" cannot be tty" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": "
	  "{\"password_source\": \"secret\"}", OB_ERR_CONFIG_INVALID, 20,
	  "\"redis.password_source\" is not a PIN source" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": "
	  "{\"timeout_ms\": 0}", OB_ERR_CONFIG_INVALID, 20,
	  "\"redis.timeout_ms\" must be from 1 to 60000" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": "
	  "{\"wait_replicas\": 17}", OB_ERR_CONFIG_INVALID, 20,
	  "\"redis.wait_replicas\" must be from 0 to 16" },
	{ "\"state.sqlite\"", "\"unix:/r.sock\", \"redis\": "
	  "{\"user\": 7}", OB_ERR_CONFIG_TYPE, 20,
	  "\"redis.user\" must be a string" },
	{ "{\"per_second\": 10}", "{\"per_second\": 10}, \"shared\": true",
	  OB_ERR_CONFIG_INVALID, 29, "\"rate.shared\" needs a Redis state" },
	{ "{\"per_second\": 10}", "{\"per_second\": 10}, \"shared\": 1",
	  OB_ERR_CONFIG_TYPE, 29, "\"rate.shared\" must be a boolean" },
	/* enrol (passkey enrolment) */
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"rp_id\": \"x\", \"origins\": [\"http://x\"]}\n",
	  OB_ERR_CONFIG_INVALID, 31, "enrol.origins" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"rp_id\": \"x\", \"origins\": [\"https://x/p\"]}\n",
	  OB_ERR_CONFIG_INVALID, 31, "enrol.origins" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"rp_id\": \"x\", \"origins\": []}\n",
	  OB_ERR_CONFIG_INVALID, 31, "enrol.origins" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"origins\": [\"https://x\"]}\n",
	  OB_ERR_CONFIG_INVALID, 31, "rp_id" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"rp_id\": \"x\", \"origins\": [\"https://x\"]}\n",
	  OB_ERR_CONFIG_INVALID, 31, "dir" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"rp_id\": \"x\", \"origins\": [\"https://x\"], \"x\": 1}\n",
	  OB_ERR_CONFIG_UNKNOWN, 31, "enrol.x" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"rp_id\": \"x\", \"origins\": [\"https://x\"], \"user_verification\": \"discouraged\"}\n",
	  OB_ERR_CONFIG_INVALID, 31, "user_verification" },
	{ "\"log_level\": \"info\"\n",
	  "\"log_level\": \"info\", \"enrol\": {\"dir\": \"e\", \"rp_id\": \"x\", \"origins\": [\"https://x\"], \"invite_ttl_s\": 10}\n",
	  OB_ERR_CONFIG_INVALID, 31, "invite_ttl_s" },
};

static void
test_bad(void **state)
{
	struct ob_server_config	*c = NULL;
	unsigned long		 line;
	size_t			 i;
	char			*s;
	int			 r;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		s = edit(bads[i].from, bads[i].to);
		line = 0;
		ob_err_clear();
		r = ob_server_config_parse(s, strlen(s), "/d", &c, &line);
		if (r != bads[i].code || line != bads[i].line ||
		    strstr(ob_err_detail(), bads[i].names) == NULL)
			fail_msg("case %zu (%s -> %s): %s at line %lu: %s", i,
			    bads[i].from, bads[i].to, ob_err_name(r), line,
			    ob_err_detail());
		assert_null(c);
		/* The detail points at the same line. */
		{
			char want[32];

			snprintf(want, sizeof(want), "(config):%lu: ", line);
			assert_non_null(strstr(ob_err_detail(), want));
		}
		free(s);
	}
}

/*
 * A Redis state: unix: paths from the configuration's directory, the
 * redis member's values and defaults, shared buckets.  A URI with a
 * password is refused without repeating it.
 */
static void
test_redis_state(void **state)
{
	struct ob_server_config	*c = NULL;
	unsigned long		 line = 0;
	char			*s;

	(void)state;
	s = edit("\"state.sqlite\"", "\"unix:run/redis.sock?db=2\", "
	    "\"redis\": {\"user\": \"ownerbind\", \"password_source\": "
	    "\"file:redis.pass\", \"prefix\": \"ob:eu:\", "
	    "\"timeout_ms\": 250, \"wait_replicas\": 1}");
	assert_int_equal(ob_server_config_parse(s, strlen(s), "/srv/ob", &c,
	    &line), OB_OK);
	assert_true(c->state_redis);
	assert_string_equal(c->state, "unix:/srv/ob/run/redis.sock?db=2");
	assert_string_equal(c->redis.user, "ownerbind");
	assert_string_equal(c->redis.password_source, "file:/srv/ob/redis.pass");
	assert_string_equal(c->redis.prefix, "ob:eu:");
	assert_int_equal(c->redis.connect_timeout_ms, 1000);
	assert_int_equal(c->redis.timeout_ms, 250);
	assert_int_equal(c->redis.wait_replicas, 1);
	assert_int_equal(c->redis.wait_timeout_ms, 100);
	assert_false(c->rate.shared);
	ob_server_config_free(&c);
	free(s);
	s = edit("\"state.sqlite\"", "\"redis://redis.example:6380/1\"");
	assert_int_equal(ob_server_config_parse(s, strlen(s), "/srv/ob", &c,
	    &line), OB_OK);
	assert_string_equal(c->state, "redis://redis.example:6380/1");
	assert_null(c->redis.user);
	assert_null(c->redis.password_source);
	assert_null(c->redis.prefix);
	ob_server_config_free(&c);
	free(s);
	{
		char *t = edit("\"state.sqlite\"", "\"unix:/r.sock\"");

		s = edit_in(t, "{\"per_second\": 10}", "{\"per_second\": 10}, "
		    "\"shared\": true");
		free(t);
	}
	assert_int_equal(ob_server_config_parse(s, strlen(s), "/d", &c, &line),
	    OB_OK);
	assert_true(c->rate.shared);
	ob_server_config_free(&c);
	free(s);
	s = edit("\"state.sqlite\"", "\"redis://ob:hunter2@redis.example\"");
	assert_int_equal(ob_server_config_parse(s, strlen(s), "/d", &c, &line),
	    OB_ERR_CONFIG_INVALID);
	assert_non_null(strstr(ob_err_detail(), "redis.password_source"));
	assert_null(strstr(ob_err_detail(), "hunter2"));
	free(s);
}

static void
test_not_object(void **state)
{
	struct ob_server_config	*c = NULL;
	unsigned long		 line = 0;
	char			*big;

	(void)state;
	assert_int_equal(ob_server_config_parse("[]", 2, "/d", &c, &line),
	    OB_ERR_CONFIG_TYPE);
	assert_int_equal(line, 1);
	assert_int_equal(ob_server_config_parse("\n\n{", 3, "/d", &c, &line),
	    OB_ERR_CONFIG_INVALID);
	assert_int_equal(line, 3);
	/* A good file, made too large by trailing white space. */
	big = calloc(1, OB_CONFIG_MAX_SIZE + 2);
	memset(big, ' ', OB_CONFIG_MAX_SIZE + 1);
	memcpy(big, base, strlen(base));
	assert_int_equal(ob_server_config_parse(big, OB_CONFIG_MAX_SIZE,
	    "/d", &c, &line), OB_OK);
	ob_server_config_free(&c);
	assert_int_equal(ob_server_config_parse(big, OB_CONFIG_MAX_SIZE + 1,
	    "/d", &c, &line), OB_ERR_CONFIG_INVALID);
	assert_non_null(strstr(ob_err_detail(), "larger than"));
	free(big);
	assert_null(c);
}

static void
test_load_file(void **state)
{
	char			 dir[] = "/tmp/ob-config-XXXXXX", path[256];
	char			 want[300], *s;
	struct ob_server_config	*c = NULL;
	unsigned long		 line = 0;
	FILE			*f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/server.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(base, f);
	fclose(f);
	line = 77;
	assert_int_equal(ob_server_config_load(path, &c, &line), OB_OK);
	assert_int_equal(line, 77);	/* untouched on success */
	assert_string_equal(c->path, path);
	snprintf(want, sizeof(want), "%s/tls/server.pem", dir);
	assert_string_equal(c->tls.cert, want);
	ob_server_config_free(&c);
	assert_int_equal(ob_server_config_check_main(path), 0);
	s = edit("\"user\":", "\"usr\":");
	assert_non_null(f = fopen(path, "w"));
	fputs(s, f);
	fclose(f);
	free(s);
	assert_int_equal(ob_server_config_load(path, &c, &line),
	    OB_ERR_CONFIG_UNKNOWN);
	assert_int_equal(line, 30);
	snprintf(want, sizeof(want), "%s:30: \"usr\"", path);
	assert_non_null(strstr(ob_err_detail(), want));
	assert_int_equal(ob_server_config_check_main(path), 1);
	assert_int_equal(unlink(path), 0);
	line = 77;
	assert_int_equal(ob_server_config_load(path, &c, &line), OB_ERR_IO);
	assert_int_equal(line, 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The fuzz corpus's good input is this file's base (kept in step). */
static void
test_corpus_good(void **state)
{
	struct ob_server_config	*c = NULL;
	char			 path[512], *buf;
	const char		*corpus = getenv("OB_CONFIG_CORPUS");
	FILE			*f;
	long			 n;

	(void)state;
	if (corpus == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/good.json", corpus);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_int_equal(ob_server_config_parse(buf, (size_t)n, "/d", &c,
	    NULL), OB_OK);
	ob_server_config_free(&c);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_oid),
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_redis_state),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_corpus_good),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
