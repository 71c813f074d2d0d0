/* ownerbind keygen / enroll: make keys and provision the trust store. */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownerbind/ob_verify.h"
#include "server-verify/state.h"
#include "common/cliutil.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"
#include "tokens/token.h"

static void
keygen_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " keygen --key URI [--alg ES256|ES384|EdDSA|PS256]\n"
"           [--pin-source SRC] [--json]\n"
"\n"
"Creates a key at URI and prints its kid (RFC 7638 thumbprint) and public\n"
"JWK.  Nothing is overwritten.  For file: keys, --pin-source encrypts the\n"
"file with a passphrase from that source.\n");
}

static void
enroll_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " enroll --key URI --owner ID --may-bind PATTERN [...]\n"
"           --trust FILE [--pin-source SRC]\n"
"           [--attestation EVIDENCE --state PATH] [--add-ak AK.json]\n"
"\n"
"Adds the public key at URI to the trust store FILE (created if missing)\n"
"for owner ID, and lets the owner bind agent identifiers matching each\n"
"PATTERN (fnmatch with FNM_PATHNAME: * stops at /), such as\n"
"wimse://td.example/agents/*.  --may-bind may repeat.\n"
"  --attestation FILE TPM2_Certify evidence from ownerbind attest; its nonce\n"
"                     must be live in the server's --state (it is consumed)\n"
"                     and the evidence verify against a trusted attestation\n"
"                     key, or nothing is written (assurance \"attested\")\n"
"  --add-ak FILE      add a TPM attestation key (ownerbind attest --show-ak)\n"
"                     to the store's tpm_attestation_keys\n");
}

static int
keys_print(struct ob_token *tok, const char *uri, int json)
{
	json_t	*e = NULL;
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_token_key_entry(tok, &e)) != OB_OK)
		return r;
	if (json) {
		if (json_object_set_new(e, "uri", json_string(uri)) != 0)
			r = OB_ERR_ALLOC;
		else if ((r = ob_json_dump(e, &s, &n)) == OB_OK)
			printf("%s\n", s);
	} else {
		if ((r = ob_json_dump(json_object_get(e, "jwk"), &s,
		    &n)) == OB_OK)
			printf("key   %s\nkind  %s\nalg   %s\nkid   %s\njwk   "
			    "%s\n", uri, ob_token_kind(tok),
			    ob_alg_name(ob_token_alg(tok)), ob_token_kid(tok), s);
	}
	free(s);
	json_decref(e);
	return r;
}

int
cmd_keygen(int argc, char **argv)
{
	enum { O_KEY = 256, O_ALG, O_PIN, O_JSON };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "alg", required_argument, NULL, O_ALG },
		{ "pin-source", required_argument, NULL, O_PIN },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_token_opts	 opts;
	struct ob_pin_source	*pin = NULL;
	struct ob_token		*tok = NULL;
	const char		*uri = NULL, *pin_spec = NULL;
	int			 ch, r, json = owner_json;

	memset(&opts, 0, sizeof(opts));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: uri = optarg; break;
		case O_ALG:
			if ((r = ob_alg_from_name(optarg, &opts.alg)) != OB_OK ||
			    ob_alg_is_webauthn(opts.alg))
				return fail_usage(r != OB_OK ? r :
				    ob_errf(OB_ERR_USAGE, "--alg is ES256, "
				    "ES384, EdDSA or PS256"));
			break;
		case O_PIN: pin_spec = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			return owner_badopt(keygen_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("keygen", keygen_usage, { "--key", uri }))
		return EXIT_USAGE;
	if (optind != argc)
		return owner_usage(keygen_usage, NULL);
	/* file: keys are encrypted only when a source is named. */
	if ((pin_spec != NULL || strncmp(uri, "file:", 5) != 0) &&
	    (r = ob_pin_source_parse(pin_spec, &pin)) != OB_OK)
		return fail(r);
	opts.pin = pin;
	if ((r = ob_token_keygen(uri, &opts)) == OB_OK &&
	    (r = ob_token_open(uri, &opts, &tok)) == OB_OK)
		r = keys_print(tok, uri, json);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	return r == OB_OK ? 0 : fail(r);
}

