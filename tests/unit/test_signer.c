/*
 * ownerbind-signer's core over a real socketpair (and a real unix socket):
 * the protocol, the three shapes it signs, every refusal (each logged),
 * the rate limit and the peer check.  Keys are file: keys in a temporary
 * directory; the SoftHSM2 case is tests/server/test_signer_p11.sh.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/deconst.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/json.h"
#include "core/jwk.h"
#include "signer/config.h"
#include "signer/proto.h"
#include "signer/signer.h"
#include "tokens/token.h"

static char			 dir[64], cfgpath[128];
static EVP_PKEY			*isskey, *gwkey, *agent;
static X509			*ca;
static char			*iss_kid, *gw_kid;
static FILE			*logfp;
static long			 logoff;
static struct ob_signer_config	*cfg;
static struct ob_signerd	*sd;
static pid_t			 listener;	/* test_listen_peer's */

/* ---- fixtures ---- */

static void
write_file(const char *name, const char *text)
{
	char	 p[256];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	assert_true(fputs(text, f) >= 0);
	fclose(f);
}

static void
write_key(const char *name, EVP_PKEY *k)
{
	char	 p[256];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
}

static int
setup(void **state)
{
	char *pem;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-signer.XXXXXX");
	assert_non_null(mkdtemp(dir));
	isskey = t_key("P-256");
	gwkey = t_key("P-256");
	agent = t_key("P-256");
	iss_kid = t_kid(isskey);
	gw_kid = t_kid(gwkey);
	write_key("iss.pem", isskey);
	write_key("gw.pem", gwkey);
	ca = t_cert(isskey, isskey, NULL, "test issuer CA", 1, time(NULL));
	pem = t_cert_pem(ca);
	write_file("ca.pem", pem);
	free(pem);
	write_file("signer.json", "{\"keys\": ["
	    "{\"name\": \"issuer\", \"uri\": \"file:iss.pem\", \"role\": "
	    "\"issuer\", \"ca\": \"ca.pem\", \"max_lifetime\": 3600},"
	    "{\"name\": \"gw\", \"uri\": \"file:gw.pem\", \"role\": "
	    "\"gateway\", \"gateway_id\": \"gw.example.org\"},"
	    "{\"name\": \"limited\", \"uri\": \"file:iss.pem\", \"role\": "
	    "\"issuer\", \"ca\": \"ca.pem\", \"rate\": {\"per_second\": "
	    "0.001, \"burst\": 2}}]}\n");
	snprintf(cfgpath, sizeof(cfgpath), "%s/signer.json", dir);
	assert_non_null(logfp = tmpfile());
	assert_int_equal(ob_signer_config_load(cfgpath, &cfg), OB_OK);
	assert_int_equal(ob_signerd_new(cfg, logfp, &sd), OB_OK);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	/* A failed test_listen_peer leaves its listener: end it. */
	if (listener > 0) {
		(void)kill(listener, SIGKILL);
		(void)waitpid(listener, NULL, 0);
	}
	ob_signerd_free(&sd);
	ob_signer_config_free(&cfg);
	EVP_PKEY_free(isskey);
	EVP_PKEY_free(gwkey);
	EVP_PKEY_free(agent);
	X509_free(ca);
	free(iss_kid);
	free(gw_kid);
	fclose(logfp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);	/* lint: ok: our mkdtemp */
	return 0;
}

/* The log lines written since the last call, as one string. */
static char *
new_log(void)
{
	long	 end;
	char	*s;

	fflush(logfp);
	end = ftell(logfp);
	assert_true(end >= logoff);
	assert_non_null(s = calloc(1, (size_t)(end - logoff) + 1));
	assert_int_equal(fseek(logfp, logoff, SEEK_SET), 0);
	assert_int_equal(fread(s, 1, (size_t)(end - logoff), logfp),
	    (size_t)(end - logoff));
	assert_int_equal(fseek(logfp, 0, SEEK_END), 0);
	logoff = end;
	return s;
}

/* A line of the new log has event and (when not NULL) code and text. */
static int
logged(const char *event, const char *code, const char *text)
{
	char	*s = new_log(), *line, *save = NULL, ev[64], cd[96];
	int	 found = 0;

	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	snprintf(cd, sizeof(cd), "\"code\":\"%s\"", code != NULL ? code : "");
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, ev) != NULL && (code == NULL ||
		    strstr(line, cd) != NULL) && (text == NULL ||
		    strstr(line, text) != NULL))
			found = 1;
	free(s);
	return found;
}

/* How many lines of the new log have event and text. */
static int
nlogged(const char *event, const char *text)
{
	char	*s = new_log(), *line, *save = NULL, ev[64];
	int	 n = 0;

	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, ev) != NULL && strstr(line, text) != NULL)
			n++;
	free(s);
	return n;
}

/* ---- a connection to the core, over a socketpair ---- */

struct peer {
	int		fd, sfd;
	pthread_t	t;
	uint32_t	id;
	uint8_t		buf[OB_SP_MAX_MSG];
};

static void *
serve_main(void *v)
{
	struct peer *p = v;

	if (ob_signerd_serve(sd, p->sfd, "test") != OB_OK)
		return NULL;
	return NULL;
}

static struct peer *
peer_open(void)
{
	struct peer	*p;
	int		 sv[2];

	assert_non_null(p = calloc(1, sizeof(*p)));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	p->fd = sv[0];
	p->sfd = sv[1];
	assert_int_equal(pthread_create(&p->t, NULL, serve_main, p), 0);
	return p;
}

static void
peer_close(struct peer *p)
{
	shutdown(p->fd, SHUT_RDWR);
	assert_int_equal(pthread_join(p->t, NULL), 0);
	close(p->fd);
	close(p->sfd);
	free(p);
}

static void
send_frame(struct peer *p, const struct ob_wr *w)
{
	assert_int_equal(ob_sp_write_all(p->fd, 5000, ob_wr_ptr(w),
	    ob_wr_len(w)), OB_OK);
}

/* Read the answer to (type, id); the reply borrows p->buf. */
static void
recv_reply(struct peer *p, uint8_t type, uint32_t id, struct ob_sp_reply *rep)
{
	size_t	len;
	int	eof, r;

	/* Generous: a sanitizer build on a loaded machine is slow. */
	if ((r = ob_sp_read_frame(p->fd, 20000, p->buf, sizeof(p->buf), &len,
	    &eof)) != OB_OK)
		print_message("reply to type %u id %u: %s\n", type, id,
		    ob_err_detail());
	assert_int_equal(r, OB_OK);
	assert_int_equal(ob_sp_reply_parse(p->buf, len, OB_SP_VERSION, type,
	    id, rep), OB_OK);
}

/* The helper ended the connection: the next read is the end. */
static void
assert_ended(struct peer *p)
{
	size_t	len;
	int	eof;

	assert_int_equal(ob_sp_read_frame(p->fd, 5000, p->buf, sizeof(p->buf),
	    &len, &eof), OB_ERR_SIGNER_UNAVAILABLE);
	assert_true(eof);
}

