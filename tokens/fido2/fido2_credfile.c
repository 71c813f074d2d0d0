/*
 * The credential file (docs/fido2.md, "Credential file"): what keygen
 * learnt about a credential, so sign can name it to the key and check
 * the key's answer without the key's help.  JSON, mode 0600, written
 * once.  Read back strictly: it could have been edited.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/secfile.h"
#include "core/b64url.h"
#include "core/err.h"
#include "tokens/fido2/fido2_int.h"
#include "core/json.h"
#include "core/jwk.h"

#define CREDFILE_MAX	(64 * 1024)

void
fido2_cred_free(struct fido2_cred *c)
{
	free(c->rp_id);
	free(c->id);
	EVP_PKEY_free(c->pub);
	json_decref(c->attestation);
	memset(c, 0, sizeof(*c));
}

int
fido2_credfile_write(const char *path, const struct fido2_cred *c)
{
	json_t	*o = NULL, *jwk = NULL;
	char	*id = NULL, *s = NULL;
	size_t	 len = 0;
	int	 r;

	OB_TRY(ob_jwk_from_pkey(c->pub, &jwk));
	OB_TRY(ob_b64url_encode(c->id, c->id_len, &id));
	if ((o = json_pack("{s:i,s:s,s:s,s:s,s:O,s:s,s:s,s:b,s:b}",
	    "ownerbind_fido2", 1, "rp_id", c->rp_id, "credential_id", id,
	    "alg", ob_alg_name(c->alg), "jwk", jwk, "aaguid", c->aaguid,
	    "uv", c->uv_required ? "required" : "preferred",
	    "backup_eligible", c->backup_eligible, "resident",
	    c->resident)) == NULL ||
	    (c->attestation != NULL && json_object_set(o, "attestation",
	    c->attestation) != 0) ||
	    (s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps leaves room: replaces the NUL */
	OB_TRY(ob_secfile_write(path, s, len));
	r = OB_OK;
out:
	/* The credential ID is the key handle: wiped like any secret. */
	if (s != NULL)
		OPENSSL_cleanse(s, len);
	free(s);
	if (id != NULL)
		OPENSSL_cleanse(id, strlen(id));
	free(id);
	json_decref(o);
	json_decref(jwk);
	return r;
}

