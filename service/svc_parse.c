/*
 * Content-Type matching and the peer list (svc_parse.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/svc_parse.h"
#include "core/err.h"
#include "core/json.h"

/* RFC 9110 tchar */
static int
is_tchar(int c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A token; NULL if empty. */
static const char *
token(const char *s)
{
	const char *p = s;

	while (is_tchar((unsigned char)*p))
		p++;
	return p == s ? NULL : p;
}

/* quoted-string (RFC 9110 section 5.6.4); NULL if malformed. */
static const char *
quoted(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*s;

		if (c == '"')
			return s + 1;
		if (c == '\\') {
			c = (unsigned char)s[1];
			if (c != '\t' && (c < 0x20 || c == 0x7f))
				return NULL;
			s += 2;
			continue;
		}
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return NULL;
		s++;
	}
}

int
ob_svc_media_type_is(const char *hdr, const char *want)
{
	const char	*p, *q;
	size_t		 n;

	if (hdr == NULL || want == NULL)
		return 0;
	p = skip_ows(hdr);
	if ((q = token(p)) == NULL || *q != '/' || (q = token(q + 1)) == NULL)
		return 0;
	n = (size_t)(q - p);
	if (n != strlen(want) || strncasecmp(p, want, n) != 0)
		return 0;
	p = skip_ows(q);
	/* RFC 9110 section 5.6.6: the parameter after ";" is optional. */
	while (*p == ';') {
		p = skip_ows(p + 1);
		if (*p == ';' || *p == '\0')
			continue;
		if ((q = token(p)) == NULL || *q != '=')
			return 0;
		p = q + 1;
		if (*p == '"')
			q = quoted(p);
		else
			q = token(p);
		if (q == NULL)
			return 0;
		p = skip_ows(q);
	}
	return *p == '\0';
}

struct ob_svc_peers {
	json_t			*doc;	/* owns the strings */
	struct ob_svc_peer	*v;
	size_t			 n;
};

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[64] == '\0';
}

/* Printable ASCII without spaces: ids, roles and URIs go into log lines. */
static int
is_visible(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

static int
peer_parse(json_t *e, size_t i, struct ob_svc_peer *p)
{
	static const char *const allowed[] = { "id", "role", "san_uri",
	    "cert_sha256", NULL };
	json_t	*h;
	char	*s;
	int	 r;

	if (!json_is_object(e))
		return ob_errf(OB_ERR_SVC_PEERS, "not an object");
	OB_TRY(ob_json_only_members(e, allowed, OB_ERR_SVC_PEERS));
	OB_TRY(ob_json_get_str(e, "id", 1, 128, OB_ERR_SVC_PEERS,
	    OB_ERR_SVC_PEERS, &p->id));
	OB_TRY(ob_json_get_str(e, "role", 1, 32, OB_ERR_SVC_PEERS,
	    OB_ERR_SVC_PEERS, &p->role));
	r = ob_json_get_str(e, "san_uri", 3, 2048, OB_OK, OB_ERR_SVC_PEERS,
	    &p->san_uri);
	if (r != OB_OK)
		goto out;
	r = ob_json_get_str(e, "cert_sha256", 64, 64, OB_OK, OB_ERR_SVC_PEERS,
	    &p->cert_sha256);
	if (r != OB_OK)
		goto out;
	if (!is_visible(p->id) || !is_visible(p->role) ||
	    (p->san_uri != NULL && (!is_visible(p->san_uri) ||
	    strchr(p->san_uri, ':') == NULL))) {
		r = ob_errf(OB_ERR_SVC_PEERS, "id, role and "
		    "san_uri are printable ASCII without spaces; san_uri is "
		    "a URI");
		goto out;
	}
	if (p->san_uri == NULL && p->cert_sha256 == NULL) {
		r = ob_errf(OB_ERR_SVC_PEERS, "\"%s\": neither san_uri "
		    "nor cert_sha256", p->id);
		goto out;
	}
	if (p->cert_sha256 != NULL) {
		if (!is_hex64(p->cert_sha256)) {
			r = ob_errf(OB_ERR_SVC_PEERS, "cert_sha256 is not "
			    "64 hex digits");
			goto out;
		}
		/* Lower-case in place: the string belongs to the document. */
		h = json_object_get(e, "cert_sha256");
		if ((s = strdup(p->cert_sha256)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		for (char *c = s; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (json_string_set(h, s) != 0) {
			free(s);
			r = OB_ERR_ALLOC;
			goto out;
		}
		free(s);
		p->cert_sha256 = json_string_value(h);
	}
	r = OB_OK;
out:
	if (r != OB_OK && r != OB_ERR_ALLOC)
		r = ob_err_prefix(OB_ERR_SVC_PEERS, "peers[%zu]", i);
	return r;
}

int
ob_svc_peers_parse(const char *buf, size_t len, struct ob_svc_peers **out)
{
	struct ob_svc_peers	*p = NULL;
	json_t			*doc = NULL, *arr;
	size_t			 i, j, n;
	int			 r;

	*out = NULL;
	if (len > OB_SVC_MAX_PEERS_FILE)
		return ob_errf(OB_ERR_SVC_PEERS, "larger than %d bytes",
		    OB_SVC_MAX_PEERS_FILE);
	if ((r = ob_json_read(buf, len, 4, &doc)) != OB_OK) {
		if (r != OB_ERR_ALLOC)
			r = ob_err_prefix(OB_ERR_SVC_PEERS, "not JSON");
		goto out;
	}
	if (!json_is_object(doc) || json_object_size(doc) != 1 ||
	    !json_is_array(arr = json_object_get(doc, "peers"))) {
		r = ob_errf(OB_ERR_SVC_PEERS, "the document is "
		    "{\"peers\": [...]} and nothing else");
		goto out;
	}
	n = json_array_size(arr);
	if (n == 0 || n > OB_SVC_MAX_PEERS) {
		r = ob_errf(OB_ERR_SVC_PEERS, "1 to %d peers, not %zu",
		    OB_SVC_MAX_PEERS, n);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->v = calloc(n, sizeof(*p->v))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		OB_TRY(peer_parse(json_array_get(arr, i), i, &p->v[i]));
		for (j = 0; j < i; j++)
			if (strcmp(p->v[j].id, p->v[i].id) == 0) {
				r = ob_errf(OB_ERR_SVC_PEERS, "peers[%zu]: "
				    "id \"%s\" repeats peers[%zu]", i,
				    p->v[i].id, j);
				goto out;
			}
	}
	p->n = n;
	p->doc = doc;
	doc = NULL;
	*out = p;
	p = NULL;
	r = OB_OK;
out:
	ob_svc_peers_free(&p);
	json_decref(doc);
	return r;
}

size_t
ob_svc_peers_count(const struct ob_svc_peers *p)
{
	return p->n;
}

const struct ob_svc_peer *
ob_svc_peers_get(const struct ob_svc_peers *p)
{
	return p->v;
}

void
ob_svc_peers_free(struct ob_svc_peers **pp)
{
	struct ob_svc_peers *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	json_decref(p->doc);
	free(p->v);
	free(p);
	*pp = NULL;
}
