/*
 * ownerbind trust: manage a trust store without hand-editing JSON
 * (docs/trust-store.md).  Every change goes through owner_trust_edit: the
 * store's lock, a verifier load of the result, an atomic write.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "common/cliutil.h"
#include "core/alg.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "owner/ownerbind.h"

#define MAX_LIST	32

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " trust ACTION --trust FILE [OPTIONS]\n"
"\n"
"  list [--json]                      owners, keys, gateways, roots\n"
"  show --owner ID | --kid KID [--json]\n"
"  add-key --owner ID --may-bind PATTERN... --public FILE\n"
"          [--kind KIND] [--alg ALG] [--not-before T] [--not-after T]\n"
"                                     FILE: a JWK, a PEM public key, or the\n"
"                                     output of `keygen --json`; no token\n"
"                                     is opened\n"
"  remove-key --kid KID               revoke-key --kid KID --reason TEXT [--at T]\n"
"  remove-owner --owner ID            revoke-owner --owner ID --reason TEXT [--at T]\n"
"  add-gateway --id ID --owner ORG --ca FILE --alg ALG --proxy P...\n"
"          --trust-domain TD... --may-bind PATTERN... [--kind KIND]\n"
"          [--require-eku]\n"
"  remove-gateway --id ID\n"
"  add-piv-root --cert FILE           remove-piv-root --cert FILE\n"
"  add-ak --ak FILE                   remove-ak --kid KID\n"
"\n"
"T is Unix seconds.  Revoked entries stay in the store, refused from\n"
"--at (default now) on; every change takes effect when a verifier next\n"
"loads the store (a server: SIGHUP).  A change the verifier would refuse\n"
"is not written.\n");
}

struct targs {
	const char	*action, *trust, *owner, *kid, *id, *reason;
	const char	*public, *kind, *alg, *ca, *cert, *ak;
	const char	*may_bind[MAX_LIST], *proxy[MAX_LIST], *td[MAX_LIST];
	size_t		 nmb, nproxy, ntd;
	long long	 not_before, not_after, at;
	int		 json, require_eku;
	char		 done[512];	/* what changed, printed once written */
};

#define DONE(a, ...)	(void)snprintf((a)->done, sizeof((a)->done), __VA_ARGS__)

/* ---- reading what is added ---- */

static int
load_json_file(const char *path, json_t **out)
{
	char	*buf = NULL;
	size_t	 len;
	int	 r;

	if ((r = ob_read_all(path, 1024 * 1024, &buf, &len)) != OB_OK)
		return r;
	r = ob_json_parse_object(buf, len, out);
	free(buf);
	return r != OB_OK ? ob_err_prefix(r, "%s", path) : OB_OK;
}

/* A JWK from FILE: a JWK, a key entry (`keygen --json`) or a PEM key. */
static int
public_key(const char *path, json_t **jwk, json_t **entry)
{
	EVP_PKEY	*pk = NULL;
	BIO		*b = NULL;
	char		*buf = NULL;
	size_t		 len;
	json_t		*o = NULL;
	int		 r;

	*entry = NULL;
	OB_TRY(ob_read_all(path, 1024 * 1024, &buf, &len));
	if (len > 0 && buf[0] == '{') {
		OB_TRY(ob_json_parse_object(buf, len, &o));
		if (json_object_get(o, "jwk") != NULL) {
			*jwk = json_incref(json_object_get(o, "jwk"));
			*entry = o;
			o = NULL;
		} else {
			*jwk = o;
			o = NULL;
		}
		r = OB_OK;
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL)) == NULL) {
		/* Its own code: KEY_LOAD's next step is about private keys. */
		r = ob_errf(OB_ERR_PUBLIC_KEY_FORM, "%s%s", path, strstr(buf,
		    "PRIVATE KEY-----") != NULL ? ": a private key: give its "
		    "public key" : "");
		goto out;
	}
	r = ob_jwk_from_pkey(pk, jwk);
