/*
 * TEST ONLY: drive the FIDO2 backend against softfido with the same
 * ob_token_* calls the ownerbind CLI makes, and write real authenticator
 * output for the shell and Python tests.
 *
 *   fido2-tool [--sf NAME=STATE]... [--attestation batch|self|none]
 *              [--touch yes|no|cancel] CMD ...
 *
 *   init                       create each softfido (PIN from $SF_SET_PIN)
 *   keygen --key URI [--alg ES256|EdDSA] [--pin-source SRC]
 *   trust --owner ID --may-bind PAT -o TRUST --key URI [--key URI]...
 *   sign --key URI [--kid KID] [--pin-source SRC] [--quiet] -o OUT IN
 *   webauthn --key URI -o OUT ENVELOPE   file for tests/interop
 *   devices                    ob_fido2_devices as JSON
 *   keys                       ob_keys_list as JSON (`ownerbind keys --json`)
 *   state NAME                 counter and PIN retries of softfido NAME
 *
 * --sf registers softfido NAME (path "softfido:NAME"), loaded from and
 * autosaved to STATE; the registered names are the device list the
 * backend searches.  Errors: "fido2-tool: OB_ERR_...: sentence (detail)"
 * on stderr, exit 1.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "tokens/fido2/ob_fido2.h"
#include "tokens/fido2/ob_fido2_test.h"
#include "tests/softfido/softfido.h"
#include "tokens/keys.h"
#include "tokens/token.h"

#define MAXSF	8

static struct softfido	*sfs[MAXSF];
static char		*sfnames[MAXSF + 1];
static char		*sfstates[MAXSF];
static size_t		 nsf;

static int
die(int r)
{
	fprintf(stderr, "fido2-tool: %s: %s (%s)\n", ob_err_name(r),
	    ob_err_text(r), ob_err_detail());
	return 1;
}

static int
read_file(const char *path, char **out, size_t *len)
{
	FILE	*f;
	char	*b;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s", path);
	b = malloc(OB_MAX_ENVELOPE + 1);
	n = b != NULL ? fread(b, 1, OB_MAX_ENVELOPE + 1, f) : 0;
	fclose(f);
	if (b == NULL || n > OB_MAX_ENVELOPE) {
		free(b);
		return ob_errf(OB_ERR_IO, "%s: too large", path);
	}
	b[n] = '\0';
	*out = b;
	*len = n;
	return OB_OK;
}

static int
write_str(const char *path, const char *s)
{
	FILE *f;

	if ((f = fopen(path, "we")) == NULL)
		return ob_errf(OB_ERR_IO, "%s", path);
	fputs(s, f);
	fputc('\n', f);
	return fclose(f) == 0 ? OB_OK : ob_errf(OB_ERR_IO, "%s", path);
}

static int
sf_setup(int create, enum softfido_attestation att, enum softfido_touch touch)
{
	const char	*pin = getenv("SF_SET_PIN");
	char		 path[256];
	size_t		 i;

	for (i = 0; i < nsf; i++) {
		if ((sfs[i] = softfido_new()) == NULL)
			return ob_errf(OB_ERR_INTERNAL, "softfido_new");
		if (!create && softfido_load(sfs[i], sfstates[i]) != 0)
			return ob_errf(OB_ERR_IO, "softfido_load %s",
			    sfstates[i]);
		if (create && pin != NULL && softfido_set_pin(sfs[i], pin) != 0)
			return ob_errf(OB_ERR_INTERNAL, "softfido_set_pin");
		if (create && softfido_save(sfs[i], sfstates[i]) != 0)
			return ob_errf(OB_ERR_IO, "softfido_save %s",
			    sfstates[i]);
		if (softfido_set_autosave(sfs[i], sfstates[i]) != 0)
			return ob_errf(OB_ERR_IO, "autosave %s", sfstates[i]);
		softfido_set_attestation(sfs[i], att);
		softfido_set_touch(sfs[i], touch);
		softfido_set_touch_timeout(sfs[i], 5000);
		(void)snprintf(path, sizeof(path), "softfido:%s", sfnames[i]);
		free(sfnames[i]);
		if ((sfnames[i] = strdup(path)) == NULL ||
		    softfido_register(sfnames[i], sfs[i]) != 0)
			return ob_errf(OB_ERR_INTERNAL, "softfido_register");
	}
	ob_fido2_set_io(softfido_io());
	ob_fido2_set_test_devices((const char *const *)sfnames);
	return OB_OK;
}

/* Ctrl-C while the key waits for a touch: the backend must cancel. */
static void *
interrupt_later(void *v)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	(void)v;
	nanosleep(&ts, NULL);
	kill(getpid(), SIGINT);
	return NULL;
}

