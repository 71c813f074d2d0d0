/* ownerbind devices: the connected FIDO2 security keys and their state. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cliutil.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"
#ifdef OB_HAVE_FIDO2
#include "tokens/fido2/ob_fido2.h"
#endif

static void
devices_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " devices [--json]\n"
"\n"
"Lists the connected FIDO2 security keys: device path, maker and product,\n"
"AAGUID, CTAP versions, options, whether a PIN is set and how many tries\n"
"are left.  A key that cannot be opened is listed with the reason; run\n"
"`" PROG " doctor` for permission problems.  Use the path as dev= in a\n"
"fido2: key URI (docs/fido2.md).\n");
}

#ifdef OB_HAVE_FIDO2
static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "?";
}

void
owner_fido2_print(const json_t *arr)
{
	const json_t	*d, *v, *err;
	const char	*k;
	size_t		 i, j;

	if (json_array_size(arr) == 0) {
		printf("no FIDO security keys found (`" PROG " doctor` explains "
		    "why a connected key may be invisible)\n");
		return;
	}
	json_array_foreach(arr, i, d) {
		printf("%s", str(d, "path"));
		if (json_object_get(d, "vendor_id") != NULL)
			printf("  %s %s (%04llx:%04llx)", str(d, "manufacturer"),
			    str(d, "product"),
			    json_integer_value(json_object_get(d, "vendor_id")),
			    json_integer_value(json_object_get(d,
			    "product_id")));
		printf("\n");
		if ((err = json_object_get(d, "error")) != NULL) {
			printf("  error     %s: %s\n", str(err, "code"),
			    str(err, "detail"));
			continue;
		}
		printf("  aaguid    %s\n  versions ", str(d, "aaguid"));
		json_array_foreach(json_object_get(d, "versions"), j, v)
			printf(" %s", json_is_string(v) ? json_string_value(v) :
			    "?");
		printf("\n  options  ");
		json_object_foreach((json_t *)json_object_get(d, "options"), k,
		    v)
			printf(" %s%s", json_is_true(v) ? "" : "!", k);
		printf("\n  PIN       %s", json_is_true(json_object_get(d,
		    "pin_set")) ? "set" : "not set");
		if ((v = json_object_get(d, "pin_retries")) != NULL)
			printf(", %lld tries left", json_integer_value(v));
		printf("\n");
	}
}
#endif

int
cmd_devices(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch, json = owner_json;
#ifdef OB_HAVE_FIDO2
	json_t	*arr = NULL;
	char	*s = NULL;
	size_t	 n;
	int	 r;
#endif

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'h':
			devices_usage(stdout);
			return 0;
		default:
			return owner_badopt(devices_usage, argc, argv);
		}
	}
	if (optind != argc)
		return owner_usage(devices_usage, NULL);
#ifdef OB_HAVE_FIDO2
	if ((r = ob_fido2_devices(&arr)) != OB_OK)
		return fail(r);
	if (json) {
		if ((r = ob_json_dump(arr, &s, &n)) == OB_OK)
			printf("%s\n", s);
		free(s);
	} else
		owner_fido2_print(arr);
	json_decref(arr);
	return r == OB_OK ? 0 : fail(r);
#else
	(void)json;
	return fail(ob_errf(OB_ERR_KEY_SCHEME, "this ownerbind was built "
	    "without FIDO2 support"));
#endif
}