static void
hello(struct peer *p)
{
	struct ob_sp_reply	rep;
	struct ob_wr		w;

	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_hello(&w, ++p->id, 1, 1, "test_signer"),
	    OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_HELLO, p->id, &rep);
	assert_int_equal(rep.status, OB_OK);
	assert_int_equal(rep.chosen, 1);
	assert_string_equal(rep.helper, "ownerbind-signer");
}

static int
sign(struct peer *p, const char *key, enum ob_sp_purpose purpose,
    const void *in, size_t n, struct ob_sp_reply *rep)
{
	struct ob_wr w;

	ob_wr_init_heap(&w, OB_SP_MAX_MSG + 4);
	assert_int_equal(ob_sp_put_sign(&w, 1, ++p->id, key, purpose,
	    "req=t1 peer=unit", in, n), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_SIGN, p->id, rep);
	return rep->status;
}

/* ---- inputs ---- */

static char *
b64_json(json_t *j)
{
	char	*s, *b;
	size_t	 n;

	assert_int_equal(ob_json_dump(j, &s, &n), OB_OK);
	assert_int_equal(ob_b64url_encode((unsigned char *)s, n, &b), OB_OK);
	free(s);
	json_decref(j);
	return b;
}

static char *
join(const char *a, const char *b)
{
	size_t	 n = strlen(a) + strlen(b) + 2;
	char	*s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s.%s", a, b);
	return s;
}

/* A WIT signing input as server/issuer.c builds one. */
static char *
wit_input_sub(const char *kid, long long iat, long long exp,
    int extra_header, const char *sub)
{
	json_t	*hdr, *pl, *jwk = NULL;
	char	*h, *c, *s;

	assert_int_equal(ob_jwk_from_pkey(agent, &jwk), OB_OK);
	json_object_set_new(jwk, "alg", json_string("ES256"));
	hdr = json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", kid, "typ",
	    "wit+jwt");
	if (extra_header)
		json_object_set_new(hdr, "jku", json_string("https://x/"));
	pl = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:{s:o}}", "iss",
	    "https://id.example", "sub", sub, "iat", (json_int_t)iat, "exp",
	    (json_int_t)exp, "jti", "AAAAAAAAAAAAAAAAAAAAAA", "sub_profile",
	    "ai_agent", "cnf", "jwk", jwk);
	assert_non_null(hdr);
	assert_non_null(pl);
	h = b64_json(hdr);
	c = b64_json(pl);
	s = join(h, c);
	free(h);
	free(c);
	return s;
}

static char *
wit_input(const char *kid, long long iat, long long exp, int extra_header)
{
	return wit_input_sub(kid, iat, exp, extra_header, T_SUB);
}

struct tbs_opt {
	int		 two_uris;
	int		 ca_true;
	int		 other_issuer;
	int		 sig_nid;	/* 0: ecdsa-with-SHA256 */
	long long	 life;		/* 0: 3600 */
	long long	 start;		/* 0: now */
	int		 ku_certsign;
	int		 dup_san;
	int		 crit_other;
	int		 no_bc;
	int		 v1;
	int		 neg_serial;
	int		 issuer_case;	/* equal to X509_NAME_cmp, not in bytes */
};

static void
add_ext(X509 *x, int nid, const char *v)
{
	X509_EXTENSION	*e;
	X509V3_CTX	 ctx;

	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A WIC TBSCertificate, DER, as server/issuer.c builds one. */
static unsigned char *
tbs_input(const struct tbs_opt *o, size_t *n)
{
	X509		*x = X509_new();
	X509_NAME	*nm = X509_NAME_new();
	X509_ALGOR	*alg;
	unsigned char	*der = NULL, *out;
	long long	 now = o->start != 0 ? o->start : time(NULL);
	int		 len;

	assert_int_equal(X509_set_version(x, o->v1 ? X509_VERSION_1 :
	    X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), o->neg_serial ? -0x4242 :
	    0x4242);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)(o->other_issuer ? "somebody else" :
	    o->issuer_case ? "TEST  Issuer CA" : "test issuer CA"), -1, -1, 0);
	assert_int_equal(X509_set_issuer_name(x, nm), 1);
	X509_NAME_free(nm);
	nm = X509_NAME_new();
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"agent", -1, -1, 0);
	assert_int_equal(X509_set_subject_name(x, nm), 1);
	X509_NAME_free(nm);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)now);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + (o->life != 0 ?
	    o->life : 3600)));
	assert_int_equal(X509_set_pubkey(x, agent), 1);
	if (!o->no_bc)
		add_ext(x, NID_basic_constraints, o->ca_true ?
		    "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, NID_key_usage, o->ku_certsign ?
	    "critical,digitalSignature,keyCertSign" :
	    "critical,digitalSignature");
	add_ext(x, NID_subject_alt_name, o->two_uris ?
	    "URI:" T_SUB ",URI:wimse://td.example/owner" : "URI:" T_SUB);
	if (o->dup_san)
		add_ext(x, NID_subject_alt_name, "URI:" T_SUB);
	{
		/* the owner binding's place: any OID, not critical */
		ASN1_OBJECT		*obj;
		ASN1_OCTET_STRING	*os;
		X509_EXTENSION		*e;
		static const unsigned char v[] = { 0x30, 0x03, 0x02, 0x01,
		    0x07 };

		assert_non_null(obj = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1));
		assert_non_null(os = ASN1_OCTET_STRING_new());
		assert_int_equal(ASN1_OCTET_STRING_set(os, v, sizeof(v)), 1);
		assert_non_null(e = X509_EXTENSION_create_by_OBJ(NULL, obj,
		    o->crit_other, os));
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	/* set before encoding, as server/issuer.c does */
	alg = OB_DECONST(X509_ALGOR *, X509_get0_tbs_sigalg(x));
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(o->sig_nid != 0 ?
	    o->sig_nid : NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL), 1);
	assert_true((len = i2d_re_X509_tbs(x, &der)) > 0);
	assert_non_null(out = malloc((size_t)len));
	memcpy(out, der, (size_t)len);
	*n = (size_t)len;
	OPENSSL_free(der);
	X509_free(x);
	return out;
}

/* A gateway entry's JWS signing input as the gateway will build one. */
static char *
gw_input(enum ob_role role, int with_x5c, const char *kid, long long sat)
{
	struct ob_envelope	*env;
	unsigned char		*der = NULL;
	json_t			*ph = NULL, *x5c = NULL;
	char			*pb64 = NULL, *tbs = NULL, b64[4096];
	size_t			 tbslen;
	int			 n;

	env = t_request(agent, time(NULL), "AAAAAAAAAAAAAAAAAAAAAw");
	if (with_x5c) {
		assert_true((n = i2d_X509(ca, &der)) > 0 && n < 3000);
		EVP_EncodeBlock((unsigned char *)b64, der, n);
		OPENSSL_free(der);
		x5c = json_pack("[s]", b64);
	}
	assert_int_equal(ob_protected_new(OB_ALG_ES256, kid, role,
	    OB_MODEL_OWNER_MEDIATED, sat, NULL, x5c, &ph), OB_OK);
	assert_int_equal(ob_protected_encode(ph, &pb64), OB_OK);
	assert_int_equal(ob_envelope_signing_input(env, pb64, &tbs, &tbslen),
	    OB_OK);
	json_decref(ph);
	json_decref(x5c);
	free(pb64);
	ob_envelope_free(&env);
	return tbs;
}

