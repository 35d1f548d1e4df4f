/*
 * xmalloc.h: allocation that never returns NULL (tmux's xmalloc.c).
 *
 * Every allocation failure ends the program in one place, so callers carry
 * no NULL checks.  Multiplications are checked for overflow.
 */
#ifndef GUESTBOX_XMALLOC_H
#define GUESTBOX_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

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

#endif
