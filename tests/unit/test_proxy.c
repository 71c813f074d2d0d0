/*
 * ownerbind-proxy's pieces without the network: its configuration, the
 * caller's identity over a real unix socket pair and the match against
 * agent entries, the credential cache's expiry and keying, and which
 * envelopes and renewals an entry takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/cache.h"
#include "proxy/peer.h"
#include "proxy/proxy_config.h"
#include "proxy/route.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/err.h"

#define CFG_HEAD \
	"{\"socket\":\"p.sock\",\"server\":{\"url\":\"https://127.0.0.1:1\"," \
	"\"ca\":\"ca.pem\",\"cert\":\"c.pem\",\"key\":\"c.key\"},"

static struct ob_proxy_config *
parse_ok(const char *s)
{
	struct ob_proxy_config	*c = NULL;

	if (ob_proxy_config_parse(s, strlen(s), "/etc/ob", &c) != OB_OK)
		fail_msg("%s", ob_err_detail());
	return c;
}

static int
parse_code(const char *s)
{
	struct ob_proxy_config	*c = NULL;
	int			 r;

	r = ob_proxy_config_parse(s, strlen(s), "/etc/ob", &c);
	ob_proxy_config_free(&c);
	return r;
}

static void
test_config(void **state)
{
	struct ob_proxy_config	*c;

	(void)state;
	c = parse_ok(CFG_HEAD "\"agents\":[{\"name\":\"a\",\"ids\":"
	    "[\"wimse://ex.org/a\"],\"uids\":[1000,0],\"model\":"
	    "\"server-mediated\",\"exe\":\"/usr/bin/agent\",\"exe_sha256\":"
	    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}");
	assert_string_equal(c->socket, "/etc/ob/p.sock");
	assert_string_equal(c->server.ca, "/etc/ob/ca.pem");
	assert_int_equal(c->socket_mode, 0666);
	assert_int_equal(c->deadline_ms, 15000);
	assert_int_equal(c->nagents, 1);
	assert_int_equal(c->agents[0].nuids, 2);
	assert_int_equal(c->agents[0].route, OB_ROUTE_SERVER_MEDIATED);
	assert_int_equal(c->agents[0].has_exe_sha256, 1);
	assert_int_equal(c->agents[0].exe_sha256[31], 0xff);
	assert_null(c->gateway.url);
	ob_proxy_config_free(&c);
	assert_null(c);
	/* each check, refused */
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"wimse://ex.org/a\"],\"uids\":[1],\"model\":"
	    "\"owner-mediated\"}]}"), OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"http://ex.org/a\"],\"uids\":[1],\"model\":"
	    "\"agent-mediated\"}]}"), OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"wimse://ex.org/a\"],\"uids\":[],\"model\":"
	    "\"agent-mediated\"}]}"), OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"wimse://ex.org/a\"],\"uids\":[-1],\"model\":"
	    "\"agent-mediated\"}]}"), OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"wimse://ex.org/a\"],\"uids\":[1],\"model\":"
	    "\"agent-mediated\",\"exe_sha256\":\"00\"}]}"),
	    OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"wimse://ex.org/a\"],\"uids\":[1],\"model\":"
	    "\"agent-mediated\",\"group\":1}]}"), OB_ERR_CONFIG_UNKNOWN);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[]}"),
	    OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code("{\"socket\":\"p\",\"server\":{\"url\":"
	    "\"http://x\",\"ca\":\"a\",\"cert\":\"b\",\"key\":\"c\"},"
	    "\"agents\":[]}"), OB_ERR_CONFIG_INVALID);
	assert_int_equal(parse_code(CFG_HEAD "\"agents\":[{\"name\":\"a\","
	    "\"ids\":[\"wimse://ex.org/a\"],\"uids\":[1],\"model\":"
	    "\"agent-mediated\"}],\"deadline_ms\":\"5\"}"), OB_ERR_CONFIG_TYPE);
}

