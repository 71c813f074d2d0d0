/* The service layer's parsers: Content-Type matching and the peer list,
 * one case per check; the peer table the daemons build, and the
 * service's pool of peers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/obtest.h"
#include "service/svc_parse.h"
#include "service/svc_peer_pool.h"
#include "service/svc_peer_table.h"

static void
test_media_type(void **state)
{
	static const char *const yes[] = { "application/json",
	    "APPLICATION/Json", " application/json ", "application/json;"
	    "charset=utf-8", "application/json ; charset=\"utf-8\"",
	    "application/json;a=\"x\\\"y\";b=c", "application/json;",
	    "application/json; ;a=b;", NULL };
	static const char *const no[] = { "", "application", "application/",
	    "/json", "application/jsonx", "application/jso",
	    "text/plain", "application/json; =x",
	    "application/json; a=", "application/json; a=\"x",
	    "application/json\r\n", "application/json x", "application /json",
	    "application/json; a=\"\x01\"", NULL };
	size_t i;

	(void)state;
	for (i = 0; yes[i] != NULL; i++)
		if (!ob_svc_media_type_is(yes[i], "application/json"))
			fail_msg("\"%s\" should match", yes[i]);
	for (i = 0; no[i] != NULL; i++)
		if (ob_svc_media_type_is(no[i], "application/json"))
			fail_msg("\"%s\" should not match", no[i]);
	assert_false(ob_svc_media_type_is(NULL, "application/json"));
}

static int
parse(const char *s, struct ob_svc_peers **p)
{
	return ob_svc_peers_parse(s, strlen(s), p);
}

static void
test_peers_good(void **state)
{
	struct ob_svc_peers		*p = NULL;
	const struct ob_svc_peer	*v;

	(void)state;
	assert_int_equal(parse("{\"peers\":[{\"id\":\"p1\",\"role\":\"proxy\","
	    "\"san_uri\":\"spiffe://td/p1\"},{\"id\":\"g\",\"role\":\"gateway\","
	    "\"cert_sha256\":\"D258BDA2382CB3EC16595BB26C2E8AEEF52D5A0A614D9BC7"
	    "4C460B634B3C6EF2\"}]}", &p), OB_OK);
	assert_int_equal(ob_svc_peers_count(p), 2);
	v = ob_svc_peers_get(p);
	assert_string_equal(v[0].id, "p1");
	assert_string_equal(v[0].san_uri, "spiffe://td/p1");
	assert_null(v[0].cert_sha256);
	assert_null(v[1].san_uri);
	assert_string_equal(v[1].cert_sha256, "d258bda2382cb3ec16595bb26c2e8ae"
	    "ef52d5a0a614d9bc74c460b634b3c6ef2");
	ob_svc_peers_free(&p);
	assert_null(p);
	ob_svc_peers_free(&p);
}

static void
test_peers_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"peers\":[]}",
		"{\"peers\":{}}",
		"{\"peers\":[1]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"san_uri\":\"u:1\"}],"
		    "\"x\":1}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"san_uri\":\"u:1\","
		    "\"extra\":1}]}",
		"{\"peers\":[{\"role\":\"r\",\"san_uri\":\"u:1\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"san_uri\":\"u:1\"}]}",
		"{\"peers\":[{\"id\":\"\",\"role\":\"r\",\"san_uri\":\"u:1\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\"}]}",
		"{\"peers\":[{\"id\":\"a b\",\"role\":\"r\",\"san_uri\":\"u:1\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\\n\",\"san_uri\":\"u:1\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"san_uri\":\"nocolon\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"san_uri\":1}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"cert_sha256\":\"zz58BDA"
		    "2382CB3EC16595BB26C2E8AEEF52D5A0A614D9BC74C460B634B3C6EF2\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"cert_sha256\":\"d258\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"role\":\"r\",\"san_uri\":\"u:1\"},"
		    "{\"id\":\"a\",\"role\":\"r\",\"san_uri\":\"u:2\"}]}",
		"{\"peers\":[{\"id\":\"a\",\"id\":\"b\",\"role\":\"r\","
		    "\"san_uri\":\"u:1\"}]}",
		NULL };
	struct ob_svc_peers	*p = NULL;
	size_t			 i;
	int			 r;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		r = parse(bad[i], &p);
		if (r != OB_ERR_SVC_PEERS || p != NULL)
			fail_msg("case %zu accepted or wrong code %s: %s", i,
			    ob_err_name(r), bad[i]);
	}
}

/* A pin becomes lowercase hex; no pin stays NULL; the table ends zeroed. */
static void
test_peer_table(void **state)
{
	struct ob_svc_peer_table	 t = OB_SVC_PEER_TABLE_INIT;
	unsigned char			 pin[32];
	size_t				 i;

	(void)state;
	/* Freeing a table never built is safe (the daemons' error paths). */
	ob_svc_peer_table_free(&t);
	for (i = 0; i < sizeof(pin); i++)
		pin[i] = (unsigned char)(0xf0 + (i & 15));
	assert_int_equal(ob_svc_peer_table_new(&t, 2), OB_OK);
	assert_int_equal(t.n, 2);
	ob_svc_peer_table_set(&t, 0, "p1", "proxy", NULL, pin);
	ob_svc_peer_table_set(&t, 1, "g1", "gateway", "spiffe://td/g1", NULL);
	assert_string_equal(t.peer[0].id, "p1");
	assert_string_equal(t.peer[0].role, "proxy");
	assert_null(t.peer[0].san_uri);
	assert_string_equal(t.peer[0].cert_sha256, "f0f1f2f3f4f5f6f7f8f9fafbfc"
	    "fdfefff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	assert_string_equal(t.peer[1].san_uri, "spiffe://td/g1");
	assert_null(t.peer[1].cert_sha256);
	assert_null(t.peer[2].id);
	assert_null(t.peer[2].cert_sha256);
	ob_svc_peer_table_free(&t);
	assert_null(t.peer);
	assert_int_equal(t.n, 0);
	/* An empty configuration still has its zeroed end. */
	assert_int_equal(ob_svc_peer_table_new(&t, 0), OB_OK);
	assert_null(t.peer[0].id);
	ob_svc_peer_table_free(&t);
}

/*
 * The service's peers by content (decision 157): a reload that lists the
 * same peers makes nothing new, and what a request was given outlives
 * every table that held it.
 */
static void
test_peer_pool(void **state)
{
	struct svc_peer_pool	  pool = SVC_PEER_POOL_INIT;
	struct ob_svc_peer	  in[4] = {
		{ "p1", "proxy", NULL, "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"
		    "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF" },
		{ "g1", "gateway", "spiffe://td/g1", NULL },
		{ "g1", "gateway", NULL, NULL },
		{ "p1", "proxy", NULL, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
		    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff" },
	};
	const struct ob_svc_peer **first, **t;
	char			  id[8];
	int			  i;

	(void)state;
	assert_int_equal(svc_peer_pool_table(&pool, in, 4, &first), OB_OK);
	/* Copies, the hash lowered; equal but for the hash's case: one. */
	assert_ptr_not_equal(first[0]->id, in[0].id);
	assert_string_equal(first[0]->cert_sha256, in[3].cert_sha256);
	assert_ptr_equal(first[0], first[3]);
	/* A missing SAN is not an empty one: two entries. */
	assert_ptr_not_equal(first[1], first[2]);
	assert_null(first[2]->san_uri);
	assert_int_equal(pool.n, 3);
	/* A thousand reloads of the same peers: the same entries. */
	for (i = 0; i < 1000; i++) {
		assert_int_equal(svc_peer_pool_table(&pool, in, 3, &t), OB_OK);
		assert_ptr_equal(t[0], first[0]);
		assert_ptr_equal(t[1], first[1]);
		assert_ptr_equal(t[2], first[2]);
		free(t);
	}
	assert_int_equal(pool.n, 3);
	/* A changed field is a new entry; the others are kept. */
	snprintf(id, sizeof(id), "p2");
	in[0].id = id;
	assert_int_equal(svc_peer_pool_table(&pool, in, 2, &t), OB_OK);
	assert_int_equal(pool.n, 4);
	assert_string_equal(t[0]->id, "p2");
	assert_ptr_equal(t[1], first[1]);
	free(t);
	/* The first table is gone; what it pointed at is not (ASan). */
	free(first);
	assert_int_equal(svc_peer_pool_table(&pool, &in[3], 1, &t), OB_OK);
	assert_string_equal(t[0]->id, "p1");
	assert_string_equal(t[0]->role, "proxy");
	assert_int_equal(pool.n, 4);
	free(t);
	/* No peers: an empty table, nothing made. */
	assert_int_equal(svc_peer_pool_table(&pool, in, 0, &t), OB_OK);
	assert_non_null(t);
	free(t);
	svc_peer_pool_free(&pool);
	assert_null(pool.head);
	assert_int_equal(pool.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_peers_good),
		cmocka_unit_test(test_peers_bad),
		cmocka_unit_test(test_peer_table),
		cmocka_unit_test(test_peer_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
