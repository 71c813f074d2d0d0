#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hex.h"
#include "tokens/uri.h"

int
ob_uri_pct_decode(const char *s, size_t n, const char *what, char **out)
{
	char	*d;
	size_t	 i, j = 0;
	int	 hi, lo;

	if ((d = malloc(n + 1)) == NULL)
		return OB_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		if (i + 2 >= n ||
		    (hi = ob_hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = ob_hexval((unsigned char)s[i + 2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			free(d);
			return ob_errf(OB_ERR_KEY_URI, "%s: bad or truncated "
			    "%%-escape", what);
		}
		d[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[j] = '\0';
	*out = d;
	return OB_OK;
}

int
ob_uri_next_attr(const char **pos, const char *scheme, const char **name,
    size_t *namelen, char **value)
{
	const char	*p = *pos, *end, *eq;
	int		 r;

	if (*p == '\0') {
		*name = NULL;
		return OB_OK;
	}
	if ((end = strchr(p, ';')) == NULL)
		end = p + strlen(p);
	if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
		return ob_errf(OB_ERR_KEY_URI, "%s attribute without '='",
		    scheme);
	if (*end == ';' && end[1] == '\0')
		return ob_errf(OB_ERR_KEY_URI, "trailing ';' in %s URI", scheme);
	if ((r = ob_uri_pct_decode(eq + 1, (size_t)(end - eq - 1), scheme,
	    value)) != OB_OK)
		return r;
	*name = p;
	*namelen = (size_t)(eq - p);
	*pos = *end == ';' ? end + 1 : end;
	return OB_OK;
}

int
ob_uri_file_path(const char *uri, const char **path)
{
	if (strncmp(uri, "file:", 5) != 0 || uri[5] == '\0')
		return ob_errf(OB_ERR_KEY_URI, "expected file:PATH");
	*path = uri + 5;
	return OB_OK;
}