out:
	EVP_PKEY_free(pk);
	BIO_free(b);
	json_decref(o);
	free(buf);
	return r;
}

/* PEM text of FILE, checked to hold one or more certificates. */
static int
cert_text(const char *path, char **out)
{
	X509	*x = NULL;
	BIO	*b = NULL;
	char	*buf = NULL;
	size_t	 len;
	int	 r;

	if ((r = ob_read_all(path, 256 * 1024, &buf, &len)) != OB_OK)
		return r;
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		free(buf);
		BIO_free(b);
		return ob_errf(OB_ERR_TRUST_INVALID, "%s: no PEM certificate",
		    path);
	}
	X509_free(x);
	BIO_free(b);
	*out = buf;
	return OB_OK;
}

/* ---- finding entries ---- */

static json_t *
find_by(json_t *arr, const char *member, const char *value, size_t *idx)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(json_object_get(v, member));

		if (s != NULL && strcmp(s, value) == 0) {
			if (idx != NULL)
				*idx = i;
			return v;
		}
	}
	return NULL;
}

/* The key with this kid, its owner and index, anywhere in the store. */
static json_t *
find_key(json_t *doc, const char *kid, json_t **owner, size_t *idx)
{
	json_t	*ow, *k;
	size_t	 i;

	json_array_foreach(json_object_get(doc, "owners"), i, ow)
		if ((k = find_by(json_object_get(ow, "keys"), "kid", kid,
		    idx)) != NULL) {
			if (owner != NULL)
				*owner = ow;
			return k;
		}
	return NULL;
}

