/*
 * piv: key URIs (docs/piv.md, "Key URIs"), apart from piv_int.h so that a
 * caller (the fuzz harness) needs no PC/SC headers.
 */
#ifndef OB_TOKENS_PIV_URI_H
#define OB_TOKENS_PIV_URI_H

#include <stdint.h>

#include "ownerbind/ob_err.h"

#define PIV_READER_MAX	128

struct piv_uri {
	char		*reader;	/* substring of the reader name, or NULL */
	uint32_t	 serial;
	int		 have_serial;
	uint8_t		 slot;		/* 9a, 9c, 9d, 9e */
	char		*pin_source;	/* spec for ob_pin_source_parse */
	char		*mgm_source;	/* management-key source, or NULL */
	uint8_t		 mgm_alg;	/* 0: from the card or the key size */
};

/* Parse a piv: URI.  *u is cleared first; free with piv_uri_free. */
int piv_uri_parse(const char *uri, struct piv_uri *u) OB_WUR;
void piv_uri_free(struct piv_uri *u);

#endif
