/*
 * Secret memory (common/secmem.h).  Layout of one allocation:
 *
 *   | header page (read-only) | data pages (rw, locked) | guard (none) |
 *                             ^ returned pointer
 *
 * The header records the mapping's size for ob_secmem_free and a magic
 * value that catches frees of foreign pointers.  The whole mapping is
 * MADV_DONTDUMP, so the header costs no core-dump space either.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/secmem.h"

#define SECMEM_MAGIC	0x6f627365636d656dULL	/* "obsecmem" */

struct secmem_hdr {
	uint64_t	magic;
	size_t		total;		/* the whole mapping */
	size_t		datalen;	/* the data pages */
};

static size_t
secmem_page(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

void *
ob_secmem_alloc(size_t len)
{
	struct secmem_hdr	*h;
	unsigned char		*base;
	size_t			 ps = secmem_page(), datalen, total;
	int			 e;

	if (len == 0)
		len = 1;
	/* Round up to pages, plus header and guard, without wrapping. */
	if (len > SIZE_MAX - 3 * ps) {
		errno = ENOMEM;
		return NULL;
	}
	datalen = (len + ps - 1) / ps * ps;
	total = datalen + 2 * ps;
	base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (madvise(base, total, MADV_DONTDUMP) != 0)
		goto fail;
	h = (struct secmem_hdr *)(void *)base;
	h->magic = SECMEM_MAGIC;
	h->total = total;
	h->datalen = datalen;
	if (mprotect(base, ps, PROT_READ) != 0 ||
	    mprotect(base + ps + datalen, ps, PROT_NONE) != 0)
		goto fail;
	(void)mlock(base + ps, datalen);	/* best effort */
	return base + ps;
fail:
	e = errno;
	(void)munmap(base, total);
	errno = e;
	return NULL;
}

void
ob_secmem_free(void *p)
{
	const struct secmem_hdr	*h;
	unsigned char		*base;
	size_t			 ps = secmem_page(), total, datalen;

	if (p == NULL)
		return;
	if (((uintptr_t)p & (ps - 1)) != 0)
		abort();
	base = (unsigned char *)p - ps;
	h = (const struct secmem_hdr *)(const void *)base;
	if (h->magic != SECMEM_MAGIC || h->datalen == 0 ||
	    h->total != h->datalen + 2 * ps)
		abort();
	total = h->total;
	datalen = h->datalen;
	ob_secmem_wipe(p, datalen);
	(void)munlock(p, datalen);
	(void)munmap(base, total);
}

void
ob_secmem_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}