static json_t *
strarray(const char *const *v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* ---- the edits ---- */

static int
edit_add_key(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	json_t		*owners, *ow, *jwk = NULL, *entry = NULL, *k = NULL;
	json_t		*mb;
	EVP_PKEY	*pk = NULL;
	enum ob_alg	 alg;
	char		 kid[44];
	const char	*kind;
	size_t		 i, j;
	int		 r;

	OB_TRY(owner_trust_array(doc, "owners", &owners));
	OB_TRY(public_key(a->public, &jwk, &entry));
	OB_TRY(ob_jwk_to_pkey(jwk, &pk));
	OB_TRY(ob_jwk_thumbprint(jwk, kid));
	if (find_key(doc, kid, NULL, NULL) != NULL) {
		r = ob_errf(OB_ERR_KEY_EXISTS, "key %s is already in the store",
		    kid);
		goto out;
	}
	if (a->alg != NULL)
		OB_TRY(ob_alg_from_name(a->alg, &alg));
	else if (entry != NULL && json_is_string(json_object_get(entry,
	    "alg")))
		OB_TRY(ob_alg_from_name(json_string_value(json_object_get(
		    entry, "alg")), &alg));
	else
		alg = ob_alg_for_key(pk);
	kind = a->kind != NULL ? a->kind : entry != NULL &&
	    json_is_string(json_object_get(entry, "kind")) ?
	    json_string_value(json_object_get(entry, "kind")) : "software";
	/* A key entry from keygen --json keeps its backend's members (fido2,
	 * uri); the rest is rebuilt from the key itself. */
	if ((k = entry != NULL ? json_deep_copy(entry) : json_object()) ==
	    NULL ||
	    json_object_set_new(k, "kid", json_string(kid)) != 0 ||
	    json_object_set_new(k, "kind", json_string(kind)) != 0 ||
	    json_object_set_new(k, "alg", json_string(ob_alg_name(alg))) != 0 ||
	    json_object_set(k, "jwk", jwk) != 0 ||
	    (a->not_before != 0 && json_object_set_new(k, "not_before",
	    json_integer(a->not_before)) != 0) ||
	    (a->not_after != 0 && json_object_set_new(k, "not_after",
	    json_integer(a->not_after)) != 0)) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((ow = find_by(owners, "id", a->owner, NULL)) == NULL) {
		if ((ow = json_pack("{s:s,s:[],s:[]}", "id", a->owner,
		    "may_bind", "keys")) == NULL ||
		    json_array_append_new(owners, ow) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	mb = json_object_get(ow, "may_bind");
	for (i = 0; i < a->nmb; i++) {
		json_t *v;

		json_array_foreach(mb, j, v)
			if (json_is_string(v) && strcmp(json_string_value(v),
			    a->may_bind[i]) == 0)
				break;
		if (j == json_array_size(mb) && json_array_append_new(mb,
		    json_string(a->may_bind[i])) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	r = json_array_append(json_object_get(ow, "keys"), k) == 0 ? OB_OK :
	    ob_errf(OB_ERR_TRUST_INVALID, "owner %s is malformed", a->owner);
	if (r == OB_OK)
		DONE(a, "added %s (%s, %s) for %s", kid, kind,
		    ob_alg_name(alg), a->owner);
out:
	EVP_PKEY_free(pk);
	json_decref(jwk);
	json_decref(entry);
	json_decref(k);
	return r;
}

static int
edit_remove_key(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	json_t		*ow = NULL;
	size_t		 i;

	if (find_key(doc, a->kid, &ow, &i) == NULL)
		return ob_errf(OB_ERR_KEY_NOT_FOUND, "no key %s in the store",
		    a->kid);
	(void)json_array_remove(json_object_get(ow, "keys"), i);
	DONE(a, "removed key %s of %s", a->kid,
	    json_string_value(json_object_get(ow, "id")));
	/* An owner without keys does not load: remove-owner is explicit. */
	if (json_array_size(json_object_get(ow, "keys")) == 0)
		return ob_errf(OB_ERR_TRUST_INVALID, "%s's last key: remove "
		    "the owner (remove-owner) or add a key first",
		    json_string_value(json_object_get(ow, "id")));
	return OB_OK;
}

static int
set_revoked(json_t *o, const struct targs *a)
{
	return json_object_set_new(o, "revoked", json_pack("{s:I,s:s}", "at",
	    (json_int_t)a->at, "reason", a->reason)) == 0 ? OB_OK :
	    OB_ERR_ALLOC;
}

static int
edit_revoke_key(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	json_t		*k;

	if ((k = find_key(doc, a->kid, NULL, NULL)) == NULL)
		return ob_errf(OB_ERR_KEY_NOT_FOUND, "no key %s in the store",
		    a->kid);
	DONE(a, "revoked key %s from %lld: %s", a->kid, a->at, a->reason);
	return set_revoked(k, a);
}

static int
edit_owner(json_t *doc, void *arg, int revoke)
{
	struct targs	*a = arg;
	json_t		*ow;
	size_t		 i;

	if ((ow = find_by(json_object_get(doc, "owners"), "id", a->owner,
	    &i)) == NULL)
		return ob_errf(OB_ERR_OWNER_UNKNOWN, "no owner %s in the store",
		    a->owner);
	if (revoke) {
		DONE(a, "revoked owner %s from %lld: %s", a->owner, a->at,
		    a->reason);
		return set_revoked(ow, a);
	}
	(void)json_array_remove(json_object_get(doc, "owners"), i);
	DONE(a, "removed owner %s", a->owner);
	return OB_OK;
}

static int
edit_remove_owner(json_t *doc, void *arg)
{
	return edit_owner(doc, arg, 0);
}

static int
edit_revoke_owner(json_t *doc, void *arg)
{
	return edit_owner(doc, arg, 1);
}

static int
edit_add_gateway(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	json_t		*gws, *g;
	char		*ca = NULL;
	int		 r;

	OB_TRY(owner_trust_array(doc, "gateways", &gws));
	if (find_by(gws, "id", a->id, NULL) != NULL)
		return ob_errf(OB_ERR_TRUST_INVALID, "gateway %s is already in "
		    "the store (remove-gateway first)", a->id);
	OB_TRY(cert_text(a->ca, &ca));
	if ((g = json_pack("{s:s,s:s,s:[s],s:[s],s:o,s:o,s:o,s:s,s:b}", "id",
	    a->id, "owner", a->owner, "ca", ca, "algs", a->alg, "proxies",
	    strarray(a->proxy, a->nproxy), "trust_domains", strarray(a->td,
	    a->ntd), "may_bind", strarray(a->may_bind, a->nmb), "kind",
	    a->kind != NULL ? a->kind : "software", "require_eku",
	    a->require_eku)) == NULL || json_array_append_new(gws, g) != 0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	DONE(a, "added gateway %s for %s", a->id, a->owner);
	r = OB_OK;
out:
	free(ca);
	return r;
}

static int
edit_remove_gateway(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	size_t		 i;

	if (find_by(json_object_get(doc, "gateways"), "id", a->id, &i) ==
	    NULL)
		return ob_errf(OB_ERR_GATEWAY_UNKNOWN, "no gateway %s in the "
		    "store", a->id);
	(void)json_array_remove(json_object_get(doc, "gateways"), i);
	DONE(a, "removed gateway %s", a->id);
	return OB_OK;
}

static int
edit_piv_root(json_t *doc, void *arg, int add)
{
	struct targs	*a = arg;
	json_t		*roots, *v;
	char		*pem = NULL;
	size_t		 i;
	int		 r;

	OB_TRY(cert_text(a->cert, &pem));
	OB_TRY(owner_trust_array(doc, "piv_roots", &roots));
	json_array_foreach(roots, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), pem) == 0)
			break;
	if (add && i == json_array_size(roots))
		r = json_array_append_new(roots, json_string(pem)) == 0 ?
		    OB_OK : OB_ERR_ALLOC;
	else if (add)
		r = OB_OK;		/* already there */
	else if (i == json_array_size(roots))
		r = ob_errf(OB_ERR_TRUST_INVALID, "%s is not among piv_roots",
		    a->cert);
	else
		r = json_array_remove(roots, i) == 0 ? OB_OK : OB_ERR_INTERNAL;
	if (r == OB_OK)
		DONE(a, "%s PIV root %s", add ? "added" : "removed", a->cert);
	/* An empty list does not load: drop the member. */
	if (r == OB_OK && json_array_size(roots) == 0)
		(void)json_object_del(doc, "piv_roots");
out:
	free(pem);
	return r;
}

static int
edit_add_piv_root(json_t *doc, void *arg)
{
	return edit_piv_root(doc, arg, 1);
}

static int
edit_remove_piv_root(json_t *doc, void *arg)
{
	return edit_piv_root(doc, arg, 0);
}

static int
edit_add_ak(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	json_t		*aks, *ak = NULL;
	int		 r;

	OB_TRY(load_json_file(a->ak, &ak));
	OB_TRY(owner_trust_array(doc, "tpm_attestation_keys", &aks));
	if (find_by(aks, "kid", json_string_value(json_object_get(ak, "kid")),
	    NULL) != NULL) {
		r = OB_OK;
		goto out;
	}
	r = json_array_append(aks, ak) == 0 ? OB_OK : OB_ERR_ALLOC;
	if (r == OB_OK)
		DONE(a, "added TPM attestation key %s",
		    json_string_value(json_object_get(ak, "kid")));
out:
	json_decref(ak);
	return r;
}

static int
edit_remove_ak(json_t *doc, void *arg)
{
	struct targs	*a = arg;
	size_t		 i;

	if (find_by(json_object_get(doc, "tpm_attestation_keys"), "kid",
	    a->kid, &i) == NULL)
		return ob_errf(OB_ERR_KEY_NOT_FOUND, "no TPM attestation key "
		    "%s in the store", a->kid);
	(void)json_array_remove(json_object_get(doc, "tpm_attestation_keys"),
	    i);
	DONE(a, "removed TPM attestation key %s", a->kid);
	return OB_OK;
}

/* ---- reading ---- */

static long long	show_now;	/* --at, else now: for "(in 3d)" */

/* " WORD T = 2026-12-05T09:49:12Z (in 3d)": the number, for people too. */
static void
print_time(const char *word, const json_t *t)
{
	char	when[96];

	ob_cli_when((long long)json_integer_value(t), show_now, when,
	    sizeof(when));
	printf(" %s %lld = %s", word, (long long)json_integer_value(t), when);
}

static void
print_revoked(const json_t *o)
{
	const json_t *rv = json_object_get(o, "revoked");

	if (rv != NULL) {
		print_time("REVOKED since", json_object_get(rv, "at"));
		printf(" (%s)", json_string_value(json_object_get(rv,
		    "reason")));
	}
}

static void
print_key(const json_t *k)
{
	printf("  key %s  %s %s",
	    json_string_value(json_object_get(k, "kid")),
	    json_string_value(json_object_get(k, "kind")),
	    json_string_value(json_object_get(k, "alg")));
	if (json_object_get(k, "attestation") != NULL)
		printf(" (attestation evidence)");
	if (json_object_get(k, "not_before") != NULL)
		print_time("from", json_object_get(k, "not_before"));
	if (json_object_get(k, "not_after") != NULL)
		print_time("until", json_object_get(k, "not_after"));
	print_revoked(k);
	printf("\n");
}

static void
print_owner(const json_t *ow)
{
	const json_t	*v;
	size_t		 i;

	printf("owner %s (%s)", json_string_value(json_object_get(ow, "id")),
	    json_is_string(json_object_get(ow, "type")) ?
	    json_string_value(json_object_get(ow, "type")) : "user");
	print_revoked(ow);
	printf("\n");
	json_array_foreach(json_object_get(ow, "may_bind"), i, v)
		printf("  may bind %s\n", json_string_value(v));
	json_array_foreach(json_object_get(ow, "keys"), i, v)
		print_key(v);
}

static int
show(const struct targs *a, int list)
{
	json_t		*doc = NULL, *v, *out = NULL, *ow = NULL;
	char		*s = NULL;
	size_t		 i, n;
	int		 r;

	show_now = a->at;
	OB_TRY(load_json_file(a->trust, &doc));
	if (list) {
		out = json_incref(doc);
	} else if (a->owner != NULL) {
		if ((out = find_by(json_object_get(doc, "owners"), "id",
		    a->owner, NULL)) == NULL) {
			r = ob_errf(OB_ERR_OWNER_UNKNOWN, "no owner %s",
			    a->owner);
			goto out;
		}
		json_incref(out);
	} else {
		if ((v = find_key(doc, a->kid, &ow, NULL)) == NULL) {
			r = ob_errf(OB_ERR_KEY_NOT_FOUND, "no key %s", a->kid);
			goto out;
		}
		out = json_pack("{s:O,s:O}", "owner", json_object_get(ow,
		    "id"), "key", v);
	}
	if (a->json) {
		OB_TRY(ob_json_dump(out, &s, &n));
		printf("%s\n", s);
	} else if (list) {
		json_array_foreach(json_object_get(doc, "owners"), i, v)
			print_owner(v);
		json_array_foreach(json_object_get(doc, "gateways"), i, v)
			printf("gateway %s for %s (%s key)\n",
			    json_string_value(json_object_get(v, "id")),
			    json_string_value(json_object_get(v, "owner")),
			    json_is_string(json_object_get(v, "kind")) ?
			    json_string_value(json_object_get(v, "kind")) :
			    "software");
		printf("%zu PIV attestation roots, %zu TPM attestation keys\n",
		    json_array_size(json_object_get(doc, "piv_roots")),
		    json_array_size(json_object_get(doc,
		    "tpm_attestation_keys")));
	} else if (a->owner != NULL)
		print_owner(out);
	else {
		printf("owner %s\n", json_string_value(json_object_get(ow,
		    "id")));
		print_key(json_object_get(out, "key"));
	}
	r = OB_OK;
out:
	free(s);
	json_decref(out);
	json_decref(doc);
	return r;
}

/* ---- the command line ---- */

static const struct {
	const char	*name;
	owner_trust_fn	 fn;
	int		 create;
} actions[] = {
	{ "add-key", edit_add_key, 1 },
	{ "remove-key", edit_remove_key, 0 },
	{ "revoke-key", edit_revoke_key, 0 },
	{ "remove-owner", edit_remove_owner, 0 },
	{ "revoke-owner", edit_revoke_owner, 0 },
	{ "add-gateway", edit_add_gateway, 1 },
	{ "remove-gateway", edit_remove_gateway, 0 },
	{ "add-piv-root", edit_add_piv_root, 1 },
	{ "remove-piv-root", edit_remove_piv_root, 0 },
	{ "add-ak", edit_add_ak, 1 },
	{ "remove-ak", edit_remove_ak, 0 },
};

/* The option an action needs, or NULL when it has them all. */
static const char *
missing(const struct targs *a)
{
	const char *n = a->action;

	if (a->trust == NULL)
		return "--trust";
	if (strcmp(n, "show") == 0 && (a->owner == NULL) == (a->kid == NULL))
		return "--owner or --kid (one of them)";
	if (strcmp(n, "add-key") == 0)
		return a->owner == NULL ? "--owner" : a->nmb == 0 ?
		    "--may-bind" : a->public == NULL ? "--public" : NULL;
	if (strcmp(n, "remove-key") == 0 || strcmp(n, "remove-ak") == 0)
		return a->kid == NULL ? "--kid" : NULL;
	if (strcmp(n, "revoke-key") == 0)
		return a->kid == NULL ? "--kid" : a->reason == NULL ?
		    "--reason" : NULL;
	if (strcmp(n, "remove-owner") == 0)
		return a->owner == NULL ? "--owner" : NULL;
	if (strcmp(n, "revoke-owner") == 0)
		return a->owner == NULL ? "--owner" : a->reason == NULL ?
		    "--reason" : NULL;
	if (strcmp(n, "add-gateway") == 0)
		return a->id == NULL ? "--id" : a->owner == NULL ? "--owner" :
		    a->ca == NULL ? "--ca" : a->alg == NULL ? "--alg" :
		    a->nproxy == 0 ? "--proxy" : a->ntd == 0 ?
		    "--trust-domain" : a->nmb == 0 ? "--may-bind" : NULL;
	if (strcmp(n, "remove-gateway") == 0)
		return a->id == NULL ? "--id" : NULL;
	if (strcmp(n, "add-piv-root") == 0 || strcmp(n, "remove-piv-root") == 0)
		return a->cert == NULL ? "--cert" : NULL;
	if (strcmp(n, "add-ak") == 0)
		return a->ak == NULL ? "--ak" : NULL;
	return NULL;
}

static int
push(const char **v, size_t *n, const char *s, const char *opt)
{
	if (*n == MAX_LIST)
		return ob_errf(OB_ERR_USAGE, "at most %d %s", MAX_LIST, opt);
	v[(*n)++] = s;
	return OB_OK;
}

int
cmd_trust(int argc, char **argv)
{
	enum { O_TRUST = 256, O_OWNER, O_KID, O_ID, O_REASON, O_AT, O_PUBLIC,
	    O_KIND, O_ALG, O_NB, O_NA, O_MB, O_CA, O_PROXY, O_TD, O_EKU,
	    O_CERT, O_AK, O_JSON };
	static const struct option longopts[] = {
		{ "trust", required_argument, NULL, O_TRUST },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "kid", required_argument, NULL, O_KID },
		{ "id", required_argument, NULL, O_ID },
		{ "reason", required_argument, NULL, O_REASON },
		{ "at", required_argument, NULL, O_AT },
		{ "public", required_argument, NULL, O_PUBLIC },
		{ "kind", required_argument, NULL, O_KIND },
		{ "alg", required_argument, NULL, O_ALG },
		{ "not-before", required_argument, NULL, O_NB },
		{ "not-after", required_argument, NULL, O_NA },
		{ "may-bind", required_argument, NULL, O_MB },
		{ "ca", required_argument, NULL, O_CA },
		{ "proxy", required_argument, NULL, O_PROXY },
		{ "trust-domain", required_argument, NULL, O_TD },
		{ "require-eku", no_argument, NULL, O_EKU },
		{ "cert", required_argument, NULL, O_CERT },
		{ "ak", required_argument, NULL, O_AK },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct targs	 a;
	const char	*m;
	size_t		 i;
	int		 ch, r = OB_OK;

	memset(&a, 0, sizeof(a));
	a.json = owner_json;
	if (argc >= 2 && strcmp(argv[1], "--help") != 0) {
		a.action = argv[1];
		argc--;
		argv++;
	}
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_TRUST: a.trust = optarg; break;
		case O_OWNER: a.owner = optarg; break;
		case O_KID: a.kid = optarg; break;
		case O_ID: a.id = optarg; break;
		case O_REASON: a.reason = optarg; break;
		case O_PUBLIC: a.public = optarg; break;
		case O_KIND: a.kind = optarg; break;
		case O_ALG: a.alg = optarg; break;
		case O_CA: a.ca = optarg; break;
		case O_CERT: a.cert = optarg; break;
		case O_AK: a.ak = optarg; break;
		case O_EKU: a.require_eku = 1; break;
		case O_JSON: a.json = 1; break;
		case O_AT:
			r = ob_parse_ll(optarg, 1, 253402300799LL, &a.at);
			break;
		case O_NB:
			r = ob_parse_ll(optarg, 1, 253402300799LL,
			    &a.not_before);
			break;
		case O_NA:
			r = ob_parse_ll(optarg, 1, 253402300799LL,
			    &a.not_after);
			break;
		case O_MB:
			r = push(a.may_bind, &a.nmb, optarg, "--may-bind");
			break;
		case O_PROXY:
			r = push(a.proxy, &a.nproxy, optarg, "--proxy");
			break;
		case O_TD:
			r = push(a.td, &a.ntd, optarg, "--trust-domain");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return owner_badopt(usage, argc, argv);
		}
		if (r != OB_OK)
			return fail_usage(ob_err_prefix(OB_ERR_USAGE, "%s",
			    longopts[ch - O_TRUST].name));
	}
	if (a.action == NULL || optind != argc)
		return owner_usage(usage, a.action == NULL ? "trust: an action "
		    "is required" : NULL);
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(a.action, actions[i].name) == 0)
			break;
	/* An unknown action is named before what it would need. */
	if (i == sizeof(actions) / sizeof(actions[0]) &&
	    strcmp(a.action, "list") != 0 && strcmp(a.action, "show") != 0)
		return fail(ob_errf(OB_ERR_USAGE, "unknown trust action "
		    "\"%.32s\" (ownerbind trust --help)", a.action));
	if ((m = missing(&a)) != NULL)
		return fail(ob_errf(OB_ERR_USAGE, "trust %s needs %s",
		    a.action, m));
	if (a.at == 0)
		a.at = (long long)time(NULL);
	if (strcmp(a.action, "list") == 0 || strcmp(a.action, "show") == 0)
		r = show(&a, strcmp(a.action, "list") == 0);
	else {
		r = owner_trust_edit(a.trust, actions[i].create, actions[i].fn,
		    NULL, &a);
		if (r == OB_OK && a.done[0] != '\0')
			owner_done(a.action, a.trust, "%s in %s", a.done,
			    a.trust);
	}
	return r == OB_OK ? 0 : fail(r);
}
