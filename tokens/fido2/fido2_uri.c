/*
 * fido2: key URIs (docs/fido2.md, "Key URIs"):
 *
 *   fido2:[ATTR[;ATTR]...]      ATTR = NAME "=" VALUE
 *
 *   rp=ID      relying party id (default "ownerbind:")
 *   pub=PATH   the credential file keygen writes and sign reads
 *   cred=B64   credential id, base64url (optional; checked against pub=)
 *   dev=PATH   the device, e.g. /dev/hidraw3; absent: the one connected
 *              key that holds the credential
 *   rk=0|1     keygen: resident (discoverable) credential
 *   uv=required|preferred   keygen: user verification policy
 *
 * Values are percent-decoded (RFC 3986 section 2.1), so a path may hold
 * ';' as %3B.  Every attribute at most once; unknown names are errors.
 */
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/err.h"
#include "tokens/uri.h"
#include "tokens/fido2/fido2_int.h"
#include "core/webauthn.h"

#define FIDO2_MAX_URI	8192

/* Percent-decode [s, s+n) into a new NUL-terminated, non-empty string. */
static int
pct_decode(const char *s, size_t n, const char *name, char **out)
{
	char	*d;
	int	 r;

	if ((r = ob_uri_pct_decode(s, n, name, &d)) != OB_OK)
		return r;
	if (d[0] == '\0') {
		free(d);
		return ob_errf(OB_ERR_KEY_URI, "%s: empty value", name);
	}
	*out = d;
	return OB_OK;
}

/* One attribute; val is consumed (kept in u or freed) whatever happens. */
static int
uri_attr(struct fido2_uri *u, const char *name, size_t nlen, char *val)
{
	int r;

#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
	if (IS("rp")) {
		if (u->rp_id != NULL)
			goto dup;
		if (strlen(val) > FIDO2_MAX_RPID) {
			free(val);
			return ob_errf(OB_ERR_KEY_URI, "rp: too long");
		}
		u->rp_id = val;
	} else if (IS("pub")) {
		if (u->pub != NULL)
			goto dup;
		if (strlen(val) >= FIDO2_MAX_PATH) {
			free(val);
			return ob_errf(OB_ERR_KEY_URI, "pub: too long");
		}
		u->pub = val;
	} else if (IS("dev")) {
		if (u->dev != NULL)
			goto dup;
		if (strlen(val) >= FIDO2_MAX_PATH) {
			free(val);
			return ob_errf(OB_ERR_KEY_URI, "dev: too long");
		}
		u->dev = val;
	} else if (IS("cred")) {
		if (u->cred != NULL)
			goto dup;
		r = ob_b64url_decode(val, strlen(val), FIDO2_MAX_CRED_ID,
		    &u->cred, &u->cred_len);
		free(val);
		if (r != OB_OK)
			return ob_errf(OB_ERR_KEY_URI, "cred: not base64url");
		return OB_OK;
	} else if (IS("rk")) {
		r = strcmp(val, "1") == 0 ? 1 : strcmp(val, "0") == 0 ? 0 : -1;
		free(val);
		if (r < 0)
			return ob_errf(OB_ERR_KEY_URI, "rk: 0 or 1");
		if (u->rk >= 0)
			return ob_errf(OB_ERR_KEY_URI, "rk: given twice");
		u->rk = r;
	} else if (IS("uv")) {
		r = strcmp(val, "required") == 0 ? FIDO2_UV_REQUIRED :
		    strcmp(val, "preferred") == 0 ? FIDO2_UV_PREFERRED : -1;
		free(val);
		if (r < 0)
			return ob_errf(OB_ERR_KEY_URI, "uv: required or "
			    "preferred");
		if (u->uv != FIDO2_UV_UNSET)
			return ob_errf(OB_ERR_KEY_URI, "uv: given twice");
		u->uv = (enum fido2_uv)r;
	} else {
		free(val);
		return ob_errf(OB_ERR_KEY_URI, "unknown fido2: attribute "
		    "\"%.*s\"", (int)(nlen > 16 ? 16 : nlen), name);
	}
#undef IS
	return OB_OK;
dup:
	free(val);
	return ob_errf(OB_ERR_KEY_URI, "%.*s: given twice", (int)nlen, name);
}

int
fido2_uri_parse(const char *uri, struct fido2_uri *out)
{
	struct fido2_uri	 u;
	const char		*p, *end, *eq, *semi;
	char			*val = NULL;
	int			 r;

	memset(&u, 0, sizeof(u));
	u.rk = -1;
	if (strncmp(uri, "fido2:", 6) != 0)
		return ob_errf(OB_ERR_KEY_URI, "expected fido2:...");
	if (strlen(uri) > FIDO2_MAX_URI)
		return ob_errf(OB_ERR_KEY_URI, "longer than %d bytes",
		    FIDO2_MAX_URI);
	p = uri + 6;
	end = p + strlen(p);
	while (p < end) {
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		if ((eq = memchr(p, '=', (size_t)(semi - p))) == NULL ||
		    eq == p) {
			r = ob_errf(OB_ERR_KEY_URI, "attribute %.*s: expected "
			    "NAME=VALUE", (int)(semi - p > 16 ? 16 : semi - p),
			    p);
			goto out;
		}
		OB_TRY(pct_decode(eq + 1, (size_t)(semi - eq - 1),
		    "fido2: attribute", &val));
		OB_TRY(uri_attr(&u, p, (size_t)(eq - p), val));
		p = semi + (semi < end);
		if (semi < end && p == end) {
			r = ob_errf(OB_ERR_KEY_URI, "trailing ';'");
			goto out;
		}
	}
	if (u.rk < 0)
		u.rk = 0;
	*out = u;
	memset(&u, 0, sizeof(u));
	r = OB_OK;
out:
	fido2_uri_free(&u);
	return r;
}

void
fido2_uri_free(struct fido2_uri *u)
{
	free(u->rp_id);
	free(u->cred);
	free(u->dev);
	free(u->pub);
	memset(u, 0, sizeof(*u));
}