/* Add patterns and key to owner id in the trust document. */
static int
enroll_merge(json_t *doc, const char *id, json_t *key,
    const char *const *patterns, size_t npat)
{
	json_t		*owners, *ow = NULL, *keys, *mb, *v, *o;
	const char	*kid = json_string_value(json_object_get(key, "kid"));
	size_t		 i, j, k;
	int		 r;

	if ((r = owner_trust_array(doc, "owners", &owners)) != OB_OK)
		return r;
	json_array_foreach(owners, i, o) {
		const char *oid = json_string_value(json_object_get(o, "id"));

		if (oid != NULL && strcmp(oid, id) == 0)
			ow = o;
		keys = json_object_get(o, "keys");
		json_array_foreach(keys, j, v) {
			const char *k2 = json_string_value(json_object_get(v,
			    "kid"));

			if (k2 != NULL && strcmp(k2, kid) == 0 && o != ow)
				return ob_errf(OB_ERR_TRUST_INVALID, "key %s is "
				    "already enrolled for owner %s", kid,
				    oid != NULL ? oid : "?");
		}
	}
	if (ow == NULL) {
		if ((ow = json_pack("{s:s,s:[],s:[]}", "id", id, "may_bind",
		    "keys")) == NULL || json_array_append_new(owners, ow) != 0)
			return OB_ERR_ALLOC;
	}
	mb = json_object_get(ow, "may_bind");
	keys = json_object_get(ow, "keys");
	if (!json_is_array(mb) || !json_is_array(keys))
		return ob_errf(OB_ERR_TRUST_INVALID, "owner %s is malformed", id);
	for (k = 0; k < npat; k++) {
		json_array_foreach(mb, j, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), patterns[k]) == 0)
				break;
		if (j == json_array_size(mb) &&
		    json_array_append_new(mb, json_string(patterns[k])) != 0)
			return OB_ERR_ALLOC;
	}
	json_array_foreach(keys, j, v)
		if (strcmp(json_string_value(json_object_get(v, "kid")),
		    kid) == 0)
			return OB_OK;		/* already enrolled */
	return json_array_append(keys, key) == 0 ? OB_OK : OB_ERR_ALLOC;
}

/* Add an attestation key entry, once. */
static int
enroll_add_ak(json_t *doc, json_t *ak)
{
	json_t	*aks, *v;
	size_t	 i;
	int	 r;

	if ((r = owner_trust_array(doc, "tpm_attestation_keys", &aks)) != OB_OK)
		return r;
	json_array_foreach(aks, i, v)
		if (json_equal(json_object_get(v, "kid"),
		    json_object_get(ak, "kid")))
			return OB_OK;
	return json_array_append(aks, ak) == 0 ? OB_OK : OB_ERR_ALLOC;
}

/*
 * The attestation nonce is spent only once the new store is known to load
 * (its evidence verified against a trusted attestation key): a failure
 * the owner can fix, such as an attestation key not yet in the store,
 * leaves the nonce live for the next try.
 */
static int
enroll_consume(const char *state_path, const char *nonce)
{
	struct ob_state	*st = NULL;
	int		 r;

	if ((r = ob_state_open_sqlite(state_path, &st)) != OB_OK)
		return r;
	if ((r = ob_state_consume_nonce(st, nonce, (long long)time(NULL))) !=
	    OB_OK)
		r = ob_errf(OB_ERR_ATTEST_NONCE, "the attestation nonce: %s",
		    ob_err_name(r));
	ob_state_free(&st);
	return r;
}

struct enroll {
	json_t			*key, *ak;
	const char		*owner;
	const char *const	*patterns;
	size_t			 npat;
	const char		*state_path, *nonce;
};

static int
enroll_edit(json_t *doc, void *arg)
{
	struct enroll	*e = arg;
	int		 r;

	if (e->ak != NULL && (r = enroll_add_ak(doc, e->ak)) != OB_OK)
		return r;
	return enroll_merge(doc, e->owner, e->key, e->patterns, e->npat);
}

static int
enroll_commit(json_t *doc, void *arg)
{
	struct enroll	*e = arg;

	(void)doc;
	return e->nonce != NULL ? enroll_consume(e->state_path, e->nonce) :
	    OB_OK;
}

static int
enroll_write(const char *trust, json_t *key, const char *owner,
    const char *const *patterns, size_t npat, json_t *ak,
    const char *state_path, const char *nonce)
{
	struct enroll	e = { key, ak, owner, patterns, npat, state_path,
			    nonce };
	int		r;

	if ((r = owner_trust_edit(trust, 1, enroll_edit, enroll_commit, &e)) ==
	    OB_OK || nonce == NULL)
		return r;
	if (strstr(ob_err_detail(), "the new trust store would be invalid") !=
	    NULL && strstr(ob_err_detail(),
	    ob_err_name(OB_ERR_ATTEST_UNTRUSTED)) != NULL)
		return ob_err_prefix(r, "the nonce was not used: add the "
		    "attestation key with --add-ak FILE, from `ownerbind "
		    "attest --show-ak`, and enrol again");
	if (strstr(ob_err_detail(), "the new trust store would be invalid") !=
	    NULL)
		return ob_err_prefix(r, "the nonce was not used");
	return r;
}

