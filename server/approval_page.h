/*
 * The browser approval page of the server-mediated model
 * (docs/server-mediated.md): one HTML page, its script and its style,
 * all served from the server's own origin under a strict
 * Content-Security-Policy (no inline script, no third party).
 */
#ifndef OB_SERVER_APPROVAL_PAGE_H
#define OB_SERVER_APPROVAL_PAGE_H

#include <stddef.h>

extern const char	ob_approval_html[];
extern const char	ob_approval_js[];
extern const char	ob_approval_css[];

#endif