/*
 * A gateway entry's signing input with one member of its payload
 * (part 1) or protected header (part 0) replaced by val (stolen; NULL:
 * the member removed).  path "cnf.jwk.y" reaches into objects.
 */
static char *
gw_edit(int part, const char *path, json_t *val)
{
	char		*in = gw_input(OB_ROLE_GATEWAY, 1, "gw.example.org",
			    time(NULL)), *dot, *js, *b64, *out, key[64];
	const char	*p = path, *q;
	unsigned char	*raw;
	size_t		 rawlen, jslen, n;
	json_t		*o, *at;

	assert_non_null(dot = strchr(in, '.'));
	assert_int_equal(ob_b64url_decode(part == 0 ? in : dot + 1, part == 0 ?
	    (size_t)(dot - in) : strlen(dot + 1), 65536, &raw, &rawlen),
	    OB_OK);
	assert_int_equal(ob_json_parse_object(raw, rawlen, &o), OB_OK);
	free(raw);
	for (at = o; (q = strchr(p, '.')) != NULL; p = q + 1) {
		snprintf(key, sizeof(key), "%.*s", (int)(q - p), p);
		assert_non_null(at = json_object_get(at, key));
	}
	if (val != NULL)
		assert_int_equal(json_object_set_new(at, p, val), 0);
	else
		assert_int_equal(json_object_del(at, p), 0);
	assert_int_equal(ob_json_dump(o, &js, &jslen), OB_OK);
	json_decref(o);
	assert_int_equal(ob_b64url_encode((unsigned char *)js, jslen, &b64),
	    OB_OK);
	free(js);
	*dot = '\0';
	n = strlen(in) + strlen(dot + 1) + strlen(b64) + 2;
	assert_non_null(out = malloc(n));
	if (part == 0)
		snprintf(out, n, "%s.%s", b64, dot + 1);
	else
		snprintf(out, n, "%s.%s", in, b64);
	free(b64);
	free(in);
	return out;
}

/* ---- tests ---- */

static void
test_hello_pubkey(void **state)
{
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	struct ob_wr		 w;
	const unsigned char	*q;
	EVP_PKEY		*k;

	(void)state;
	hello(p);
	assert_true(logged("hello", NULL, "test_signer"));
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_pubkey(&w, 1, ++p->id, "issuer"), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_PUBKEY, p->id, &rep);
	assert_int_equal(rep.status, OB_OK);
	assert_string_equal(rep.alg, "ES256");
	assert_string_equal(rep.kind, "software");
	assert_string_equal(rep.kid, iss_kid);
	assert_int_equal(rep.purposes, OB_SP_BIT(OB_SP_WIT) |
	    OB_SP_BIT(OB_SP_WIC_TBS));
	q = rep.spki;
	assert_non_null(k = d2i_PUBKEY(NULL, &q, (long)rep.spkilen));
	assert_true(ob_pkey_equal(k, isskey));
	EVP_PKEY_free(k);
	/* An unknown key is a status, not the end of the connection. */
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_pubkey(&w, 1, ++p->id, "nosuch"), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_PUBKEY, p->id, &rep);
	assert_int_equal(rep.status, OB_ERR_SIGNER_KEY);
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_health(&w, 1, ++p->id), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_HEALTH, p->id, &rep);
	assert_int_equal(rep.status, OB_OK);
	assert_int_equal(rep.nkeys, 3);
	peer_close(p);
}

static void
test_sign_each_purpose(void **state)
{
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	struct tbs_opt		 o;
	unsigned char		*tbs;
	char			*in;
	size_t			 n;
	long long		 now = time(NULL);

	(void)state;
	hello(p);
	in = wit_input(iss_kid, now, now + 3600, 0);
	assert_int_equal(sign(p, "issuer", OB_SP_WIT, in, strlen(in), &rep),
	    OB_OK);
	assert_int_equal(ob_sig_verify(OB_ALG_ES256, isskey,
	    (unsigned char *)in, strlen(in), rep.sig, rep.siglen), OB_OK);
	assert_true(logged("sign", NULL, "\"signed\":\"sub=" T_SUB));
	free(in);

	memset(&o, 0, sizeof(o));
	tbs = tbs_input(&o, &n);
	assert_int_equal(sign(p, "issuer", OB_SP_WIC_TBS, tbs, n, &rep),
	    OB_OK);
	assert_int_equal(ob_sig_verify(OB_ALG_ES256, isskey, tbs, n, rep.sig,
	    rep.siglen), OB_OK);
	assert_true(logged("sign", NULL, "serial=4242 uri=" T_SUB));
	free(tbs);

	in = gw_input(OB_ROLE_GATEWAY, 1, "gw.example.org", now);
	assert_int_equal(sign(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    &rep), OB_OK);
	assert_int_equal(ob_sig_verify(OB_ALG_ES256, gwkey,
	    (unsigned char *)in, strlen(in), rep.sig, rep.siglen), OB_OK);
	assert_true(logged("sign", NULL, "\"for\":\"req=t1 peer=unit\""));
	free(in);
	peer_close(p);
}

/* A refusal: the code, a "refuse" line with it, the connection open. */
static void
refused(struct peer *p, const char *key, enum ob_sp_purpose purpose,
    const void *in, size_t n, int code, const char *why)
{
	struct ob_sp_reply rep;

	assert_int_equal(sign(p, key, purpose, in, n, &rep), code);
	print_message("refusal: %s: %s\n", why, rep.detail);
	assert_true(rep.detail[0] != '\0');
	assert_true(logged("refuse", ob_err_name(code), NULL));
}

/*
 * Gateway entries whose header or claims the server's reader refuses
 * (the shape check reads them with core/envelope.c's pieces, not the
 * whole reader: each refusal here is one that must still hold).
 */
