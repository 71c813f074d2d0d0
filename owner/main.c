/*
 * ownerbind: build, sign and inspect owner-binding envelopes.
 * man/ownerbind.1 describes every verb (and --json, which main() takes).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <getopt.h>

#include "common/cliutil.h"
#include "common/process.h"
#include "core/envelope.h"
#include "core/json.h"
#include "core/err.h"
#include "owner/ownerbind.h"
#include "tokens/token.h"

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*what;
} verbs[] = {
	{ "request", cmd_request, "write an agent's credential request" },
	{ "sign", cmd_sign, "append an owner or gateway signature" },
	{ "pop", cmd_pop, "append the agent's proof-of-possession" },
	{ "keygen", cmd_keygen, "create a key (file:, pkcs11:, tpm2:, ...)" },
	{ "enroll", cmd_enroll, "add an owner key to a trust store" },
	{ "trust", cmd_trust, "list, add, remove and revoke trust-store entries" },
	{ "inspect", cmd_inspect, "show what an envelope says" },
	{ "keys", cmd_keylist, "list the keys of every backend (PKCS#11, "
	    "TPM, PIV, FIDO2)" },
	{ "devices", cmd_devices, "list connected FIDO2 security keys" },
	{ "doctor", cmd_doctor, "explain device-permission problems" },
	{ "attest", cmd_attest, "TPM key attestation evidence (tpm2:)" },
	{ "submit", cmd_submit, "send an envelope to an identity server" },
	{ "respond", cmd_respond, "answer the server's challenges (server-mediated)" },
	{ "wpt", cmd_wpt, "a proof token for one request with a WIT" },
	{ "agent", cmd_agent, "an agent's credential from the identity proxy" },
	{ "approve", cmd_approve, "approve a request a gateway holds" },
};

/*
 * Options a verb takes from the defaults file when the command line does
 * not give them: appended to argv (getopt permutes, so after operands is
 * fine).  Never a default for keygen: a key is created where asked only.
 */
static const struct {
	const char	*verb, *option;
	size_t		 member;	/* 0 key, 1 trust, 2 aud, 3 pin-source */
} defaulted[] = {
	{ "request", "--aud", 2 },
	{ "sign", "--key", 0 }, { "sign", "--pin-source", 3 },
	{ "enroll", "--key", 0 }, { "enroll", "--trust", 1 },
	{ "enroll", "--pin-source", 3 },
	{ "trust", "--trust", 1 },
};

/* argv for verb with the defaults added; *nargv is freed by the caller. */
static int
with_defaults(const char *verb, int argc, char **argv, int *nargc,
    char ***nargv)
{
	const struct ob_cli_defaults	*d;
	const char			*v[4];
	char				**a;
	size_t				 i;
	int				 n = argc, r;

	if ((r = ob_cli_defaults(&d)) != OB_OK)
		return r;
	v[0] = d->key;
	v[1] = d->trust;
	v[2] = d->aud;
	v[3] = d->pin_source;
	if ((a = calloc((size_t)argc + 2 * sizeof(defaulted) /
	    sizeof(defaulted[0]) + 1, sizeof(*a))) == NULL)
		return OB_ERR_ALLOC;
	memcpy(a, argv, (size_t)argc * sizeof(*a));
	for (i = 0; i < sizeof(defaulted) / sizeof(defaulted[0]); i++) {
		if (strcmp(defaulted[i].verb, verb) != 0 ||
		    v[defaulted[i].member] == NULL ||
		    ob_cli_has_option(argc, argv, defaulted[i].option))
			continue;
		a[n++] = (char *)(uintptr_t)defaulted[i].option;
		a[n++] = (char *)(uintptr_t)v[defaulted[i].member];
	}
	*nargc = n;
	*nargv = a;
	return OB_OK;
}

int	owner_json;

int
owner_missing(const char *verb, void (*usage)(FILE *),
    const struct owner_need *need, size_t n)
{
	char	m[128];
	size_t	i;

	for (i = 0; i < n; i++)
		if (need[i].name != NULL && need[i].value == NULL) {
			/* "ownerbind VERB: --X is required" on line one */
			(void)snprintf(m, sizeof(m), "%s: %s is required", verb,
			    need[i].name);
			if (owner_json)
				(void)owner_usage(usage, m);
			else {
				fprintf(stderr, PROG " %s\n", m);
				usage(stderr);
			}
			return 1;
		}
	return 0;
}

