/* ownerbind inspect on a WIT or a WIC (owner/inspect_cred.c). */
#ifndef OB_OWNER_INSPECT_CRED_H
#define OB_OWNER_INSPECT_CRED_H

#include <stddef.h>

#define INSPECT_ENVELOPE	0
#define INSPECT_WIT		1
#define INSPECT_WIC		2

/* What buf holds, by its form alone: a PEM certificate, a JWS compact. */
int inspect_cred_kind(const char *buf, size_t len);
/* Print it (owner_json: one object) with times relative to now. */
int inspect_cred(int kind, const char *buf, size_t len, long long now);

#endif