static void
gw_wrong_claims(struct peer *p)
{
	static const struct {
		int		 part;
		const char	*path, *val;	/* JSON; NULL: removed */
		const char	*why;
	} c[] = {
		{ 1, "cnf.jwk.y", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
		  "cnf.jwk a point off the curve" },
		{ 1, "cnf.jwk.x", "\"AAAA\"", "cnf.jwk x too short" },
		{ 1, "cnf.jwk.crv", "\"P-521\"", "cnf.jwk another curve" },
		{ 1, "cnf.jwk.d", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
		  "cnf.jwk a private key" },
		{ 1, "cnf.jwk", NULL, "cnf without jwk" },
		{ 1, "jti", "\"short\"", "a jti of 5 bytes" },
		{ 1, "sub", "\"not a sub\"", "a sub that is no WIMSE URI" },
		{ 1, "extra", "1", "an unknown claim" },
		{ 1, "exp", "\"soon\"", "exp not an integer" },
		{ 0, "ob_iat", NULL, "no ob_iat" },
		{ 0, "extra", "1", "an unknown header parameter" },
		{ 0, "typ", "\"JWT\"", "another typ" },
		{ 0, "b64", "false", "b64 present" },
		{ 0, "x5c", "[\"!!\"]", "x5c not base64" },
	};
	struct ob_sp_reply rep;
	json_error_t	 e;
	json_t		*v;
	char		*in, *z;
	size_t		 i, n;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = NULL;
		if (c[i].val != NULL)
			assert_non_null(v = json_loads(c[i].val,
			    JSON_DECODE_ANY, &e));
		in = gw_edit(c[i].part, c[i].path, v);
		refused(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
		    OB_ERR_SIGNER_SHAPE, c[i].why);
		free(in);
	}
	/* An edit the reader accepts passes: the edits above are what
	 * fails, not gw_edit. */
	in = gw_edit(1, "dns_name", json_string("agent.example.org"));
	assert_int_equal(sign(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    &rep), OB_OK);
	assert_true(logged("sign", NULL, NULL));
	free(in);
	/* A NUL inside the protected header, and inside the payload. */
	in = gw_input(OB_ROLE_GATEWAY, 1, "gw.example.org", time(NULL));
	n = strlen(in);
	assert_non_null(z = malloc(n + 1));
	memcpy(z, in, n + 1);
	z[3] = '\0';
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, z, n, OB_ERR_SIGNER_SHAPE,
	    "a NUL in the protected header");
	memcpy(z, in, n + 1);
	z[n - 3] = '\0';
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, z, n, OB_ERR_SIGNER_SHAPE,
	    "a NUL in the payload");
	free(z);
	free(in);
}

static void
test_refusals(void **state)
{
	struct peer	*p = peer_open();
	struct tbs_opt	 o;
	unsigned char	 rnd[300], *tbs, *t2;
	char		*in;
	size_t		 n;
	long long	 now = time(NULL);

	(void)state;
	hello(p);
	/* AC4: a WIT to the gateway key, as a WIT and as a gateway entry. */
	in = wit_input(iss_kid, now, now + 600, 0);
	refused(p, "gw", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_PURPOSE,
	    "a WIT for the gateway key");
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    OB_ERR_SIGNER_SHAPE, "a WIT as a gateway entry");
	refused(p, "issuer", OB_SP_WIC_TBS, in, strlen(in),
	    OB_ERR_SIGNER_SHAPE, "a WIT as a TBSCertificate");
	refused(p, "nosuch", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_KEY,
	    "an unknown key");
	free(in);
	/* Random bytes for every purpose. */
	assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
	refused(p, "issuer", OB_SP_WIT, rnd, sizeof(rnd), OB_ERR_SIGNER_SHAPE,
	    "random bytes as a WIT");
	refused(p, "issuer", OB_SP_WIC_TBS, rnd, sizeof(rnd),
	    OB_ERR_SIGNER_SHAPE, "random bytes as a TBSCertificate");
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, rnd, sizeof(rnd),
	    OB_ERR_SIGNER_SHAPE, "random bytes as a gateway entry");
	/* WITs of the wrong shape or time. */
	in = wit_input(iss_kid, now, now + 3601, 0);
	refused(p, "issuer", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_LIFETIME,
	    "exp - iat over max_lifetime");
	free(in);
	in = wit_input(iss_kid, now + 3600, now + 4000, 0);
	refused(p, "issuer", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_LIFETIME,
	    "iat an hour from now");
	free(in);
	in = wit_input(iss_kid, now, now, 0);
	refused(p, "issuer", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_LIFETIME,
	    "exp not after iat");
	free(in);
	in = wit_input(gw_kid, now, now + 60, 0);
	refused(p, "issuer", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_SHAPE,
	    "another key's kid");
	free(in);
	in = wit_input(iss_kid, now, now + 60, 1);
	refused(p, "issuer", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_SHAPE,
	    "a jku in the header");
	free(in);
	in = wit_input(iss_kid, now, now + 60, 0);
	in[strlen(in) - 2] = '.';
	refused(p, "issuer", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_SHAPE,
	    "three parts");
	free(in);
	/* TBSCertificates of the wrong shape. */
	memset(&o, 0, sizeof(o));
	o.two_uris = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "two URI SANs");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.ca_true = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "CA:TRUE");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.other_issuer = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "another issuer name");
	free(tbs);
	/* The issuer is compared byte for byte: a name X509_NAME_cmp calls
	 * equal (case and spaces folded) is another name here. */
	memset(&o, 0, sizeof(o));
	o.issuer_case = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "the issuer name in other case and spacing");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.ku_certsign = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "keyUsage keyCertSign");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.dup_san = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "two subjectAltName extensions");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.crit_other = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "a critical extension of an unknown OID");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.no_bc = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "no basicConstraints");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.v1 = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "a v1 TBSCertificate");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.neg_serial = 1;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "a negative serial number");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.sig_nid = NID_ecdsa_with_SHA384;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "a signature algorithm the key does not use");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.life = 3601;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_LIFETIME,
	    "validity over max_lifetime");
	free(tbs);
	memset(&o, 0, sizeof(o));
	o.start = now - 3000;
	tbs = tbs_input(&o, &n);
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_LIFETIME,
	    "notBefore 50 minutes ago");
	free(tbs);
	memset(&o, 0, sizeof(o));
	tbs = tbs_input(&o, &n);
	assert_non_null(t2 = realloc(tbs, n + 1));
	tbs = t2;
	tbs[n] = 0;
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n + 1, OB_ERR_SIGNER_SHAPE,
	    "a byte after the TBSCertificate");
	tbs[1]++;
	refused(p, "issuer", OB_SP_WIC_TBS, tbs, n, OB_ERR_SIGNER_SHAPE,
	    "a length that is not the input's");
	free(tbs);
	/* Every proper prefix of a good TBSCertificate, with its outer
	 * length fixed up to the prefix, is refused: the walk never reads
	 * past what it was given. */
	memset(&o, 0, sizeof(o));
	tbs = tbs_input(&o, &n);
	{
		struct ob_sp_reply	 rep;
		uint8_t			 b[4096];
		size_t			 i;

		assert_true(n <= sizeof(b) && tbs[1] == 0x82);
		for (i = 4; i < n; i++) {
			memcpy(b, tbs, i);
			b[2] = (uint8_t)((i - 4) >> 8);
			b[3] = (uint8_t)(i - 4);
			assert_int_equal(sign(p, "issuer", OB_SP_WIC_TBS, b, i,
			    &rep), OB_ERR_SIGNER_SHAPE);
		}
	}
	free(tbs);
	/* BER that OpenSSL reads: the inner AlgorithmIdentifier's length in
	 * long form.  Only DER is signed. */
	memset(&o, 0, sizeof(o));
	tbs = tbs_input(&o, &n);
	{
		static const uint8_t alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
		    0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
		uint8_t	*b = malloc(n + 1), *at;
		size_t	 off, len;

		assert_non_null(b);
		assert_int_equal(tbs[0], 0x30);
		assert_int_equal(tbs[1], 0x82);
		assert_non_null(at = memmem(tbs, n, alg, sizeof(alg)));
		off = (size_t)(at - tbs);
		memcpy(b, tbs, off + 1);
		b[off + 1] = 0x81;
		memcpy(b + off + 2, at + 1, n - off - 1);
		len = ((size_t)tbs[2] << 8 | tbs[3]) + 1;
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
		refused(p, "issuer", OB_SP_WIC_TBS, b, n + 1,
		    OB_ERR_SIGNER_SHAPE, "a BER length inside");
		free(b);
	}
	free(tbs);
	/* Gateway entries of the wrong shape. */
	in = gw_input(OB_ROLE_GATEWAY, 0, "gw.example.org", now);
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    OB_ERR_SIGNER_SHAPE, "a gateway entry without x5c");
	free(in);
	in = gw_input(OB_ROLE_OWNER, 0, gw_kid, now);
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    OB_ERR_SIGNER_SHAPE, "an owner entry");
	free(in);
	in = gw_input(OB_ROLE_GATEWAY, 1, "gw.other.org", now);
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    OB_ERR_SIGNER_SHAPE, "another gateway id");
	free(in);
	in = gw_input(OB_ROLE_GATEWAY, 1, "gw.example.org", now - 3600);
	refused(p, "gw", OB_SP_GATEWAY_ENTRY, in, strlen(in),
	    OB_ERR_SIGNER_LIFETIME, "an entry signed an hour ago");
	free(in);
	gw_wrong_claims(p);
	peer_close(p);
}

