/*
 * Passkey enrolment through the server's page (server/enrol.h): invites,
 * options, the enrolled-keys file.  The registration check is
 * enrol_reg.c.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/cliutil.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/json.h"
#include "server-verify/trust.h"
#include "server/enrol.h"

#define MAX_INVITE_FILE	(64 * 1024)
#define MAX_PATTERNS	16

static const char b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- invites ---- */

/* dir/invite-HEX.SUFFIX for an invite of the right form. */
static int
invite_path(const char *dir, const char *invite, const char *suffix,
    char *buf, size_t size)
{
	unsigned char	h[32];
	char		hx[65];

	if (strlen(invite) != OB_ENROL_INVITE_CHARS ||
	    strspn(invite, b64u_chars) != OB_ENROL_INVITE_CHARS)
		return ob_errf(OB_ERR_ENROL_UNKNOWN, "not the form of an "
		    "invite");
	SHA256((const unsigned char *)invite, OB_ENROL_INVITE_CHARS, h);
	(void)ob_bin_to_hex(h, sizeof(h), hx, sizeof(hx));
	if ((size_t)snprintf(buf, size, "%s/invite-%s.%s", dir, hx, suffix) >=
	    size)
		return ob_errf(OB_ERR_IO, "enrol.dir: path too long");
	return OB_OK;
}

int
ob_enrol_invite_load(const char *dir, const char *invite, long long now,
    json_t **out)
{
	json_t		*inv = NULL;
	char		 p[PATH_MAX], *buf = NULL;
	size_t		 n;
	json_int_t	 exp;
	int		 r;

	OB_TRY(invite_path(dir, invite, "json", p, sizeof(p)));
	if (access(p, F_OK) != 0) {
		if (errno != ENOENT) {
			r = ob_errf(OB_ERR_IO, "enrol.dir: %s",
			    strerror(errno));
			goto out;
		}
		OB_TRY(invite_path(dir, invite, "used", p, sizeof(p)));
		r = access(p, F_OK) == 0 ? ob_errf(OB_ERR_ENROL_USED,
		    "the invite enrolled a key already") :
		    ob_errf(OB_ERR_ENROL_UNKNOWN, "no such invite");
		goto out;
	}
	if ((r = ob_read_all(p, MAX_INVITE_FILE, &buf, &n)) != OB_OK) {
		/* Spent between the two calls: say so, not "I/O". */
		if (invite_path(dir, invite, "used", p, sizeof(p)) == OB_OK &&
		    access(p, F_OK) == 0)
			r = ob_errf(OB_ERR_ENROL_USED, "the invite enrolled a "
			    "key already");
		goto out;
	}
	if ((r = ob_json_parse_object(buf, n, &inv)) != OB_OK) {
		r = ob_errf(OB_ERR_IO, "an invite file is not JSON");
		goto out;
	}
	if (ob_json_get_int(inv, "expires_at", OB_ERR_IO, OB_ERR_IO, &exp) !=
	    OB_OK) {
		r = ob_errf(OB_ERR_IO, "an invite file has no expires_at");
		goto out;
	}
	if (now >= (long long)exp) {
		r = ob_errf(OB_ERR_ENROL_EXPIRED, "the invite expired %lld s "
		    "ago", now - (long long)exp);
		goto out;
	}
	*out = inv;
	inv = NULL;
	r = OB_OK;
out:
	json_decref(inv);
	free(buf);
	return r;
}

