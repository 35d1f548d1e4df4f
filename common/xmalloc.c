/*
 * xmalloc.c: the one place where allocation failure is handled.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "xmalloc.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		fatalx("xmalloc: zero size");
	if ((p = malloc(size)) == NULL)
		fatal("xmalloc: allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xcalloc: zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("xcalloc: allocating %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xreallocarray: zero size");
	if (nmemb > SIZE_MAX / size)
		fatalx("xreallocarray: %zu * %zu overflows", nmemb, size);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal("xreallocarray: allocating %zu * %zu bytes", nmemb,
		    size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	return xreallocarray(ptr, 1, size);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("xstrndup");
	return p;
}

void *
xmemdup(const void *src, size_t len)
{
	void	*p;

	p = xmalloc(len == 0 ? 1 : len);
	if (len != 0)
		memcpy(p, src, len);
	return p;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	 i;

	i = vasprintf(ret, fmt, ap);
	if (i < 0 || *ret == NULL)
		fatal("xvasprintf");
	return i;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 i;

	va_start(ap, fmt);
	i = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return i;
}

void *
xsecret_alloc(size_t size)
{
	void	*p;

	if ((p = sodium_malloc(size)) == NULL)
		fatal("sodium_malloc: %zu bytes", size);
	return p;
}

void
xsecret_free(void *p)
{
	if (p != NULL)
		sodium_free(p);
}

#define XSECRET_SLAB	4096
/*
 * A slot of a slab or more is its own allocation; this many are kept
 * free for the next taker, the rest given back (a burst of APPENDs must
 * not keep its 64 KiB buffers locked for good).
 */
#define XSECRET_KEEP_LARGE	16

void *
xsecret_slot_get(struct xsecret_slots *sl)
{
	uint8_t	*slab, *p;
	size_t	 i, n = sl->size < XSECRET_SLAB ? XSECRET_SLAB / sl->size : 1;

	pthread_mutex_lock(&sl->lock);
	if (sl->nfree == 0) {
		slab = xsecret_alloc(n > 1 ? XSECRET_SLAB : sl->size);
		sl->total += n;
		sl->free = xreallocarray(sl->free, sl->total,
		    sizeof(*sl->free));
		for (i = 0; i < n; i++)
			sl->free[sl->nfree++] = slab + i * sl->size;
	}
	p = sl->free[--sl->nfree];
	pthread_mutex_unlock(&sl->lock);
	return p;
}

void
xsecret_slot_put(struct xsecret_slots *sl, void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, sl->size);
	pthread_mutex_lock(&sl->lock);
	if (sl->size >= XSECRET_SLAB && sl->nfree >= XSECRET_KEEP_LARGE) {
		sl->total--;
		pthread_mutex_unlock(&sl->lock);
		xsecret_free(p);
		return;
	}
	sl->free[sl->nfree++] = p;
	pthread_mutex_unlock(&sl->lock);
}