/* This process over a socket pair: its own uid, pid and executable. */
static void
test_peer(void **state)
{
	struct ob_proxy_config	*c;
	struct ob_proxy_peer	 p;
	const struct ob_proxy_agent *a = NULL;
	unsigned char		 md[32];
	char			 self[4096], cfg[8192], hex[65];
	char			*buf;
	FILE			*f;
	size_t			 n, i;
	ssize_t			 k;
	int			 sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ob_proxy_peer_identify(sv[0], &p), OB_OK);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.uid, getuid());
	k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(k > 0);
	self[k] = '\0';
	assert_string_equal(p.exe, self);
	assert_int_equal(p.has_sha256, 1);
	/* the hash is the executable file's */
	assert_non_null(f = fopen(self, "rb"));
	assert_non_null(buf = malloc(64 << 20));
	n = fread(buf, 1, 64 << 20, f);
	fclose(f);
	assert_int_equal(ob_sha256(buf, n, md), OB_OK);
	free(buf);
	assert_memory_equal(md, p.sha256, 32);
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	close(sv[0]);
	close(sv[1]);

	(void)snprintf(cfg, sizeof(cfg), CFG_HEAD "\"agents\":["
	    "{\"name\":\"uid\",\"ids\":[\"wimse://ex.org/u\"],\"uids\":[%u],"
	    "\"model\":\"agent-mediated\"},"
	    "{\"name\":\"otheruid\",\"ids\":[\"wimse://ex.org/o\"],"
	    "\"uids\":[%u],\"model\":\"agent-mediated\"},"
	    "{\"name\":\"exe\",\"ids\":[\"wimse://ex.org/e\"],\"uids\":[%u],"
	    "\"exe\":\"%s\",\"exe_sha256\":\"%s\",\"model\":\"agent-mediated\"},"
	    "{\"name\":\"otherexe\",\"ids\":[\"wimse://ex.org/x\"],"
	    "\"uids\":[%u],\"exe\":\"/bin/true\",\"model\":\"agent-mediated\"},"
	    "{\"name\":\"othersha\",\"ids\":[\"wimse://ex.org/s\"],"
	    "\"uids\":[%u],\"exe_sha256\":\"%064d\",\"model\":\"agent-mediated\"}"
	    "]}", (unsigned)getuid(), (unsigned)getuid() + 1,
	    (unsigned)getuid(), self, hex, (unsigned)getuid(),
	    (unsigned)getuid(), 0);
	c = parse_ok(cfg);
	assert_int_equal(ob_proxy_peer_match(c, &p, "wimse://ex.org/u", &a),
	    OB_OK);
	assert_string_equal(a->name, "uid");
	assert_int_equal(ob_proxy_peer_match(c, &p, "wimse://ex.org/e", &a),
	    OB_OK);
	assert_string_equal(a->name, "exe");
	assert_int_equal(ob_proxy_peer_match(c, &p, "wimse://ex.org/o", &a),
	    OB_ERR_PROXY_PEER_DENIED);
	assert_non_null(strstr(ob_err_detail(), "uid is not listed"));
	assert_int_equal(ob_proxy_peer_match(c, &p, "wimse://ex.org/x", &a),
	    OB_ERR_PROXY_PEER_DENIED);
	assert_non_null(strstr(ob_err_detail(), "executable is not"));
	assert_int_equal(ob_proxy_peer_match(c, &p, "wimse://ex.org/s", &a),
	    OB_ERR_PROXY_PEER_DENIED);
	assert_non_null(strstr(ob_err_detail(), "SHA-256"));
	assert_int_equal(ob_proxy_peer_match(c, &p, "wimse://ex.org/none",
	    &a), OB_ERR_PROXY_PEER_DENIED);
	/* a file, not a socket: the kernel has no peer */
	assert_non_null(f = tmpfile());
	assert_int_equal(ob_proxy_peer_identify(fileno(f), &p),
	    OB_ERR_PROXY_PEER_UNKNOWN);
	fclose(f);
	ob_proxy_config_free(&c);
}