static int
cmd_keygen(const char *uri, enum ob_alg alg, const char *pin_spec)
{
	struct ob_token_opts	 opts;
	struct ob_pin_source	*pin = NULL;
	struct ob_token		*tok = NULL;
	json_t			*e = NULL;
	char			*s = NULL;
	size_t			 n;
	int			 r;

	memset(&opts, 0, sizeof(opts));
	opts.alg = alg;
	if (pin_spec != NULL && (r = ob_pin_source_parse(pin_spec,
	    &pin)) != OB_OK)
		return r;
	opts.pin = pin;
	OB_TRY(ob_token_keygen(uri, &opts));
	OB_TRY(ob_token_open(uri, &opts, &tok));
	OB_TRY(ob_token_key_entry(tok, &e));
	OB_TRY(ob_json_dump(e, &s, &n));
	printf("%s\n", s);
out:
	free(s);
	json_decref(e);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	return r;
}

static int
cmd_trust(const char *const *uris, size_t nuri, const char *owner,
    const char *maybind, const char *out)
{
	struct ob_token	*tok = NULL;
	json_t		*doc = NULL, *keys, *e = NULL;
	char		*s = NULL;
	size_t		 i;
	int		 r;

	if ((doc = json_pack("{s:i,s:[{s:s,s:[s],s:[]}]}", "ownerbind_trust", 1,
	    "owners", "id", owner, "may_bind", maybind, "keys")) == NULL)
		return OB_ERR_ALLOC;
	keys = json_object_get(json_array_get(json_object_get(doc, "owners"),
	    0), "keys");
	for (i = 0; i < nuri; i++) {
		OB_TRY(ob_token_open(uris[i], NULL, &tok));
		OB_TRY(ob_token_key_entry(tok, &e));
		if (json_array_append_new(keys, e) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		e = NULL;
		ob_token_close(&tok);
	}
	if ((s = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = write_str(out, s);
out:
	free(s);
	json_decref(e);
	json_decref(doc);
	ob_token_close(&tok);
	return r;
}

static int
cmd_sign(const char *uri, const char *kid, const char *pin_spec, int quiet,
    const char *in, const char *out)
{
	struct ob_token_opts	 opts;
	struct ob_pin_source	*pin = NULL;
	struct ob_token		*tok = NULL;
	struct ob_envelope	*env = NULL;
	char			*buf = NULL, *s = NULL;
	size_t			 len;
	int			 r;

	memset(&opts, 0, sizeof(opts));
	opts.quiet = quiet;
	OB_TRY(read_file(in, &buf, &len));
	OB_TRY(ob_envelope_parse(buf, len, OB_PARSE_ALLOW_UNSIGNED, &env));
	if (pin_spec != NULL)
		OB_TRY(ob_pin_source_parse(pin_spec, &pin));
	opts.pin = pin;
	OB_TRY(ob_token_open(uri, &opts, &tok));
	OB_TRY(ob_token_sign_entry(tok, env, OB_ROLE_OWNER,
	    OB_MODEL_AGENT_MEDIATED, NULL, NULL, kid, (long long)time(NULL)));
	OB_TRY(ob_envelope_serialize(env, &s, &len));
	r = write_str(out, s);
out:
	free(s);
	free(buf);
	ob_envelope_free(&env);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	return r;
}

static int
cmd_webauthn(const char *uri, const char *in, const char *out)
{
	struct ob_token	*tok = NULL;
	json_t		*e = NULL, *o = NULL;
	BIO		*bio = NULL;
	BUF_MEM		*bm;
	char		*buf = NULL, *pem = NULL, *s = NULL;
	size_t		 len;
	int		 r;

	OB_TRY(read_file(in, &buf, &len));
	OB_TRY(ob_token_open(uri, NULL, &tok));
	OB_TRY(ob_token_key_entry(tok, &e));
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, ob_token_pubkey(tok)) != 1) {
		r = OB_ERR_CRYPTO;
		goto out;
	}
	BIO_get_mem_ptr(bio, &bm);
	if ((pem = strndup(bm->data, bm->length)) == NULL ||
	    (o = json_pack("{s:s,s:s,s:O,s:b}", "envelope", buf,
	    "public_key_pem", pem, "rp_id", json_object_get(json_object_get(e,
	    "fido2"), "rp_id"), "uv_required", strcmp(json_string_value(
	    json_object_get(json_object_get(e, "fido2"), "uv")),
	    "required") == 0)) == NULL ||
	    (s = json_dumps(o, JSON_INDENT(1))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = write_str(out, s);
out:
	BIO_free(bio);
	free(pem);
	free(s);
	free(buf);
	json_decref(o);
	json_decref(e);
	ob_token_close(&tok);
	return r;
}

static int
cmd_devices(void)
{
	json_t	*a = NULL;
	char	*s;
	int	 r;

	if ((r = ob_fido2_devices(&a)) != OB_OK)
		return r;
	if ((s = json_dumps(a, JSON_INDENT(2))) != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(a);
	return OB_OK;
}

static int
cmd_keys(void)
{
	struct ob_keys_opts	 o;
	json_t			*a = NULL;
	char			*s;
	int			 r;

	memset(&o, 0, sizeof(o));
	if ((r = ob_keys_list(&o, &a)) != OB_OK)
		return r;
	if ((s = json_dumps(a, JSON_COMPACT)) != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(a);
	return OB_OK;
}

int
main(int argc, char **argv)
{
	enum softfido_attestation	 att = SOFTFIDO_ATT_BATCH;
	enum softfido_touch		 touch = SOFTFIDO_TOUCH_YES;
	enum ob_alg			 alg = OB_ALG_INVALID;
	const char			*keys[8], *cmd, *kid = NULL;
	const char			*pin = NULL, *out = NULL, *in = NULL;
	const char			*owner = NULL, *maybind = NULL, *eq;
	pthread_t			 thr;
	size_t				 nkeys = 0, i;
	int				 a, r, quiet = 0, cancel = 0;

	for (a = 1; a + 1 < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
		if (strcmp(argv[a], "--sf") == 0 && nsf < MAXSF &&
		    (eq = strchr(argv[a + 1], '=')) != NULL) {
			sfnames[nsf] = strndup(argv[a + 1],
			    (size_t)(eq - argv[a + 1]));
			sfstates[nsf++] = strdup(eq + 1);
		} else if (strcmp(argv[a], "--attestation") == 0)
			att = strcmp(argv[a + 1], "self") == 0 ?
			    SOFTFIDO_ATT_SELF : strcmp(argv[a + 1], "none") ==
			    0 ? SOFTFIDO_ATT_NONE : SOFTFIDO_ATT_BATCH;
		else if (strcmp(argv[a], "--touch") == 0) {
			if (strcmp(argv[a + 1], "no") == 0)
				touch = SOFTFIDO_TOUCH_NO;
			else if (strcmp(argv[a + 1], "cancel") == 0) {
				touch = SOFTFIDO_TOUCH_WAIT;
				cancel = 1;
			}
		} else {
			fprintf(stderr, "fido2-tool: bad option %s\n", argv[a]);
			return 2;
		}
	}
	if (a >= argc)
		return 2;
	cmd = argv[a++];
	if (strcmp(cmd, "state") == 0) {
		if ((r = sf_setup(0, att, touch)) != OB_OK)
			return die(r);
		for (i = 0; i < nsf; i++)
			if (a < argc && strcmp(sfnames[i] + 9, argv[a]) == 0)
				printf("counter=%u retries=%d\n",
				    softfido_counter(sfs[i]),
				    softfido_pin_retries(sfs[i]));
		return 0;
	}
	for (; a < argc; a++) {
		if (strcmp(argv[a], "--key") == 0 && a + 1 < argc && nkeys < 8)
			keys[nkeys++] = argv[++a];
		else if (strcmp(argv[a], "--alg") == 0 && a + 1 < argc) {
			if (ob_alg_from_name(argv[++a], &alg) != OB_OK)
				return 2;
		} else if (strcmp(argv[a], "--pin-source") == 0 && a + 1 < argc)
			pin = argv[++a];
		else if (strcmp(argv[a], "--kid") == 0 && a + 1 < argc)
			kid = argv[++a];
		else if (strcmp(argv[a], "--owner") == 0 && a + 1 < argc)
			owner = argv[++a];
		else if (strcmp(argv[a], "--may-bind") == 0 && a + 1 < argc)
			maybind = argv[++a];
		else if (strcmp(argv[a], "-o") == 0 && a + 1 < argc)
			out = argv[++a];
		else if (strcmp(argv[a], "--quiet") == 0)
			quiet = 1;
		else if (argv[a][0] != '-' && in == NULL)
			in = argv[a];
		else {
			fprintf(stderr, "fido2-tool: bad argument %s\n", argv[a]);
			return 2;
		}
	}
	if ((r = sf_setup(strcmp(cmd, "init") == 0, att, touch)) != OB_OK)
		return die(r);
	if (strcmp(cmd, "init") == 0)
		r = OB_OK;
	else if (strcmp(cmd, "keygen") == 0 && nkeys == 1)
		r = cmd_keygen(keys[0], alg, pin);
	else if (strcmp(cmd, "trust") == 0 && nkeys > 0 && owner != NULL &&
	    maybind != NULL && out != NULL)
		r = cmd_trust(keys, nkeys, owner, maybind, out);
	else if (strcmp(cmd, "sign") == 0 && nkeys == 1 && in != NULL &&
	    out != NULL) {
		if (cancel && pthread_create(&thr, NULL, interrupt_later,
		    NULL) != 0)
			return 2;
		r = cmd_sign(keys[0], kid, pin, quiet, in, out);
		if (cancel)
			pthread_join(thr, NULL);
	} else if (strcmp(cmd, "webauthn") == 0 && nkeys == 1 && in != NULL &&
	    out != NULL)
		r = cmd_webauthn(keys[0], in, out);
	else if (strcmp(cmd, "devices") == 0)
		r = cmd_devices();
	else if (strcmp(cmd, "keys") == 0)
		r = cmd_keys();
	else {
		fprintf(stderr, "fido2-tool: bad command line\n");
		return 2;
	}
	for (i = 0; i < nsf; i++) {
		if (softfido_unregister(sfnames[i]) != 0)
			fprintf(stderr, "fido2-tool: unregister failed\n");
		softfido_free(&sfs[i]);
		free(sfnames[i]);
		free(sfstates[i]);
	}
	return r == OB_OK ? 0 : die(r);
}