static int
credfile_load(const char *path, char **buf, size_t *len)
{
	struct stat	 st;
	char		*b;
	ssize_t		 k;
	size_t		 n = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ob_errf(OB_ERR_KEY_NOT_FOUND, "%s: no "
		    "such credential file", path) : ob_errf(OB_ERR_IO, "%s: %s",
		    path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CREDFILE_MAX) {
		close(fd);
		return ob_errf(OB_ERR_KEY_LOAD, "%s: not a credential file",
		    path);
	}
	if ((b = malloc(CREDFILE_MAX + 1)) == NULL) {
		close(fd);
		return OB_ERR_ALLOC;
	}
	while (n <= CREDFILE_MAX && (k = read(fd, b + n, CREDFILE_MAX + 1 -
	    n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n > CREDFILE_MAX) {
		free(b);
		return ob_errf(OB_ERR_KEY_LOAD, "%s: too large", path);
	}
	*buf = b;
	*len = n;
	return OB_OK;
}

int
fido2_credfile_read(const char *path, struct fido2_cred *out)
{
	char	*buf = NULL;
	size_t	 len = 0;
	int	 r;

	if ((r = credfile_load(path, &buf, &len)) != OB_OK)
		return r;
	r = fido2_credfile_parse(path, buf, len, out);
	free(buf);
	return r;
}

int
fido2_credfile_parse(const char *name, const char *buf, size_t len,
    struct fido2_cred *out)
{
	static const char *const names[] = {
		"ownerbind_fido2", "rp_id", "credential_id", "alg", "jwk",
		"aaguid", "uv", "backup_eligible", "resident", "attestation",
		NULL
	};
	struct fido2_cred	 c;
	json_t			*o = NULL, *v;
	const char		*s;
	size_t			 i;
	long long		 ver;
	int			 r;

	memset(&c, 0, sizeof(c));
	if (len > CREDFILE_MAX) {
		r = ob_errf(OB_ERR_KEY_LOAD, "too large");
		goto bad;
	}
	if ((r = ob_json_parse_object(buf, len, &o)) != OB_OK ||
	    (r = ob_json_only_members(o, names, OB_ERR_KEY_LOAD)) != OB_OK ||
	    (r = ob_json_get_int(o, "ownerbind_fido2", OB_ERR_KEY_LOAD,
	    OB_ERR_KEY_LOAD, &ver)) != OB_OK)
		goto bad;
	if (ver != 1) {
		r = ob_errf(OB_ERR_KEY_LOAD, "version %lld", ver);
		goto bad;
	}
	if ((r = ob_json_get_str(o, "rp_id", 1, FIDO2_MAX_RPID,
	    OB_ERR_KEY_LOAD, OB_ERR_KEY_LOAD, &s)) != OB_OK)
		goto bad;
	if ((c.rp_id = strdup(s)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((r = ob_json_get_str(o, "credential_id", 1,
	    (FIDO2_MAX_CRED_ID * 4 + 2) / 3, OB_ERR_KEY_LOAD, OB_ERR_KEY_LOAD,
	    &s)) != OB_OK ||
	    (r = ob_b64url_decode(s, strlen(s), FIDO2_MAX_CRED_ID, &c.id,
	    &c.id_len)) != OB_OK)
		goto bad;
	if ((r = ob_json_get_str(o, "alg", 1, 32, OB_ERR_KEY_LOAD,
	    OB_ERR_KEY_LOAD, &s)) != OB_OK ||
	    (r = ob_alg_from_name(s, &c.alg)) != OB_OK)
		goto bad;
	if (!ob_alg_is_webauthn(c.alg)) {
		r = ob_errf(OB_ERR_KEY_LOAD, "alg %s is not a webauthn-* alg",
		    ob_alg_name(c.alg));
		goto bad;
	}
	if ((r = ob_jwk_to_pkey(json_object_get(o, "jwk"), &c.pub)) != OB_OK ||
	    (r = ob_alg_check_key(c.alg, c.pub)) != OB_OK)
		goto bad;
	if ((r = ob_json_get_str(o, "aaguid", 32, 32, OB_ERR_KEY_LOAD,
	    OB_ERR_KEY_LOAD, &s)) != OB_OK)
		goto bad;
	for (i = 0; i < 32; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL) {
			r = ob_errf(OB_ERR_KEY_LOAD, "aaguid: not lowercase hex");
			goto bad;
		}
	memcpy(c.aaguid, s, 33);
	if ((r = ob_json_get_str(o, "uv", 1, 16, OB_ERR_KEY_LOAD,
	    OB_ERR_KEY_LOAD, &s)) != OB_OK)
		goto bad;
	if (strcmp(s, "required") == 0)
		c.uv_required = 1;
	else if (strcmp(s, "preferred") != 0) {
		r = ob_errf(OB_ERR_KEY_LOAD, "uv \"%.16s\"", s);
		goto bad;
	}
	if (!json_is_boolean(v = json_object_get(o, "backup_eligible")) ||
	    !json_is_boolean(json_object_get(o, "resident"))) {
		r = ob_errf(OB_ERR_KEY_LOAD, "backup_eligible/resident: not "
		    "booleans");
		goto bad;
	}
	c.backup_eligible = json_is_true(v);
	c.resident = json_is_true(json_object_get(o, "resident"));
	if ((v = json_object_get(o, "attestation")) != NULL) {
		if (!json_is_object(v)) {
			r = ob_errf(OB_ERR_KEY_LOAD, "attestation: not an "
			    "object");
			goto bad;
		}
		c.attestation = json_incref(v);
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	r = OB_OK;
	goto out;
bad:
	r = ob_err_prefix(OB_ERR_KEY_LOAD, "%s: %s", name, ob_err_name(r));
out:
	fido2_cred_free(&c);
	json_decref(o);
	return r;
}