/* The last "sign" line of the new log, parsed (the line must be JSON). */
static json_t *
last_sign_line(void)
{
	char		*s = new_log(), *line, *save = NULL, *last = NULL;
	json_error_t	 e;
	json_t		*o;

	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "\"event\":\"sign\"") != NULL)
			last = line;
	assert_non_null(last);
	if ((o = json_loads(last, 0, &e)) == NULL)
		print_message("not JSON: %s: %s\n", e.text, last);
	assert_non_null(o);
	free(s);
	return o;
}

/*
 * A sign line is formatted without jansson: it must be the JSON jansson
 * would write, members in order, strings escaped, and a member that is
 * not UTF-8 (a sub cut inside a character) left out as before.
 */
static void
test_log_lines(void **state)
{
	static const char *const order[] = { "ts", "level", "svc", "event",
	    "key", "purpose", "for", "client", "peer", "sha256", "bytes",
	    "signed", NULL };
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	const char		*k, *sub = "wimse://td.example/a\"b\\c\n\t\x01"
				    "\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/d";
	char			*in, want[512], longsub[256];
	json_t			*o, *v;
	size_t			 i = 0;
	long long		 now = time(NULL);

	(void)state;
	hello(p);
	in = wit_input_sub(iss_kid, now, now + 600, 0, sub);
	assert_int_equal(sign(p, "issuer", OB_SP_WIT, in, strlen(in), &rep),
	    OB_OK);
	o = last_sign_line();
	json_object_foreach(o, k, v) {
		assert_non_null(order[i]);
		assert_string_equal(k, order[i]);
		i++;
	}
	assert_null(order[i]);
	snprintf(want, sizeof(want), "sub=%s jti=AAAAAAAAAAAAAAAAAAAAAA", sub);
	assert_string_equal(json_string_value(json_object_get(o, "signed")),
	    want);
	assert_string_equal(json_string_value(json_object_get(o, "for")),
	    "req=t1 peer=unit");
	assert_int_equal(json_integer_value(json_object_get(o, "bytes")),
	    strlen(in));
	assert_string_equal(json_string_value(json_object_get(o, "level")),
	    "info");
	assert_int_equal(strlen(json_string_value(json_object_get(o,
	    "sha256"))), 64);
	json_decref(o);
	free(in);
	/* 199 bytes, then e-acute: %.200s cuts inside the character. */
	snprintf(longsub, sizeof(longsub), "wimse://td.example/%0180d\xc3\xa9",
	    0);
	in = wit_input_sub(iss_kid, now, now + 600, 0, longsub);
	assert_int_equal(sign(p, "issuer", OB_SP_WIT, in, strlen(in), &rep),
	    OB_OK);
	o = last_sign_line();
	assert_null(json_object_get(o, "signed"));
	assert_non_null(json_object_get(o, "sha256"));
	json_decref(o);
	free(in);
	peer_close(p);
}

static void
test_rate(void **state)
{
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	char			*in;
	long long		 now = time(NULL);

	(void)state;
	hello(p);
	in = wit_input(iss_kid, now, now + 60, 0);
	assert_int_equal(sign(p, "limited", OB_SP_WIT, in, strlen(in), &rep),
	    OB_OK);
	/* A refusal of shape takes no token. */
	assert_int_equal(sign(p, "limited", OB_SP_WIT, "x.y", 3, &rep),
	    OB_ERR_SIGNER_SHAPE);
	assert_int_equal(sign(p, "limited", OB_SP_WIT, in, strlen(in), &rep),
	    OB_OK);
	refused(p, "limited", OB_SP_WIT, in, strlen(in), OB_ERR_SIGNER_RATE,
	    "the third signature of a burst of two");
	/* Another key has its own bucket. */
	assert_int_equal(sign(p, "issuer", OB_SP_WIT, in, strlen(in), &rep),
	    OB_OK);
	free(in);
	peer_close(p);
}

/* Send raw frame bytes; expect one ERROR with code, then the end. */
static void
protocol_error(const uint8_t *frame, size_t n, int greet, int code,
    const char *why)
{
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	struct ob_rd		 rd;
	uint32_t		 id;
	size_t			 len;
	int			 eof;

	print_message("protocol: %s\n", why);
	if (greet)
		hello(p);
	assert_int_equal(ob_sp_write_all(p->fd, 5000, frame, n), OB_OK);
	assert_int_equal(ob_sp_read_frame(p->fd, 5000, p->buf, sizeof(p->buf),
	    &len, &eof), OB_OK);
	/* An ERROR parses as the answer to any request: take its id. */
	ob_rd_init(&rd, p->buf, len);
	assert_int_equal(ob_rd_skip(&rd, 2), OB_OK);
	assert_int_equal(ob_rd_u32(&rd, &id), OB_OK);
	assert_int_equal(ob_sp_reply_parse(p->buf, len, OB_SP_VERSION,
	    OB_SP_PUBKEY, id, &rep), OB_OK);
	assert_int_equal(rep.type, OB_SP_ERROR);
	assert_int_equal(rep.status, code);
	assert_ended(p);
	assert_true(logged("protocol", ob_err_name(code), NULL));
	peer_close(p);
}

/*
 * Requests pipelined on one connection: HELLO and then several SIGNs,
 * a PUBKEY and a HEALTH in one write.  HELLO is answered before the rest
 * is looked at (so they are not "before HELLO"); the rest may be answered
 * in any order, each reply carrying its request's id, exactly once.
 */
