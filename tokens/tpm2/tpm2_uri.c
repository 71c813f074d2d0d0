/*
 * tpm2: key URIs (docs/tpm2.md, "Key URIs"):
 *
 *   tpm2:handle=0x81000001[;tcti=CONF][;auth=yes]
 *   tpm2:file=/path/key.pem[;tcti=CONF][;auth=yes]
 *
 * Attributes are separated by ';' and may come in any order; each appears
 * at most once; values are percent-decoded (%3B for a ';' in a path).
 * Exactly one of handle and file.  Without tcti= the TCTI comes from
 * $TPM2TOOLS_TCTI, then $TSS2_TCTI, then device:/dev/tpmrm0.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tokens/tpm2/tpm2_uri.h"
#include "tokens/uri.h"

#define URI_MAX	4096

static int
uri_handle(const char *v, uint32_t *out)
{
	unsigned long	 h;
	char		*end;
	size_t		 i;

	errno = 0;
	if (strncmp(v, "0x", 2) != 0 && strncmp(v, "0X", 2) != 0)
		return ob_errf(OB_ERR_KEY_URI, "handle= is hexadecimal "
		    "(0x81000001)");
	/* Digits only: strtoul would also take blanks and a sign. */
	for (i = 2; v[i] != '\0'; i++)
		if (!isxdigit((unsigned char)v[i]) || i > 10)
			return ob_errf(OB_ERR_KEY_URI, "handle= is 0x and up "
			    "to 8 hex digits");
	h = strtoul(v + 2, &end, 16);
	if (v[2] == '\0' || *end != '\0' || errno != 0 ||
	    h < TPM2_PERSISTENT_MIN || h > TPM2_PERSISTENT_MAX)
		return ob_errf(OB_ERR_KEY_URI, "handle= is a persistent handle "
		    "0x81000000..0x81ffffff");
	*out = (uint32_t)h;
	return OB_OK;
}

void
tpm2_uri_free(struct tpm2_uri *u)
{
	free(u->tcti);
	free(u->file);
	memset(u, 0, sizeof(*u));
}

int
tpm2_uri_parse(const char *uri, struct tpm2_uri *out)
{
	struct tpm2_uri	 u;
	const char	*p, *name, *env;
	char		*val = NULL;
	size_t		 namelen;
	int		 r, seen_handle = 0, seen_auth = 0;

	memset(&u, 0, sizeof(u));
	if (strncmp(uri, "tpm2:", 5) != 0)
		return ob_errf(OB_ERR_KEY_URI, "not a tpm2: URI");
	if (strlen(uri) > URI_MAX)
		return ob_errf(OB_ERR_KEY_URI, "tpm2: URI too long");
	p = uri + 5;
	for (;;) {
		OB_TRY(ob_uri_next_attr(&p, "tpm2:", &name, &namelen, &val));
		if (name == NULL)
			break;
#define IS(n)	(namelen == sizeof(n) - 1 && memcmp(name, n, namelen) == 0)
		if (IS("handle")) {
			if (seen_handle++) {
				r = ob_errf(OB_ERR_KEY_URI, "handle= twice");
				goto out;
			}
			OB_TRY(uri_handle(val, &u.handle));
		} else if (IS("file")) {
			if (u.file != NULL || val[0] == '\0') {
				r = ob_errf(OB_ERR_KEY_URI, "file= twice or "
				    "empty");
				goto out;
			}
			u.file = val;
			val = NULL;
		} else if (IS("tcti")) {
			if (u.tcti != NULL || val[0] == '\0' ||
			    strlen(val) > TPM2_TCTI_MAX) {
				r = ob_errf(OB_ERR_KEY_URI, "tcti= twice, empty "
				    "or too long");
				goto out;
			}
			u.tcti = val;
			val = NULL;
		} else if (IS("auth")) {
			if (seen_auth++ || (strcmp(val, "yes") != 0 &&
			    strcmp(val, "no") != 0)) {
				r = ob_errf(OB_ERR_KEY_URI, "auth= is yes or no, "
				    "once");
				goto out;
			}
			u.auth = strcmp(val, "yes") == 0;
		} else {
			r = ob_errf(OB_ERR_KEY_URI, "unknown tpm2: attribute "
			    "\"%.*s\"", (int)(namelen > 32 ? 32 : namelen), name);
			goto out;
		}
#undef IS
		free(val);
		val = NULL;
	}
	if ((u.file != NULL) == (seen_handle != 0)) {
		r = ob_errf(OB_ERR_KEY_URI, "a tpm2: URI names exactly one of "
		    "handle= and file=");
		goto out;
	}
	if (u.tcti == NULL) {
		if ((env = getenv("TPM2TOOLS_TCTI")) == NULL || *env == '\0')
			env = getenv("TSS2_TCTI");
		if (env == NULL || *env == '\0')
			env = TPM2_DEFAULT_TCTI;
		if (strlen(env) > TPM2_TCTI_MAX) {
			r = ob_errf(OB_ERR_KEY_URI, "TCTI from the environment "
			    "too long");
			goto out;
		}
		if ((u.tcti = strdup(env)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	*out = u;
	memset(&u, 0, sizeof(u));
	r = OB_OK;
out:
	free(val);
	tpm2_uri_free(&u);
	return r;
}
