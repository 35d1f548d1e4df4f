/*
 * message-subject.c: RFC 5256 2.1 base subject extraction.
 *
 * The grammar of RFC 5256 5 (case-insensitive):
 *	subj-trailer	= "(fwd)" / WSP
 *	subj-fwd-hdr	= "[fwd:"
 *	subj-fwd-trl	= "]"
 *	subj-leader	= (*subj-blob subj-refwd) / WSP
 *	subj-blob	= "[" *BLOBCHAR "]" *WSP
 *	subj-refwd	= ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
 * Works on one buffer with a start and an end that only move inwards,
 * so a subject of any length costs time linear in it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-buf.h"
#include "message-subject.h"
#include "mime-decode.h"

static size_t	 subject_blob(const char *, size_t);
static size_t	 subject_refwd(const char *, size_t);
static size_t	 subject_leader(const char *, size_t, int *);

/*
 * subj-blob at p: its length, 0 if none.  RFC 5256 5 leaves "[" and "]"
 * and 8-bit bytes out of BLOBCHAR; like Dovecot, only "[" is refused
 * inside, so that "[Liste-ä]" (UTF-8 after step 1) is a blob too.
 */
static size_t
subject_blob(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || p[0] != '[')
		return 0;
	for (i = 1; i < len && p[i] != ']'; i++)
		if (p[i] == '[')
			return 0;
	if (i == len)
		return 0;
	for (i++; i < len && p[i] == ' '; i++)
		;
	return i;
}

/* subj-refwd at p: its length, 0 if none. */
static size_t
subject_refwd(const char *p, size_t len)
{
	size_t	 i;

	if (len >= 2 && strncasecmp(p, "re", 2) == 0)
		i = 2;
	else if (len >= 3 && strncasecmp(p, "fwd", 3) == 0)
		i = 3;
	else if (len >= 2 && strncasecmp(p, "fw", 2) == 0)
		i = 2;
	else
		return 0;
	while (i < len && p[i] == ' ')
		i++;
	i += subject_blob(p + i, len - i);
	if (i < len && p[i] == ':')
		return i + 1;
	return 0;
}

/* subj-leader at p: its length (0: none); *refwdp set on a subj-refwd. */
static size_t
subject_leader(const char *p, size_t len, int *refwdp)
{
	size_t	 i = 0, n;

	if (len > 0 && p[0] == ' ')
		return 1;
	while ((n = subject_blob(p + i, len - i)) > 0)
		i += n;
	if ((n = subject_refwd(p + i, len - i)) == 0)
		return 0;
	*refwdp = 1;
	return i + n;
}

char *
message_subject_base(const char *subject, size_t len, int *refwdp)
{
	struct pack	 dec;
	char		*s, *out;
	size_t		 i, n, start, end;
	int		 refwd = 0, changed;

	pack_init(&dec);
	/* (1) RFC 2047 encoded words to UTF-8 ... */
	if (subject != NULL)
		mime_decode_words(&dec, (const uint8_t *)subject, len);
	s = xmalloc(dec.len + 1);
	/* ... tabs and continuations to a space, runs of them to one. */
	for (i = 0, n = 0; i < dec.len; i++) {
		char	 c = (char)dec.buf[i];

		if (c == '\t' || c == '\r' || c == '\n' || c == '\0')
			c = ' ';
		if (c == ' ' && n > 0 && s[n - 1] == ' ')
			continue;
		s[n++] = c;
	}
	pack_free(&dec);
	start = 0;
	end = n;
	for (;;) {
		/* (2) trailing subj-trailer, as long as there is one. */
		for (;;) {
			if (end > start && s[end - 1] == ' ')
				end--;
			else if (end - start >= 5 &&
			    strncasecmp(s + end - 5, "(fwd)", 5) == 0) {
				end -= 5;
				refwd = 1;
			} else
				break;
		}
		/* (5) repeat (3) and (4) until neither matches. */
		do {
			changed = 0;
			/* (3) leading subj-leader. */
			while ((n = subject_leader(s + start, end - start,
			    &refwd)) > 0) {
				start += n;
				changed = 1;
			}
			/* (4) a leading subj-blob, if text is left after it. */
			n = subject_blob(s + start, end - start);
			if (n > 0 && start + n < end) {
				start += n;
				changed = 1;
			}
		} while (changed);
		/* (6) "[fwd: ... ]" around it: off with it, back to (2). */
		if (end - start >= 6 && strncasecmp(s + start, "[fwd:", 5) == 0 &&
		    s[end - 1] == ']') {
			start += 5;
			end--;
			refwd = 1;
			continue;
		}
		break;
	}
	/* (7) what is left. */
	out = xstrndup(s + start, end - start);
	free(s);
	if (refwdp != NULL)
		*refwdp = refwd;
	return out;
}