#define NPIPE	8

static void
test_pipelined(void **state)
{
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	struct ob_rd		 rd;
	struct ob_wr		 w;
	uint32_t		 id;
	size_t			 len;
	long long		 now = time(NULL);
	char			*in[2];
	int			 seen[NPIPE + 1], i, eof;
	uint8_t			 type;

	(void)state;
	in[0] = wit_input(iss_kid, now, now + 3600, 0);
	in[1] = gw_input(OB_ROLE_GATEWAY, 1, "gw.example.org", now);
	ob_wr_init_heap(&w, 8 * (OB_SP_MAX_MSG + 4));
	assert_int_equal(ob_sp_put_hello(&w, 1, 1, 1, "test_signer"), OB_OK);
	/* ids 2..NPIPE: SIGNs (wit, gateway entry, and one refused), then a
	 * PUBKEY and a HEALTH. */
	for (i = 2; i <= NPIPE - 2; i++) {
		if (i % 3 == 2)
			assert_int_equal(ob_sp_put_sign(&w, 1, (uint32_t)i,
			    "issuer", OB_SP_WIT, "pipe", (uint8_t *)in[0],
			    strlen(in[0])), OB_OK);
		else if (i % 3 == 0)
			assert_int_equal(ob_sp_put_sign(&w, 1, (uint32_t)i,
			    "gw", OB_SP_GATEWAY_ENTRY, "pipe", (uint8_t *)in[1],
			    strlen(in[1])), OB_OK);
		else
			assert_int_equal(ob_sp_put_sign(&w, 1, (uint32_t)i,
			    "gw", OB_SP_WIT, "pipe", (uint8_t *)in[0],
			    strlen(in[0])),
			    OB_OK);
	}
	assert_int_equal(ob_sp_put_pubkey(&w, 1, NPIPE - 1, "issuer"), OB_OK);
	assert_int_equal(ob_sp_put_health(&w, 1, NPIPE), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_HELLO, 1, &rep);
	assert_int_equal(rep.status, OB_OK);
	memset(seen, 0, sizeof(seen));
	for (i = 2; i <= NPIPE; i++) {
		assert_int_equal(ob_sp_read_frame(p->fd, 5000, p->buf,
		    sizeof(p->buf), &len, &eof), OB_OK);
		ob_rd_init(&rd, p->buf, len);
		assert_int_equal(ob_rd_skip(&rd, 2), OB_OK);
		assert_int_equal(ob_rd_u32(&rd, &id), OB_OK);
		assert_true(id >= 2 && id <= NPIPE);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		type = id == NPIPE ? OB_SP_HEALTH : id == NPIPE - 1 ?
		    OB_SP_PUBKEY : OB_SP_SIGN;
		assert_int_equal(ob_sp_reply_parse(p->buf, len, OB_SP_VERSION,
		    type, id, &rep), OB_OK);
		if (type != OB_SP_SIGN) {
			assert_int_equal(rep.status, OB_OK);
			continue;
		}
		if (id % 3 == 1) {
			assert_int_equal(rep.status, OB_ERR_SIGNER_PURPOSE);
			continue;
		}
		assert_int_equal(rep.status, OB_OK);
		assert_int_equal(ob_sig_verify(OB_ALG_ES256, id % 3 == 2 ?
		    isskey : gwkey, (unsigned char *)in[id % 3 == 2 ? 0 : 1],
		    strlen(in[id % 3 == 2 ? 0 : 1]), rep.sig, rep.siglen),
		    OB_OK);
	}
	/* Every signature read had its line on the log before its reply
	 * left (lines are written per batch, before the batch's replies):
	 * four signed, one refused. */
	assert_int_equal(nlogged("sign", "\"for\":\"pipe\""), 4);
	/* Nothing more: each request had one reply. */
	assert_int_equal(ob_sp_read_frame(p->fd, 300, p->buf, sizeof(p->buf),
	    &len, &eof), OB_ERR_SIGNER_UNAVAILABLE);
	assert_false(eof);
	/* A bad frame behind a good one: the good one is answered, so is
	 * the bad one (an ERROR), in either order (the SIGN may still be
	 * signing when the ERROR goes), then the end. */
	ob_wr_init_heap(&w, 4 * (OB_SP_MAX_MSG + 4));
	assert_int_equal(ob_sp_put_sign(&w, 1, 100, "issuer", OB_SP_WIT,
	    "pipe", (uint8_t *)in[0],
			    strlen(in[0])), OB_OK);
	assert_int_equal(ob_sp_put_pubkey(&w, 2, 101, "issuer"), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 2; i++) {
		assert_int_equal(ob_sp_read_frame(p->fd, 20000, p->buf,
		    sizeof(p->buf), &len, &eof), OB_OK);
		ob_rd_init(&rd, p->buf, len);
		assert_int_equal(ob_rd_skip(&rd, 2), OB_OK);
		assert_int_equal(ob_rd_u32(&rd, &id), OB_OK);
		assert_true(id == 100 || id == 101);
		assert_int_equal(seen[id - 100], 0);
		seen[id - 100] = 1;
		assert_int_equal(ob_sp_reply_parse(p->buf, len, OB_SP_VERSION,
		    id == 100 ? OB_SP_SIGN : OB_SP_PUBKEY, id, &rep), OB_OK);
		if (id == 100) {
			assert_int_equal(rep.type, OB_SP_SIGN | OB_SP_REPLY);
			assert_int_equal(rep.status, OB_OK);
		} else {
			assert_int_equal(rep.type, OB_SP_ERROR);
			assert_int_equal(rep.status, OB_ERR_SIGNER_VERSION);
		}
	}
	assert_ended(p);
	free(in[0]);
	free(in[1]);
	peer_close(p);
}

static void
test_protocol_errors(void **state)
{
	struct ob_wr	w;
	uint8_t		f[64];
	size_t		n;

	(void)state;
	/* Trailing bytes: a PUBKEY with one byte more than its fields. */
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_pubkey(&w, 1, 7, "issuer"), OB_OK);
	n = ob_wr_len(&w);
	memcpy(f, ob_wr_ptr(&w), n);
	ob_wr_free(&w);
	f[n] = 0;
	f[3]++;
	protocol_error(f, n + 1, 1, OB_ERR_TRAILING, "a trailing byte");
	/* An unknown version in the header. */
	f[3]--;
	f[4] = 2;
	protocol_error(f, n, 1, OB_ERR_SIGNER_VERSION, "version 2");
	/* An unknown message type. */
	f[4] = 1;
	f[5] = 0x09;
	protocol_error(f, n, 1, OB_ERR_SIGNER_PROTOCOL, "type 0x09");
	/* Anything before HELLO, and a second HELLO. */
	f[5] = OB_SP_PUBKEY;
	protocol_error(f, n, 0, OB_ERR_SIGNER_PROTOCOL, "PUBKEY first");
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_hello(&w, 9, 1, 1, "again"), OB_OK);
	protocol_error(ob_wr_ptr(&w), ob_wr_len(&w), 1,
	    OB_ERR_SIGNER_PROTOCOL, "a second HELLO");
	ob_wr_free(&w);
	/* A field over its maximum, and one longer than the message. */
	f[10] = 200;
	protocol_error(f, n, 1, OB_ERR_FIELD_TOO_LONG, "a 200-byte name");
	f[10] = 63;
	protocol_error(f, n, 1, OB_ERR_TRUNCATED, "a name longer than the "
	    "message");
	/* A frame over the maximum: refused before its body is read. */
	memcpy(f, "\x00\x01\x10\x01", 4);
	protocol_error(f, 4, 1, OB_ERR_SIGNER_PROTOCOL, "a 69633-byte frame");
}

