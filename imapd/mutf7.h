/*
 * mutf7.h: RFC 3501 5.1.3 modified UTF-7 mailbox names.
 */
#ifndef GUESTBOX_MUTF7_H
#define GUESTBOX_MUTF7_H

/* UTF-8 to modified UTF-7; returns a new string. */
char	*mutf7_encode(const char *utf8);
/*
 * Modified UTF-7 to UTF-8, strictly: non-canonical or broken encodings
 * give NULL with a reason in *whyp.  Returns a new string.
 */
char	*mutf7_decode(const char *wire, const char **whyp);

#endif