int
ob_enrol_expect_of(const json_t *inv, struct ob_enrol_expect *e,
    const char ***origins)
{
	const json_t	*a, *v;
	const char	*ch, *uv, **o = NULL;
	unsigned char	*b = NULL;
	size_t		 i, n = 0;

	*origins = NULL;
	memset(e, 0, sizeof(*e));
	ch = json_string_value(json_object_get(inv, "challenge"));
	uv = json_string_value(json_object_get(inv, "uv"));
	e->rp_id = json_string_value(json_object_get(inv, "rp_id"));
	a = json_object_get(inv, "origins");
	if (ch == NULL || uv == NULL || e->rp_id == NULL ||
	    !json_is_array(a) || json_array_size(a) == 0 ||
	    ob_b64url_decode(ch, strlen(ch), 64, &b, &n) != OB_OK ||
	    n != OB_ENROL_CHALLENGE_LEN) {
		free(b);
		return ob_errf(OB_ERR_IO, "an invite file lacks challenge, "
		    "uv, rp_id or origins");
	}
	memcpy(e->challenge, b, n);
	free(b);
	if ((o = calloc(json_array_size(a), sizeof(*o))) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(a, i, v)
		if ((o[i] = json_string_value(v)) == NULL) {
			free(o);
			return ob_errf(OB_ERR_IO, "an invite's origin is not a "
			    "string");
		}
	e->origins = o;
	e->norigins = json_array_size(a);
	e->uv_required = strcmp(uv, "required") == 0;
	*origins = o;
	return OB_OK;
}

int
ob_enrol_options(const json_t *inv, json_t **out)
{
	const char	*owner = json_string_value(json_object_get(inv,
	    "owner"));
	const char	*rk = json_string_value(json_object_get(inv,
	    "resident_key"));
	unsigned char	 uid[32];
	char		*u = NULL;
	json_t		*o;
	int		 r;

	if (owner == NULL || rk == NULL)
		return ob_errf(OB_ERR_IO, "an invite file lacks owner");
	/* user.id: no personal data in the authenticator's handle. */
	SHA256((const unsigned char *)owner, strlen(owner), uid);
	OB_TRY(ob_b64url_encode(uid, sizeof(uid), &u));
	if ((o = json_pack("{s:s, s:O, s:O, s:{s:{s:O, s:s}, s:{s:s, s:s, "
	    "s:s}, s:O, s:[{s:s, s:i}], s:{s:s, s:b, s:O}, s:s, s:i}}",
	    "owner", owner,
	    "may_bind", json_object_get(inv, "may_bind"),
	    "expires_at", json_object_get(inv, "expires_at"),
	    "publicKey",
	    "rp", "id", json_object_get(inv, "rp_id"), "name", "ownerbind",
	    "user", "id", u, "name", owner, "displayName", owner,
	    "challenge", json_object_get(inv, "challenge"),
	    "pubKeyCredParams", "type", "public-key", "alg", -7,
	    "authenticatorSelection", "residentKey", rk,
	    "requireResidentKey", strcmp(rk, "required") == 0,
	    "userVerification", json_object_get(inv, "uv"),
	    "attestation", "none", "timeout", 120000)) == NULL) {
		r = ob_errf(OB_ERR_IO, "an invite file is incomplete");
		goto out;
	}
	*out = o;
	r = OB_OK;
out:
	free(u);
	return r;
}

int
ob_enrol_consume(const char *dir, const char *invite)
{
	char	from[PATH_MAX], to[PATH_MAX];
	int	r;

	OB_TRY(invite_path(dir, invite, "json", from, sizeof(from)));
	OB_TRY(invite_path(dir, invite, "used", to, sizeof(to)));
	/* rename(2) is the one atomic step: a second caller finds no
	 * source. */
	if (rename(from, to) != 0)
		return errno == ENOENT ? ob_errf(OB_ERR_ENROL_USED, "the "
		    "invite was spent meanwhile") : ob_errf(OB_ERR_ENROL_STORE,
		    "spending the invite: %s", strerror(errno));
	r = OB_OK;
out:
	return r;
}

/* ---- the enrolled-keys file and the merged trust store ---- */

static int
read_doc(const char *path, int missing_ok, json_t **out)
{
	char	*buf = NULL;
	size_t	 n;
	int	 r;

	*out = NULL;
	if (missing_ok && access(path, F_OK) != 0 && errno == ENOENT)
		return OB_OK;
	OB_TRY(ob_read_all(path, OB_TRUST_MAX_FILE, &buf, &n));
	if ((r = ob_json_parse_object(buf, n, out)) != OB_OK)
		r = ob_err_prefix(r, "%s", path);
out:
	free(buf);
	return r;
}

static json_t *
owner_of(const json_t *doc, const char *id)
{
	json_t		*o;
	const char	*s;
	size_t		 i;

	json_array_foreach(json_object_get(doc, "owners"), i, o)
		if ((s = json_string_value(json_object_get(o, "id"))) !=
		    NULL && strcmp(s, id) == 0)
			return o;
	return NULL;
}

static int
has_kid(const json_t *doc, const char *kid)
{
	json_t		*o, *k;
	const char	*s;
	size_t		 i, j;

	json_array_foreach(json_object_get(doc, "owners"), i, o)
		json_array_foreach(json_object_get(o, "keys"), j, k)
			if ((s = json_string_value(json_object_get(k,
			    "kid"))) != NULL && strcmp(s, kid) == 0)
				return 1;
	return 0;
}

/* Add the patterns of src not yet in dst (both arrays). */
static int
add_patterns(json_t *dst, const json_t *src)
{
	json_t	*p, *q;
	size_t	 i, j;
	int	 found;

	if (!json_is_array(dst) || !json_is_array(src))
		return ob_errf(OB_ERR_TRUST_INVALID, "may_bind: not an array");
	json_array_foreach(src, i, p) {
		found = 0;
		json_array_foreach(dst, j, q)
			found |= json_equal(p, q);
		if (!found && json_array_append(dst, p) != 0)
			return OB_ERR_ALLOC;
	}
	return OB_OK;
}

/* base gets enr's owners (its keys and patterns into an owner of the
 * same id, or the whole owner). */
static int
merge(json_t *base, const json_t *enr)
{
	static const char *const top[] = { "ownerbind_trust", "owners",
	    NULL };
	json_t		*o, *b, *k, *owners;
	const char	*id;
	size_t		 i, j;
	int		 r;

	if ((r = ob_json_only_members(enr, top, OB_ERR_TRUST_INVALID)) !=
	    OB_OK)
		return ob_err_prefix(r, OB_ENROL_FILE " holds owners only");
	if (!json_is_array(owners = json_object_get(base, "owners")))
		return ob_errf(OB_ERR_TRUST_INVALID, "owners: not an array");
	json_array_foreach(json_object_get(enr, "owners"), i, o) {
		if ((id = json_string_value(json_object_get(o, "id"))) ==
		    NULL)
			return ob_errf(OB_ERR_TRUST_INVALID, OB_ENROL_FILE
			    ": owners[%zu]: no id", i);
		if ((b = owner_of(base, id)) == NULL) {
			if (json_array_append_new(owners, json_deep_copy(o)) !=
			    0)
				return OB_ERR_ALLOC;
			continue;
		}
		if ((r = add_patterns(json_object_get(b, "may_bind"),
		    json_object_get(o, "may_bind"))) != OB_OK)
			return r;
		if (!json_is_array(json_object_get(b, "keys")))
			return ob_errf(OB_ERR_TRUST_INVALID, "owner %.128s: "
			    "keys: not an array", id);
		json_array_foreach(json_object_get(o, "keys"), j, k)
			if (json_array_append_new(json_object_get(b, "keys"),
			    json_deep_copy(k)) != 0)
				return OB_ERR_ALLOC;
	}
	return OB_OK;
}

/* Load trust (a JSON document) merged with enr into a store. */
static int
load_merged(const json_t *trust, const json_t *enr, struct ob_trust **out)
{
	json_t	*m;
	char	*s = NULL;
	int	 r;

	if ((m = json_deep_copy(trust)) == NULL)
		return OB_ERR_ALLOC;
	OB_TRY(merge(m, enr));
	if ((s = json_dumps(m, JSON_COMPACT)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = ob_trust_load_buf(s, strlen(s), out);
out:
	free(s);
	json_decref(m);
	return r;
}

int
ob_enrol_trust_load(const char *trust, const char *dir, struct ob_trust **out)
{
	json_t	*t = NULL, *e = NULL;
	char	 p[PATH_MAX];
	int	 r;

	if (dir == NULL)
		return ob_trust_load_file(trust, out);
	if ((size_t)snprintf(p, sizeof(p), "%s/" OB_ENROL_FILE, dir) >=
	    sizeof(p))
		return ob_errf(OB_ERR_IO, "enrol.dir: path too long");
	OB_TRY(read_doc(p, 1, &e));
	if (e == NULL)
		return ob_trust_load_file(trust, out);
	OB_TRY(read_doc(trust, 0, &t));
	if ((r = load_merged(t, e, out)) != OB_OK)
		r = ob_err_prefix(r, "%s with %s", trust, p);
out:
	json_decref(t);
	json_decref(e);
	return r;
}

/* The trust-store key entry for an enrolled credential. */
static json_t *
key_entry(const json_t *inv, const struct ob_enrol_cred *c, long long now)
{
	(void)now;
	return json_pack("{s:s, s:s, s:s, s:O, s:{s:O, s:s, s:s, s:O, s:b, "
	    "s:O}}", "kid", c->kid, "kind", "fido2", "alg", "webauthn-es256",
	    "jwk", c->jwk, "fido2", "rp_id", json_object_get(inv, "rp_id"),
	    "credential_id", c->credential_id, "aaguid", c->aaguid,
	    "uv", json_object_get(inv, "uv"),
	    "backup_eligible", c->backup_eligible,
	    "origins", json_object_get(inv, "origins"));
}

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;

int
ob_enrol_store(const char *trust, const char *dir, const json_t *inv,
    const struct ob_enrol_cred *c, long long now)
{
	struct ob_trust	*check = NULL;
	json_t		*t = NULL, *e = NULL, *ow, *key = NULL, *keys;
	const char	*owner = json_string_value(json_object_get(inv,
	    "owner"));
	char		 p[PATH_MAX], lp[PATH_MAX], *s = NULL;
	int		 lockfd = -1, r;

	if (owner == NULL)
		return ob_errf(OB_ERR_ENROL_STORE, "an invite without owner");
	if ((size_t)snprintf(p, sizeof(p), "%s/" OB_ENROL_FILE, dir) >=
	    sizeof(p) || (size_t)snprintf(lp, sizeof(lp), "%s.lock", p) >=
	    sizeof(lp))
		return ob_errf(OB_ERR_ENROL_STORE, "enrol.dir: path too long");
	pthread_mutex_lock(&store_mu);
	/* The same lock as `ownerbind trust` verbs take on this file. */
	if ((lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lockfd, LOCK_EX) != 0) {
		r = ob_errf(OB_ERR_ENROL_STORE, "%s: %s", lp, strerror(errno));
		goto out;
	}
	if ((r = read_doc(p, 1, &e)) != OB_OK ||
	    (r = read_doc(trust, 0, &t)) != OB_OK) {
		r = ob_errf(OB_ERR_ENROL_STORE, "%s", ob_err_detail());
		goto out;
	}
	if (e == NULL && (e = json_pack("{s:i, s:[]}", "ownerbind_trust", 1,
	    "owners")) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (has_kid(t, c->kid) || has_kid(e, c->kid)) {
		r = ob_errf(OB_ERR_ENROL_DUPLICATE, "kid %s", c->kid);
		goto out;
	}
	if ((key = key_entry(inv, c, now)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((ow = owner_of(e, owner)) == NULL) {
		if ((ow = json_pack("{s:s, s:O, s:[]}", "id", owner,
		    "may_bind", json_object_get(inv, "may_bind"), "keys")) ==
		    NULL || json_array_append_new(json_object_get(e, "owners"),
		    ow) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	} else if ((r = add_patterns(json_object_get(ow, "may_bind"),
	    json_object_get(inv, "may_bind"))) != OB_OK)
		goto out;
	if (!json_is_array(keys = json_object_get(ow, "keys")) ||
	    json_array_append(keys, key) != 0) {
		r = ob_errf(OB_ERR_ENROL_STORE, "owner %.128s: keys", owner);
		goto out;
	}
	/* Never write what the server would not load, alone or merged. */
	if ((s = json_dumps(e, JSON_INDENT(2))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((r = ob_trust_load_buf(s, strlen(s), &check)) != OB_OK) {
		r = ob_errf(OB_ERR_ENROL_STORE, OB_ENROL_FILE " would be "
		    "invalid: %s", ob_err_detail());
		goto out;
	}
	ob_trust_free(&check);
	if ((r = load_merged(t, e, &check)) != OB_OK) {
		r = ob_errf(OB_ERR_ENROL_STORE, "the merged trust store would "
		    "be invalid: %s", ob_err_detail());
		goto out;
	}
	if ((r = ob_write_all(p, s, strlen(s), 0600)) != OB_OK)
		r = ob_errf(OB_ERR_ENROL_STORE, "%s", ob_err_detail());
out:
	if (lockfd >= 0)
		close(lockfd);
	pthread_mutex_unlock(&store_mu);
	ob_trust_free(&check);
	json_decref(key);
	json_decref(t);
	json_decref(e);
	free(s);
	return r;
}

/* ---- ownerbind-server invite ---- */

static void
invite_usage(FILE *f)
{
	fprintf(f, "usage: ownerbind-server invite --config FILE --owner ID "
	    "--may-bind PATTERN\n"
	    "           [--may-bind PATTERN ...] [--ttl SECONDS]\n"
	    "A one-time passkey enrolment invite for the owner, written to "
	    "enrol.dir;\nprints the URL the owner opens (docs/server-"
	    "mediated.md).\n");
}

static int
invite_write(const struct ob_server_config *cfg, const char *owner,
    const char *const *pat, size_t npat, long long ttl, char **url)
{
	static const char *const rks[] = { "required", "preferred",
	    "discouraged" };
	unsigned char	 sec[32], ch[OB_ENROL_CHALLENGE_LEN];
	json_t		*o = NULL, *a;
	char		*inv = NULL, *chs = NULL, *s = NULL, p[PATH_MAX];
	long long	 now = (long long)time(NULL);
	size_t		 i;
	int		 r;

	if (RAND_bytes(sec, sizeof(sec)) != 1 ||
	    RAND_bytes(ch, sizeof(ch)) != 1)
		return ob_errf(OB_ERR_RANDOM, "RAND_bytes");
	OB_TRY(ob_b64url_encode(sec, sizeof(sec), &inv));
	OB_TRY(ob_b64url_encode(ch, sizeof(ch), &chs));
	OB_TRY(invite_path(cfg->enrol.dir, inv, "json", p, sizeof(p)));
	if ((o = json_pack("{s:i, s:s, s:[], s:s, s:[], s:s, s:s, s:s, s:I, "
	    "s:I}", "ownerbind_invite", 1, "owner", owner, "may_bind",
	    "rp_id", cfg->enrol.rp_id, "origins", "uv",
	    cfg->enrol.uv_required ? "required" : "preferred",
	    "resident_key", rks[cfg->enrol.resident_key], "challenge", chs,
	    "created_at", (json_int_t)now, "expires_at",
	    (json_int_t)(now + ttl))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	a = json_object_get(o, "may_bind");
	for (i = 0; i < npat; i++)
		if (json_array_append_new(a, json_string(pat[i])) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	a = json_object_get(o, "origins");
	for (i = 0; i < cfg->enrol.norigins; i++)
		if (json_array_append_new(a, json_string(
		    cfg->enrol.origins[i])) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	if ((s = json_dumps(o, JSON_INDENT(1))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(ob_write_all(p, s, strlen(s), 0600));
	i = strlen(cfg->enrol.origins[0]) + sizeof("/enrol/") +
	    OB_ENROL_INVITE_CHARS;
	if ((*url = malloc(i)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(*url, i, "%s/enrol/%s", cfg->enrol.origins[0], inv);
out:
	OPENSSL_cleanse(sec, sizeof(sec));
	if (inv != NULL)
		OPENSSL_cleanse(inv, strlen(inv));
	free(inv);
	free(chs);
	free(s);
	json_decref(o);
	return r;
}

int
ob_enrol_invite_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "owner", required_argument, NULL, 'o' },
		{ "may-bind", required_argument, NULL, 'm' },
		{ "ttl", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ob_server_config	*cfg = NULL;
	const char		*config = NULL, *owner = NULL, *ttls = NULL;
	const char		*pat[MAX_PATTERNS];
	char			*url = NULL;
	unsigned long		 line = 0;
	long long		 ttl;
	size_t			 npat = 0, i;
	int			 ch, r, rc = 2;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'o': owner = optarg; break;
		case 't': ttls = optarg; break;
		case 'm':
			if (npat == MAX_PATTERNS) {
				fprintf(stderr, "ownerbind-server invite: at "
				    "most %d --may-bind\n", MAX_PATTERNS);
				return 2;
			}
			pat[npat++] = optarg;
			break;
		case 'h': invite_usage(stdout); return 0;
		default: invite_usage(stderr); return 2;
		}
	}
	if (optind != argc || config == NULL || owner == NULL || npat == 0 ||
	    strlen(owner) > 256 || *owner == '\0') {
		invite_usage(stderr);
		return 2;
	}
	for (i = 0; i < npat; i++)
		if (strncmp(pat[i], "wimse://", 8) != 0 &&
		    strncmp(pat[i], "spiffe://", 9) != 0) {
			fprintf(stderr, "ownerbind-server invite: --may-bind "
			    "starts with wimse:// or spiffe://\n");
			return 2;
		}
	if ((r = ob_server_config_load(config, &cfg, &line)) != OB_OK) {
		fprintf(stderr, "ownerbind-server invite: %s:%lu: %s\n",
		    config, line, ob_err_detail());
		return 2;
	}
	if (cfg->enrol.dir == NULL) {
		fprintf(stderr, "ownerbind-server invite: %s has no \"enrol\" "
		    "section (docs/server.md)\n", config);
		goto out;
	}
	ttl = cfg->enrol.invite_ttl_s;
	if (ttls != NULL && ob_parse_ll(ttls, 1, 604800, &ttl) != OB_OK) {
		fprintf(stderr, "ownerbind-server invite: --ttl is 1 to "
		    "604800 seconds\n");
		goto out;
	}
	if ((r = invite_write(cfg, owner, pat, npat, ttl, &url)) != OB_OK) {
		ob_print_error("ownerbind-server invite", r);
		rc = 1;
		goto out;
	}
	printf("%s\n", url);
	rc = 0;
out:
	if (url != NULL)
		OPENSSL_cleanse(url, strlen(url));
	free(url);
	ob_server_config_free(&cfg);
	return rc;
}
