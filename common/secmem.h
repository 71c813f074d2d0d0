/*
 * Memory for secrets (PINs, passphrases): its own pages, locked in RAM
 * where the limits allow, left out of core dumps, fenced by inaccessible
 * pages, and wiped before it is returned to the system.  In the spirit
 * of libsodium's sodium_malloc and s2n's utils/s2n_mem.c.
 */
#ifndef OB_COMMON_SECMEM_H
#define OB_COMMON_SECMEM_H

#include <stddef.h>

/*
 * ob_secmem_alloc: len bytes (at least one), zeroed, starting on a page
 * boundary, in a private anonymous mapping marked MADV_DONTDUMP and
 * mlock'd (best effort: RLIMIT_MEMLOCK may refuse, and that is not an
 * error).  A read-only page before the data and an inaccessible page
 * after the last data page make a run off either end fault instead of
 * reaching other memory.  Three pages at least per call: for small, long-
 * lived secrets, not for bulk data.
 * Returns NULL (errno set) when len would overflow, the mapping fails or
 * MADV_DONTDUMP is refused.  Release with ob_secmem_free, never free(3).
 */
void *ob_secmem_alloc(size_t len)
    __attribute__((malloc, warn_unused_result));

/*
 * ob_secmem_free: wipe all of p's pages with ob_secmem_wipe, unlock and
 * unmap them.  NULL is a no-op.  A pointer that ob_secmem_alloc did not
 * return, or whose guard header was overwritten, aborts the process.
 */
void ob_secmem_free(void *p);

/* ob_secmem_wipe: OPENSSL_cleanse: len zero bytes the compiler keeps. */
void ob_secmem_wipe(void *p, size_t len);

#endif
