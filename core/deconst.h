/*
 * Dropping const where a library's prototype lacks it.  -Wcast-qual is on,
 * so a plain cast that drops a qualifier does not build; each deliberate
 * drop goes through OB_DECONST and says why at the call.
 */
#ifndef OB_CORE_DECONST_H
#define OB_CORE_DECONST_H

#include <stdint.h>

/*
 * (type)var without var's const, through uintptr_t as FreeBSD's
 * __DECONST.  Only for calls that do not write through the pointer
 * (jansson's iteration, OpenSSL parameters, PKCS#11 templates) or that
 * free memory this code allocated.
 */
#define OB_DECONST(type, var)	((type)(uintptr_t)(const void *)(var))

#endif
