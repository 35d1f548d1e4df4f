/*
 * message-subject.h: the base subject of RFC 5256 2.1, what SORT SUBJECT
 * orders by and THREAD groups by.
 *
 *   "Re: [list] Fwd: Hello (fwd)"  ->  "Hello", a reply or forward
 */
#ifndef GUESTBOX_MESSAGE_SUBJECT_H
#define GUESTBOX_MESSAGE_SUBJECT_H

#include <stddef.h>

/*
 * The base subject of a Subject value as it stands in the header (RFC
 * 2047 encoded words, folds): a new NUL-terminated UTF-8 string (caller
 * frees), "" for an empty or missing subject (NULL in).  *refwdp (may be
 * NULL) is set when something of a reply or forward was removed ("Re:",
 * "Fwd:", "(fwd)", "[fwd: ...]"), as RFC 5256 3 (REFERENCES, step 5)
 * wants to know.  Never fails; no NUL in the result.
 */
char	*message_subject_base(const char *subject, size_t len, int *refwdp);

#endif
