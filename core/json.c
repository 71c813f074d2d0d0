#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/json.h"

int
ob_json_parse_object(const void *buf, size_t len, json_t **out)
{
	json_t	*v;
	int	 r;

	if ((r = ob_json_read(buf, len, OB_JSON_MAX_DEPTH, &v)) != OB_OK)
		return r;
	if (!json_is_object(v)) {
		json_decref(v);
		return ob_errf(OB_ERR_JSON_SYNTAX, "not a JSON object");
	}
	*out = v;
	return OB_OK;
}

int
ob_json_dump(const json_t *v, char **out, size_t *outlen)
{
	char *s;

	if ((s = json_dumps(v, JSON_COMPACT)) == NULL)
		return OB_ERR_ALLOC;
	*out = s;
	*outlen = strlen(s);
	return OB_OK;
}

int
ob_json_get_str(const json_t *obj, const char *key, size_t min, size_t max,
    int missing, int bad, const char **out)
{
	const json_t	*v;
	size_t		 n;

	if ((v = json_object_get(obj, key)) == NULL)
		return ob_errf(missing, "\"%s\" is missing", key);
	if (!json_is_string(v))
		return ob_errf(bad, "\"%s\" is not a string", key);
	n = json_string_length(v);
	if (n < min || n > max || strlen(json_string_value(v)) != n)
		return ob_errf(bad, "\"%s\" has length %zu, allowed %zu..%zu",
		    key, n, min, max);
	*out = json_string_value(v);
	return OB_OK;
}

int
ob_json_get_int(const json_t *obj, const char *key, int missing, int bad,
    long long *out)
{
	const json_t *v;

	if ((v = json_object_get(obj, key)) == NULL)
		return ob_errf(missing, "\"%s\" is missing", key);
	if (!json_is_integer(v))
		return ob_errf(bad, "\"%s\" is not an integer", key);
	*out = json_integer_value(v);
	return OB_OK;
}

int
ob_json_only_members(const json_t *obj, const char *const *allowed, int bad)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(OB_DECONST(json_t *, obj), k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return ob_errf(bad, "member \"%s\" is not allowed here",
			    k);
	}
	return OB_OK;
}

int
ob_json_set_b64(json_t *o, const char *key, const unsigned char *b, size_t n)
{
	char	*s = NULL;
	int	 r;

	if ((r = ob_b64url_encode(b, n, &s)) != OB_OK)
		return r;
	r = json_object_set_new(o, key, json_string(s)) == 0 ? OB_OK :
	    OB_ERR_ALLOC;
	free(s);
	return r;
}