static void
test_cache(void **state)
{
	struct ob_proxy_cache	*c = NULL;
	struct ob_proxy_cred	 cr, got;

	(void)state;
	assert_int_equal(ob_proxy_cache_new(2, &c), OB_OK);
	memset(&cr, 0, sizeof(cr));
	cr.answer = json_pack("{s:s}", "wit", "one");
	cr.expires_at = 100;
	cr.renew_until = 200;
	(void)snprintf(cr.approval, sizeof(cr.approval), "jti-1");
	assert_int_equal(ob_proxy_cache_put(c, "e", "id", "k1", &cr), OB_OK);
	json_decref(cr.answer);
	/* valid before expires_at, not at or after it */
	assert_int_equal(ob_proxy_cache_get(c, "e", "id", "k1", 99, &got),
	    OB_OK);
	assert_string_equal(json_string_value(json_object_get(got.answer,
	    "wit")), "one");
	assert_int_equal(got.renew_until, 200);
	assert_string_equal(got.approval, "jti-1");
	json_decref(got.answer);
	assert_int_equal(ob_proxy_cache_get(c, "e", "id", "k1", 100, &got),
	    OB_ERR_PROXY_NO_CREDENTIAL);
	/* keyed by entry, agent id and agent key */
	assert_int_equal(ob_proxy_cache_get(c, "f", "id", "k1", 0, &got),
	    OB_ERR_PROXY_NO_CREDENTIAL);
	assert_int_equal(ob_proxy_cache_get(c, "e", "id2", "k1", 0, &got),
	    OB_ERR_PROXY_NO_CREDENTIAL);
	assert_int_equal(ob_proxy_cache_get(c, "e", "id", "k2", 0, &got),
	    OB_ERR_PROXY_NO_CREDENTIAL);
	/* a newer credential for another key is the newest for the id */
	cr.answer = json_pack("{s:s}", "wit", "two");
	cr.expires_at = 300;
	assert_int_equal(ob_proxy_cache_put(c, "e", "id", "k2", &cr), OB_OK);
	assert_int_equal(ob_proxy_cache_get(c, "e", "id", NULL, 0, &got),
	    OB_OK);
	assert_string_equal(json_string_value(json_object_get(got.answer,
	    "wit")), "two");
	json_decref(got.answer);
	/* full: the one that expires first makes room */
	assert_int_equal(ob_proxy_cache_put(c, "e", "id3", "k3", &cr), OB_OK);
	json_decref(cr.answer);
	assert_int_equal(ob_proxy_cache_get(c, "e", "id", "k1", 0, &got),
	    OB_ERR_PROXY_NO_CREDENTIAL);
	assert_int_equal(ob_proxy_cache_get(c, "e", "id3", "k3", 0, &got),
	    OB_OK);
	json_decref(got.answer);
	ob_proxy_cache_free(&c);
	assert_null(c);
}

/* An envelope for agent key k: owner-signed, or agent-only; extra
 * claims member = v when member is not NULL. */
static struct ob_envelope *
envelope(EVP_PKEY *k, EVP_PKEY *owner, const char *jti, const char *member,
    const char *v)
{
	struct ob_envelope	*env = NULL;
	json_t			*c = t_claims(k, T_NOW, jti);

	if (member != NULL)
		json_object_set_new(c, member, json_string(v));
	assert_int_equal(ob_envelope_new(c, &env), OB_OK);
	json_decref(c);
	if (owner != NULL)
		t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED,
		    T_NOW, NULL, NULL);
	t_sign(env, k, OB_ROLE_AGENT, owner != NULL ?
	    OB_MODEL_AGENT_MEDIATED : OB_MODEL_SERVER_MEDIATED, T_NOW, NULL,
	    NULL);
	return env;
}