void
owner_done(const char *action, const char *file, const char *fmt, ...)
{
	va_list	 ap;
	json_t	*o;
	char	 msg[512], *s;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!owner_json) {
		printf("%s\n", msg);
		return;
	}
	if ((o = json_pack("{s:s,s:s,s:s,s:s}", "result", "ok", "action",
	    action, "file", file, "message", msg)) != NULL &&
	    (s = json_dumps(o, JSON_COMPACT)) != NULL) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(o);
}

int
owner_usage(void (*usage)(FILE *), const char *what)
{
	return ob_cli_usage_error(PROG, owner_json, usage, what);
}

int
owner_badopt(void (*usage)(FILE *), int argc, char **argv)
{
	/* Without --json, getopt has already said what it refused. */
	return owner_usage(usage, owner_json ? ob_cli_badopt(argc, argv) :
	    NULL);
}

int
fail(int code)
{
	int	status = code == OB_ERR_USAGE || code == OB_ERR_CLI_CONFIG ?
	    EXIT_USAGE : EXIT_FAIL;

	if (owner_json)
		ob_print_error_json("error", code, status);
	else
		ob_print_error(PROG, code);
	return status;
}

int
fail_usage(int code)
{
	if (owner_json)
		ob_print_error_json("error", code, EXIT_USAGE);
	else
		ob_print_error(PROG, code);
	return EXIT_USAGE;
}

/*
 * Take --json out of argv (before "--") for every verb: it is read once
 * here, into owner_json, so that every verb, including those without
 * JSON output of their own, reports its errors as one JSON object.
 */
static int
take_json(int argc, char **argv)
{
	int	i, j, n = argc;

	for (i = 1; i < n; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--json") != 0)
			continue;
		owner_json = 1;
		for (j = i; j < n; j++)
			argv[j] = argv[j + 1];
		n--;
		i--;
	}
	if (owner_json)
		opterr = 0;	/* the refused option is in the object */
	return n;
}

/* Write s (n bytes) and a final newline to path, atomically. */
static int
emit_line(const char *path, char *s, size_t n)
{
	char	*t;
	int	 r;

	if ((t = realloc(s, n + 2)) == NULL) {
		free(s);
		return OB_ERR_ALLOC;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	r = ob_write_all(path, t, n + 1, 0644);
	free(t);
	return r;
}

int
owner_emit(const char *path, const struct ob_envelope *env)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_envelope_serialize(env, &s, &n)) != OB_OK)
		return r;
	return emit_line(path, s, n);
}

int
owner_emit_json(const char *path, const json_t *o)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_json_dump(o, &s, &n)) != OB_OK)
		return r;
	return emit_line(path, s, n);
}

int
owner_load(const char *path, struct ob_envelope **out)
{
	char	*buf = NULL;
	size_t	 len;
	int	 r;

	if ((r = ob_read_all(path, OB_MAX_ENVELOPE, &buf, &len)) != OB_OK)
		return r;
	r = ob_envelope_parse(buf, len, OB_PARSE_ALLOW_UNSIGNED, out);
	free(buf);
	return r;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " VERB [OPTIONS]   (" PROG " VERB --help)\n\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].what);
	fprintf(f, "\nKey URIs: file:PATH, pkcs11:..., tpm2:..., fido2:..., "
	    "piv:... (docs/key-uris.md)\nPINs come from --pin-source tty|"
	    "file:PATH|fd:N|env:VAR|askpass:PROG, never argv.\n");
}

int
main(int argc, char **argv)
{
	char	what[96];
	size_t	i;

	/* Keys and PINs pass through this process: no core dumps. */
	ob_process_harden();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* --json may come before the verb too. */
	if ((argc = take_json(argc, argv)) < 2)
		return owner_usage(usage, "a verb is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1],
	    "version") == 0) {
		char	be[128], extra[256];

		ob_token_schemes(be, sizeof(be));
		(void)snprintf(extra, sizeof(extra), "key backends: %s\n  %s",
		    be, curl_version());
		ob_print_version(PROG, OB_VERSION, extra);
		return 0;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0) {
			char	**nargv = NULL;
			int	  nargc, r;

			nargc = argc - 1;
			if ((r = with_defaults(argv[1], nargc, argv + 1,
			    &nargc, &nargv)) != OB_OK)
				return fail(r);
			r = verbs[i].fn(nargc, nargv);
			free(nargv);
			return r;
		}
	(void)snprintf(what, sizeof(what), "unknown verb \"%.64s\"", argv[1]);
	return owner_usage(usage, what);
}