static int
enroll_load_json(const char *path, json_t **out)
{
	char	*buf = NULL;
	size_t	 len;
	int	 r;

	if ((r = ob_read_all(path, 64 * 1024, &buf, &len)) != OB_OK)
		return r;
	r = ob_json_parse_object(buf, len, out);
	free(buf);
	return r != OB_OK ? ob_err_prefix(r, "%s", path) : OB_OK;
}

/*
 * Attestation evidence joins the key entry; its nonce (*nonce, a copy) is
 * consumed by enroll_write once the new store, evidence checked, loads.
 */
static int
enroll_evidence(const char *path, json_t *key, char **nonce)
{
	json_t		*ev = NULL;
	const char	*n;
	int		 r;

	if ((r = enroll_load_json(path, &ev)) != OB_OK)
		return r;
	if ((n = json_string_value(json_object_get(ev, "nonce"))) == NULL) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "%s: no nonce", path);
		goto out;
	}
	if ((*nonce = strdup(n)) == NULL ||
	    json_object_set(key, "attestation", ev) != 0) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = OB_OK;
out:
	json_decref(ev);
	return r;
}

int
cmd_enroll(int argc, char **argv)
{
	enum { O_KEY = 256, O_OWNER, O_MAYBIND, O_TRUST, O_PIN, O_ATTEST,
	    O_STATE, O_ADDAK };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "may-bind", required_argument, NULL, O_MAYBIND },
		{ "trust", required_argument, NULL, O_TRUST },
		{ "pin-source", required_argument, NULL, O_PIN },
		{ "attestation", required_argument, NULL, O_ATTEST },
		{ "state", required_argument, NULL, O_STATE },
		{ "add-ak", required_argument, NULL, O_ADDAK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_token_opts	 opts;
	struct ob_pin_source	*pin = NULL;
	struct ob_token		*tok = NULL;
	const char		*uri = NULL, *owner = NULL, *trust = NULL;
	const char		*pin_spec = NULL, *patterns[32];
	const char		*attest_path = NULL, *state_path = NULL;
	const char		*ak_path = NULL;
	json_t			*key = NULL, *ak = NULL;
	char			*nonce = NULL;
	size_t			 npat = 0;
	int			 ch, r;

	memset(&opts, 0, sizeof(opts));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: uri = optarg; break;
		case O_OWNER: owner = optarg; break;
		case O_MAYBIND:
			if (npat == sizeof(patterns) / sizeof(patterns[0]))
				return fail_usage(ob_errf(OB_ERR_USAGE,
				    "at most 32 --may-bind"));
			patterns[npat++] = optarg;
			break;
		case O_TRUST: trust = optarg; break;
		case O_PIN: pin_spec = optarg; break;
		case O_ATTEST: attest_path = optarg; break;
		case O_STATE: state_path = optarg; break;
		case O_ADDAK: ak_path = optarg; break;
		case 'h':
			enroll_usage(stdout);
			return 0;
		default:
			return owner_badopt(enroll_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("enroll", enroll_usage, { "--key", uri },
	    { "--owner", owner }, { "--trust", trust },
	    { "--may-bind", npat > 0 ? "" : NULL },
	    { attest_path != NULL ? "--state (with --attestation)" : NULL,
	    state_path }))
		return EXIT_USAGE;
	if (optind != argc || (attest_path != NULL) != (state_path != NULL))
		return owner_usage(enroll_usage, NULL);
	if ((pin_spec != NULL || strncmp(uri, "file:", 5) != 0) &&
	    (r = ob_pin_source_parse(pin_spec, &pin)) != OB_OK)
		return fail(r);
	opts.pin = pin;
	opts.quiet = 1;
	if ((r = ob_token_open(uri, &opts, &tok)) == OB_OK &&
	    (r = ob_token_key_entry(tok, &key)) == OB_OK &&
	    (ak_path == NULL || (r = enroll_load_json(ak_path, &ak)) == OB_OK) &&
	    (attest_path == NULL || (r = enroll_evidence(attest_path, key,
	    &nonce)) == OB_OK) &&
	    (r = enroll_write(trust, key, owner, patterns, npat, ak,
	    state_path, nonce)) == OB_OK)
		owner_done("enroll", trust, "enrolled %s for %s in %s",
		    ob_token_kid(tok), owner, trust);
	free(nonce);
	json_decref(key);
	json_decref(ak);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	return r == OB_OK ? 0 : fail(r);
}