static void
test_hello_versions(void **state)
{
	struct peer		*p = peer_open();
	struct ob_sp_reply	 rep;
	struct ob_wr		 w;

	(void)state;
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_hello(&w, 1, 2, 3, "future"), OB_OK);
	send_frame(p, &w);
	ob_wr_free(&w);
	recv_reply(p, OB_SP_HELLO, 1, &rep);
	assert_int_equal(rep.status, OB_ERR_SIGNER_VERSION);
	assert_ended(p);
	assert_true(logged("hello", "OB_ERR_SIGNER_VERSION", NULL));
	peer_close(p);
}

/* --listen: mode 0600, and a peer of another uid refused by SO_PEERCRED. */
static void
test_listen_peer(void **state)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	struct peer		*p;
	char			 path[128];
	pid_t			 srv, cl;
	int			 i, status;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: the other uid needs root\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/signer.sock", dir);
	assert_int_equal(chmod(dir, 0711), 0);	/* the other uid's way in */
	if ((srv = fork()) == 0)
		_exit(ob_signerd_listen(sd, cfg, path) == OB_OK ? 0 : 1);
	assert_true(srv > 0);
	listener = srv;
	for (i = 0; i < 200 && stat(path, &st) != 0; i++)
		usleep(10000);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Our own uid may connect. */
	assert_non_null(p = calloc(1, sizeof(*p)));
	assert_true((p->fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)),
	    0);
	hello(p);
	close(p->fd);
	/* Open the file mode so that only the uid check stands. */
	assert_int_equal(chmod(path, 0666), 0);
	if ((cl = fork()) == 0) {
		struct ob_sp_reply	rep;
		size_t			len;
		int			eof, fd;

		if (setgid(65534) != 0 || setuid(65534) != 0 ||
		    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    ob_sp_read_frame(fd, 5000, p->buf, sizeof(p->buf), &len,
		    &eof) != OB_OK || ob_sp_reply_parse(p->buf, len, 1,
		    OB_SP_HELLO, 0, &rep) != OB_OK)
			_exit(2);
		_exit(rep.type == OB_SP_ERROR && rep.status ==
		    OB_ERR_SIGNER_PEER ? 0 : 3);
	}
	assert_int_equal(waitpid(cl, &status, 0), cl);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(logged("refuse", "OB_ERR_SIGNER_PEER", "uid 65534"));
	free(p);
	assert_int_equal(kill(srv, SIGTERM), 0);
	assert_int_equal(waitpid(srv, &status, 0), srv);
	listener = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_not_equal(stat(path, &st), 0);	/* removed */
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char	*json;
		const char	*detail;
	} bad[] = {
		{ "{\"keys\": []}", "\"keys\" must be" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"issuer\"}]}", "\"keys[0].ca\" is required" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"gateway\", \"pin\": \"1234\"}]}", "give pin_source" },
		{ "{\"keys\": [{\"name\": \"a b\", \"uri\": \"file:x\", "
		  "\"role\": \"gateway\"}]}", "\"keys[0].name\"" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"fido2:pub=x\", "
		  "\"role\": \"gateway\"}]}", "\"keys[0].uri\"" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"gateway\", \"ca\": \"c.pem\"}]}", "for issuer keys only" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"gateway\"}, {\"name\": \"a\", \"uri\": \"file:y\", "
		  "\"role\": \"gateway\"}]}", "repeats keys[0]" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"gateway\", \"max_lifetime\": 86401}]}", "max_lifetime" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"gateway\"}], \"allow_users\": [\"no-such-user-here\"]}",
		  "allow_users" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": "
		  "\"gateway\"}], \"keys\": []}", "not JSON" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": \"gateway\", \"verify_every\": 0}]}",
		  "\"keys[0].verify_every\" must be an integer from 1 to 1024" },
		{ "{\"keys\": [{\"name\": \"a\", \"uri\": \"file:x\", "
		  "\"role\": \"gateway\", \"verify_every\": 1025}]}",
		  "verify_every" },
	};
	struct ob_signer_config	*c = NULL;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("config %zu\n", i);
		assert_int_equal(ob_signer_config_parse(bad[i].json,
		    strlen(bad[i].json), "/", &c), OB_ERR_SIGNER_CONFIG);
		assert_non_null(strstr(ob_err_detail(), bad[i].detail));
		assert_null(c);
	}
}

/*
 * verify_every: an ECDSA key may check one signature in N (its
 * signatures still verify); an EdDSA key may not skip a check, since a
 * faulty deterministic signature can give the key away.
 */
static void
test_verify_every(void **state)
{
	struct ob_signer_config	*c = NULL;
	struct ob_signerd	*d = NULL;
	EVP_PKEY		*ed = t_key("Ed25519");
	char			 json[512];
	int			 i;

	(void)state;
	write_key("ed.pem", ed);
	snprintf(json, sizeof(json), "{\"keys\": [{\"name\": \"gw\", "
	    "\"uri\": \"file:%s/ed.pem\", \"role\": \"gateway\", "
	    "\"verify_every\": 2}]}", dir);
	assert_int_equal(ob_signer_config_parse(json, strlen(json), dir, &c),
	    OB_OK);
	assert_int_equal(c->keys[0].verify_every, 2);
	assert_int_equal(ob_signerd_new(c, logfp, &d), OB_ERR_SIGNER_CONFIG);
	assert_non_null(strstr(ob_err_detail(), "only ECDSA keys"));
	assert_null(d);
	ob_signer_config_free(&c);
	/* The same key checking each signature opens. */
	snprintf(json, sizeof(json), "{\"keys\": [{\"name\": \"gw\", "
	    "\"uri\": \"file:%s/ed.pem\", \"role\": \"gateway\"}]}",
	    dir);
	assert_int_equal(ob_signer_config_parse(json, strlen(json), dir, &c),
	    OB_OK);
	assert_int_equal(c->keys[0].verify_every, 1);
	assert_int_equal(ob_signerd_new(c, logfp, &d), OB_OK);
	ob_signerd_free(&d);
	ob_signer_config_free(&c);
	/* An ES256 key checking one in 4 opens and signs, its signatures
	 * good, checked or not. */
	snprintf(json, sizeof(json), "{\"keys\": [{\"name\": \"issuer\", "
	    "\"uri\": \"file:%s/iss.pem\", \"role\": \"issuer\", "
	    "\"ca\": \"%s/ca.pem\", \"verify_every\": 4}]}", dir, dir);
	assert_int_equal(ob_signer_config_parse(json, strlen(json), dir, &c),
	    OB_OK);
	assert_int_equal(ob_signerd_new(c, logfp, &d), OB_OK);
	ob_signerd_free(&d);
	ob_signer_config_free(&c);
	{
		struct ob_token		*tok = NULL;
		struct ob_token_opts	 o;
		struct ob_approval	 what;
		unsigned char		*sig;
		size_t			 siglen;
		char			 uri[300];

		memset(&o, 0, sizeof(o));
		memset(&what, 0, sizeof(what));
		what.role = "wit";
		o.quiet = 1;
		snprintf(uri, sizeof(uri), "file:%s/ed.pem", dir);
		assert_int_equal(ob_token_open(uri, &o, &tok), OB_OK);
		assert_int_equal(ob_token_set_check_every(tok, 2),
		    OB_ERR_ALG_UNSUPPORTED);
		assert_int_equal(ob_token_set_check_every(tok, 1), OB_OK);
		ob_token_close(&tok);
		snprintf(uri, sizeof(uri), "file:%s/iss.pem", dir);
		assert_int_equal(ob_token_open(uri, &o, &tok), OB_OK);
		assert_int_equal(ob_token_set_check_every(tok, 4), OB_OK);
		for (i = 0; i < 9; i++) {
			assert_int_equal(ob_token_sign(tok,
			    (const unsigned char *)"abc", 3, &what, &sig,
			    &siglen), OB_OK);
			assert_int_equal(ob_sig_verify(OB_ALG_ES256, isskey,
			    (const unsigned char *)"abc", 3, sig, siglen),
			    OB_OK);
			free(sig);
		}
		ob_token_close(&tok);
	}
	EVP_PKEY_free(ed);
}

