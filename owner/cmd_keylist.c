/*
 * ownerbind keys: the keys every backend can see, with the URI to use
 * (tokens/keys.h).  A backend that is not there is said so, plainly.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"
#include "tokens/keys.h"

static void
keylist_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " keys [--json] [--module PATH] [--tcti CONF]\n"
"\n"
"Lists the keys ownerbind can use, backend by backend, each with its key\n"
"URI: PKCS#11 tokens and their keys (p11-kit's configured modules, or\n"
"--module PATH), TPM persistent handles (the TCTI of a tpm2: URI without\n"
"tcti=, or --tcti CONF), PIV cards and their key slots (pcscd), and FIDO2\n"
"security keys (as `" PROG " devices`).  No PIN is asked for: keys that\n"
"show only after a login are not listed.  A backend that is absent (no\n"
"module, no TPM, no reader) is said so and is not an error; exit 1 only\n"
"when a backend that is there fails.\n");
}

static const char *
s_(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static void
print_pkcs11(const json_t *items)
{
	const json_t	*t, *k;
	size_t		 i, j;

	json_array_foreach(items, i, t) {
		printf("  token \"%s\" (serial %s, %s %s) in %s\n",
		    s_(t, "token"), s_(t, "serial"), s_(t, "manufacturer"),
		    s_(t, "model"), s_(t, "module"));
		if (json_object_get(t, "error") != NULL)
			printf("    cannot list its keys: %s\n", s_(t, "error"));
		else if (json_array_size(json_object_get(t, "keys")) == 0)
			printf("    no key visible without a login%s\n",
			    json_is_true(json_object_get(t, "login_required")) ?
			    " (private keys may show only after one)" : "");
		json_array_foreach(json_object_get(t, "keys"), j, k)
			printf("    %-7s %-5s %s\n", s_(k, "class"),
			    s_(k, "type"), s_(k, "uri"));
	}
}

static void
print_tpm2(const json_t *items)
{
	const json_t	*h;
	size_t		 i;

	json_array_foreach(items, i, h) {
		if (json_object_get(h, "error") != NULL) {
			printf("  %s  cannot read it: %s\n", s_(h, "uri"),
			    s_(h, "error"));
			continue;
		}
		printf("  %s  %s %s  %s%s\n", s_(h, "uri"), s_(h, "type"),
		    s_(h, "alg"), s_(h, "use"), json_is_true(json_object_get(h,
		    "user_with_auth")) ? "" : " (policy only)");
	}
}

static void
print_piv(const json_t *items)
{
	const json_t	*r, *sl;
	size_t		 i, j;

	json_array_foreach(items, i, r) {
		printf("  reader \"%s\": %s", s_(r, "reader"), s_(r, "card"));
		if (json_object_get(r, "serial") != NULL)
			printf(", serial %lld",
			    json_integer_value(json_object_get(r, "serial")));
		printf("\n");
		if (json_object_get(r, "slots") != NULL &&
		    json_array_size(json_object_get(r, "slots")) == 0)
			printf("    no key in slots 9a, 9c, 9d, 9e\n");
		json_array_foreach(json_object_get(r, "slots"), j, sl)
			if (json_object_get(sl, "error") != NULL)
				printf("    %s  %s\n", s_(sl, "uri"),
				    s_(sl, "error"));
			else
				printf("    %s  %s, %s\n", s_(sl, "uri"),
				    s_(sl, "type"), s_(sl, "origin"));
	}
}

static void
print_sections(const json_t *arr)
{
	static const struct {
		const char	*backend, *title;
		void		(*print)(const json_t *);
	} show[] = {
		{ "pkcs11", "PKCS#11", print_pkcs11 },
		{ "tpm2", "TPM 2.0", print_tpm2 },
		{ "piv", "PIV", print_piv },
#ifdef OB_HAVE_FIDO2
		{ "fido2", "FIDO2", owner_fido2_print },
#else
		{ "fido2", "FIDO2", NULL },	/* never "found" */
#endif
	};
	const json_t	*s, *e;
	size_t		 i, j;

	json_array_foreach(arr, i, s) {
		const char *state = s_(s, "state");

		for (j = 0; j < sizeof(show) / sizeof(show[0]); j++)
			if (strcmp(show[j].backend, s_(s, "backend")) == 0)
				break;
		if (j == sizeof(show) / sizeof(show[0]))
			continue;
		printf("%s%s%s:", show[j].title, json_object_get(s, "tcti") !=
		    NULL ? " at " : "", s_(s, "tcti"));
		if (strcmp(state, "found") == 0 && show[j].print != NULL) {
			printf("\n");
			show[j].print(json_object_get(s, "items"));
		} else if (strcmp(state, "error") == 0) {
			e = json_object_get(s, "error");
			printf(" %s: %s (%s)\n  next step: %s\n", s_(e, "error"),
			    s_(s, "reason"), s_(e, "detail"),
			    s_(e, "next_step"));
		} else
			printf(" %s: %s\n", state, s_(s, "reason"));
	}
}

int
cmd_keylist(int argc, char **argv)
{
	enum { O_MODULE = 256, O_TCTI, O_JSON };
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, O_MODULE },
		{ "tcti", required_argument, NULL, O_TCTI },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_keys_opts	 o;
	const json_t		*s;
	json_t			*arr = NULL;
	char			*js = NULL;
	size_t			 i, n;
	int			 ch, r, failed = 0;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_MODULE: o.pkcs11_module = optarg; break;
		case O_TCTI: o.tcti = optarg; break;
		case O_JSON: break;	/* main.c took it: owner_json */
		case 'h':
			keylist_usage(stdout);
			return 0;
		default:
			return owner_badopt(keylist_usage, argc, argv);
		}
	}
	if (optind != argc)
		return owner_usage(keylist_usage, "keys takes no operand");
	if ((r = ob_keys_list(&o, &arr)) != OB_OK)
		return fail(r);
	json_array_foreach(arr, i, s)
		failed |= strcmp(s_(s, "state"), "error") == 0;
	if (owner_json) {
		if ((r = ob_json_dump(arr, &js, &n)) == OB_OK)
			printf("%s\n", js);
		free(js);
	} else
		print_sections(arr);
	json_decref(arr);
	if (r != OB_OK)
		return fail(r);
	return failed ? EXIT_FAIL : 0;
}
