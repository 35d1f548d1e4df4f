/*
 * imap-date.h: RFC 3501 date-time ("17-Jul-1996 02:44:25 -0700") for
 * APPEND and INTERNALDATE.
 */
#ifndef GUESTBOX_IMAP_DATE_H
#define GUESTBOX_IMAP_DATE_H

#include <time.h>

#define IMAP_DATETIME_LEN	26	/* "dd-Mon-yyyy hh:mm:ss +zzzz" */

/* Parses date-time (a leading blank for one-digit days allowed); -1: bad. */
int	 imap_datetime_parse(const char *, time_t *);
/* Writes date-time in UTC ("+0000") into buf (IMAP_DATETIME_LEN + 1). */
char	*imap_datetime_format(time_t, char *buf, size_t len);

#endif
