/* Internal error helpers; the codes themselves are in ob_err.h. */
#ifndef OB_CORE_ERR_H
#define OB_CORE_ERR_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/* Record a detail line for this thread and return code unchanged. */
int ob_errf(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Put "prefix: " in front of the current detail and return code. */
int ob_err_prefix(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Table walking, for the test that every code has text. */
size_t ob_err_count(void);
int ob_err_code_at(size_t i);

/* Guard: evaluate a fallible call, jump to out on failure. */
#define OB_TRY(expr) do { if ((r = (expr)) != OB_OK) goto out; } while (0)

#endif
