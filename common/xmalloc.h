/*
 * xmalloc.h: allocation that never returns NULL (tmux's xmalloc.c).
 *
 * Every allocation failure ends the program in one place, so callers carry
 * no NULL checks.  Multiplications are checked for overflow.
 */
#ifndef GUESTBOX_XMALLOC_H
#define GUESTBOX_XMALLOC_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...) printflike(2, 3);
int	 xvasprintf(char **, const char *, va_list) printflike(2, 0);

/* Secrets: sodium_malloc'd, guarded, wiped by sodium_free. */
void	*xsecret_alloc(size_t);
void	 xsecret_free(void *);

/*
 * Secrets of one size that come and go often (keys, passwords): slots of
 * page-sized slabs of xsecret_alloc'd memory, wiped when given back and
 * kept for the next one, so that taking one is no system call.  Each
 * sodium_malloc() is an mmap and a munmap, which wait for the process's
 * mapping lock -- held by the Argon2id threads while they map and unmap
 * their 64 MiB (tens of ms): on the event loop that stalls every session.
 * Slots smaller than a page share page-sized slabs, which are never
 * returned; a larger slot is a slab of its own, and a few of them are
 * kept free (a message's plaintext chunk, 64 KiB).  Thread-safe.
 */
struct xsecret_slots {
	pthread_mutex_t	  lock;
	size_t		  size;		/* of a slot: 4096 / size per slab */
	uint8_t		**free;
	size_t		  nfree, total;
};
#define XSECRET_SLOTS_INIT(sz)	{ PTHREAD_MUTEX_INITIALIZER, (sz), NULL, 0, 0 }

void	*xsecret_slot_get(struct xsecret_slots *);
void	 xsecret_slot_put(struct xsecret_slots *, void *);

#endif