static void
test_route(void **state)
{
	EVP_PKEY		*agent = t_key("P-256"), *other = t_key("P-256");
	EVP_PKEY		*owner = t_key("Ed25519");
	struct ob_proxy_agent	 am, sm;
	char			 amname[] = "am", smname[] = "sm";
	struct ob_proxy_cache	*c = NULL;
	struct ob_proxy_cred	 cr;
	struct ob_envelope	*signed_env, *only, *ren, *ren_other, *ren_own;
	const char		*appr = "approvalaaaaaaaaaaaaaaaa";

	(void)state;
	memset(&am, 0, sizeof(am));
	am.name = amname;
	am.route = OB_ROUTE_AGENT_MEDIATED;
	sm = am;
	sm.name = smname;
	sm.route = OB_ROUTE_SERVER_MEDIATED;
	signed_env = envelope(agent, owner, appr, NULL, NULL);
	only = envelope(agent, NULL, "agentonlyaaaaaaaaaaaaaaa", NULL, NULL);
	ren = envelope(agent, NULL, "renewalaaaaaaaaaaaaaaaaa", "renews", appr);
	ren_other = envelope(other, NULL, "renewalbaaaaaaaaaaaaaaaa", "renews",
	    appr);
	ren_own = envelope(agent, owner, "renewalcaaaaaaaaaaaaaaaa", "renews",
	    appr);
	/* the model decides the envelope's shape */
	assert_int_equal(ob_proxy_route_check(&am, signed_env), OB_OK);
	assert_int_equal(ob_proxy_route_check(&am, only), OB_ERR_PROXY_ROUTE);
	assert_int_equal(ob_proxy_route_check(&sm, only), OB_OK);
	assert_int_equal(ob_proxy_route_check(&sm, signed_env),
	    OB_ERR_PROXY_ROUTE);
	assert_int_equal(ob_proxy_route_check(&sm, ren), OB_ERR_PROXY_ROUTE);

	/* a renewal needs an approval held for the same key, window open */
	assert_int_equal(ob_proxy_cache_new(8, &c), OB_OK);
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren, T_NOW),
	    OB_ERR_PROXY_RENEW);
	memset(&cr, 0, sizeof(cr));
	cr.answer = json_object();
	cr.expires_at = T_NOW + 5;
	cr.renew_until = T_NOW + 20;
	(void)snprintf(cr.approval, sizeof(cr.approval), "%s", appr);
	assert_int_equal(ob_proxy_cache_put(c, "am", T_SUB,
	    signed_env->claims.jkt, &cr), OB_OK);
	/* after the credential expired, still inside the window */
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren, T_NOW + 10),
	    OB_OK);
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren, T_NOW + 20),
	    OB_ERR_PROXY_RENEW);
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren_other, T_NOW),
	    OB_ERR_PROXY_RENEW);
	assert_int_equal(ob_proxy_route_renewal(c, &sm, ren, T_NOW),
	    OB_ERR_PROXY_RENEW);
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren_own, T_NOW),
	    OB_ERR_PROXY_ROUTE);
	assert_int_equal(ob_proxy_route_renewal(c, &am, only, T_NOW),
	    OB_ERR_PROXY_ROUTE);
	/* another approval, or none granted */
	(void)snprintf(cr.approval, sizeof(cr.approval), "another");
	assert_int_equal(ob_proxy_cache_put(c, "am", T_SUB,
	    signed_env->claims.jkt, &cr), OB_OK);
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren, T_NOW),
	    OB_ERR_PROXY_RENEW);
	(void)snprintf(cr.approval, sizeof(cr.approval), "%s", appr);
	cr.renew_until = 0;
	assert_int_equal(ob_proxy_cache_put(c, "am", T_SUB,
	    signed_env->claims.jkt, &cr), OB_OK);
	assert_int_equal(ob_proxy_route_renewal(c, &am, ren, T_NOW),
	    OB_ERR_PROXY_RENEW);
	json_decref(cr.answer);
	ob_proxy_cache_free(&c);
	ob_envelope_free(&signed_env);
	ob_envelope_free(&only);
	ob_envelope_free(&ren);
	ob_envelope_free(&ren_other);
	ob_envelope_free(&ren_own);
	EVP_PKEY_free(agent);
	EVP_PKEY_free(other);
	EVP_PKEY_free(owner);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_peer),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
