/*
 * Defaults for the command-line programs (common/cliutil.h): the system
 * file, then the user's, each "name = value" per line, '#' comments.  A
 * command-line option always wins.  Read strictly: an unknown name or a
 * malformed line is an error naming the file and line, so a typo never
 * silently falls back to something else.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cliutil.h"
#include "core/err.h"

/* Where administrators look, whatever the install prefix. */
#define OB_SYSCONFDIR	"/etc"

static struct ob_cli_defaults	defs;
static char			*owned[16];
static size_t			 nowned;

static int
set(const char **slot, const char *v)
{
	char *c;

	if (nowned == sizeof(owned) / sizeof(owned[0]) ||
	    (c = strdup(v)) == NULL)
		return OB_ERR_ALLOC;
	owned[nowned++] = c;
	*slot = c;
	return OB_OK;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
read_file(const char *path)
{
	static const struct {
		const char	 *name;
		const char	**slot;
	} names[] = {
		{ "key", &defs.key },
		{ "trust", &defs.trust },
		{ "aud", &defs.aud },
		{ "state", &defs.state },
		{ "pin-source", &defs.pin_source },
	};
	char	*buf = NULL, *line, *next, *eq, *name, *value;
	size_t	 len, i, lineno = 0;
	int	 r = OB_OK;

	if (access(path, F_OK) != 0)
		return OB_OK;
	if ((r = ob_read_all(path, 64 * 1024, &buf, &len)) != OB_OK)
		return ob_err_prefix(r, "%s", path);
	for (line = buf; r == OB_OK && line != NULL && *line != '\0';
	    line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			r = ob_errf(OB_ERR_CLI_CONFIG, "%s:%zu: not \"name = value\"",
			    path, lineno);
			break;
		}
		*eq = '\0';
		name = trim(line);
		value = trim(eq + 1);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(name, names[i].name) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			r = ob_errf(OB_ERR_CLI_CONFIG, "%s:%zu: unknown name \"%.32s\" "
			    "(key, trust, aud, state, pin-source)", path,
			    lineno, name);
		else if (*value == '\0')
			r = ob_errf(OB_ERR_CLI_CONFIG, "%s:%zu: %s has no value",
			    path, lineno, name);
		else
			r = set(names[i].slot, value);
	}
	free(buf);
	return r;
}

int
ob_cli_defaults(const struct ob_cli_defaults **out)
{
	static int	 loaded, result;
	const char	*xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char		 path[4096];
	int		 r;

	if (loaded) {
		*out = &defs;
		return result;
	}
	loaded = 1;
	r = read_file(OB_SYSCONFDIR "/ownerbind/config");
	if (r == OB_OK && xdg != NULL && *xdg == '/' && (size_t)snprintf(path,
	    sizeof(path), "%s/ownerbind/config", xdg) < sizeof(path))
		r = read_file(path);
	else if (r == OB_OK && (xdg == NULL || *xdg != '/') && home != NULL &&
	    *home == '/' && (size_t)snprintf(path, sizeof(path),
	    "%s/.config/ownerbind/config", home) < sizeof(path))
		r = read_file(path);
	result = r;
	*out = &defs;
	return r;
}