/* The examples of docs/signer-protocol.md, section 10. */
static void
test_wire_examples(void **state)
{
	static const uint8_t hello_req[] = {
		0x00, 0x00, 0x00, 0x19, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x01, 0x01, 0x10, 'o', 'w', 'n', 'e', 'r', 'b', 'i', 'n', 'd',
		'-', 's', 'e', 'r', 'v', 'e', 'r' };
	static const uint8_t hello_rep[] = {
		0x00, 0x00, 0x00, 0x1c, 0x01, 0x81, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 'o', 'w', 'n', 'e', 'r',
		'b', 'i', 'n', 'd', '-', 's', 'i', 'g', 'n', 'e', 'r' };
	static const uint8_t sign_req[] = {
		0x00, 0x00, 0x00, 0x20, 0x01, 0x03, 0x00, 0x00, 0x00, 0x02,
		0x06, 'i', 's', 's', 'u', 'e', 'r', 0x01, 0x00, 0x05, 'r', 'e',
		'q', '=', '1', 0x00, 0x00, 0x00, 0x07, 'e', '3', '0', '.', 'e',
		'3', '0' };
	static const uint8_t sign_ref[] = {
		0x00, 0x00, 0x00, 0x23, 0x01, 0x83, 0x00, 0x00, 0x00, 0x02,
		0xff, 0xff, 0xfb, 0xaf, 0x00, 0x17, 'h', 'e', 'a', 'd', 'e',
		'r', ':', ' ', 'n', 'o', 't', ' ', 't', 'y', 'p', ' ', 'w', 'i',
		't', '+', 'j', 'w', 't' };
	static const uint8_t error[] = {
		0x00, 0x00, 0x00, 0x0c, 0x01, 0xff, 0x00, 0x00, 0x00, 0x03,
		0xff, 0xff, 0xff, 0xf7, 0x00, 0x00 };
	struct ob_sp_reply	rep;
	struct ob_sp_req	req;
	struct ob_wr		w;
	uint32_t		id;
	size_t			n;

	(void)state;
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_hello(&w, 1, 1, 1, "ownerbind-server"),
	    OB_OK);
	assert_int_equal(ob_wr_len(&w), sizeof(hello_req));
	assert_memory_equal(ob_wr_ptr(&w), hello_req, sizeof(hello_req));
	ob_wr_free(&w);
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_hello_ok(&w, 1, 1, "ownerbind-signer"),
	    OB_OK);
	assert_memory_equal(ob_wr_ptr(&w), hello_rep, sizeof(hello_rep));
	ob_wr_free(&w);
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_sign(&w, 1, 2, "issuer", OB_SP_WIT, "req=1",
	    (const uint8_t *)"e30.e30", 7), OB_OK);
	assert_int_equal(ob_wr_len(&w), sizeof(sign_req));
	assert_memory_equal(ob_wr_ptr(&w), sign_req, sizeof(sign_req));
	ob_wr_free(&w);
	ob_wr_init_heap(&w, 1024);
	assert_int_equal(ob_sp_put_status(&w, 1, OB_SP_SIGN, 2,
	    OB_ERR_SIGNER_SHAPE, "header: not typ wit+jwt"), OB_OK);
	assert_memory_equal(ob_wr_ptr(&w), sign_ref, sizeof(sign_ref));
	ob_wr_free(&w);
	/* And the other way. */
	assert_int_equal(ob_sp_req_parse(sign_req + 4, sizeof(sign_req) - 4,
	    1, &req, &id), OB_OK);
	assert_string_equal(req.name, "issuer");
	assert_string_equal(req.for_whom, "req=1");
	assert_int_equal(req.inputlen, 7);
	assert_int_equal(ob_sp_reply_parse(sign_ref + 4, sizeof(sign_ref) - 4,
	    1, OB_SP_SIGN, 2, &rep), OB_OK);
	assert_int_equal(rep.status, OB_ERR_SIGNER_SHAPE);
	assert_string_equal(rep.detail, "header: not typ wit+jwt");
	assert_int_equal(ob_sp_reply_parse(error + 4, sizeof(error) - 4, 1,
	    OB_SP_SIGN, 3, &rep), OB_OK);
	assert_int_equal(rep.type, OB_SP_ERROR);
	assert_int_equal(rep.status, OB_ERR_TRAILING);
	/* A reply to another request, or with another id, is refused. */
	assert_int_equal(ob_sp_reply_parse(sign_ref + 4, sizeof(sign_ref) - 4,
	    1, OB_SP_SIGN, 3, &rep), OB_ERR_SIGNER_PROTOCOL);
	assert_int_equal(ob_sp_reply_parse(hello_rep + 4, sizeof(hello_rep) -
	    4, 1, OB_SP_SIGN, 1, &rep), OB_ERR_SIGNER_PROTOCOL);
	/* Every truncation of a message fails to parse. */
	for (n = 0; n < sizeof(sign_req) - 4; n++)
		assert_int_not_equal(ob_sp_req_parse(sign_req + 4, n, 1, &req,
		    &id), OB_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_pubkey),
		cmocka_unit_test(test_sign_each_purpose),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_hello_versions),
		cmocka_unit_test(test_listen_peer),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_verify_every),
		cmocka_unit_test(test_wire_examples),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
