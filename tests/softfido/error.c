/*
 * Text for softfido status codes, generated from the one table in
 * softfido.h so a code cannot exist without a name and a sentence.
 */
#include <stddef.h>

#include "tests/softfido/softfido.h"

static const struct {
	int		 code;
	const char	*name;
	const char	*text;
} errors[] = {
#define SOFTFIDO_ROW(name, value, text) { (value), #name, (text) },
	SOFTFIDO_ERRORS(SOFTFIDO_ROW)
#undef SOFTFIDO_ROW
};

const char *
softfido_errname(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].name;
	return NULL;
}

const char *
softfido_strerror(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].text;
	return "unknown softfido status";
}
