/*
 * imap-bodystructure.h: the FETCH items ENVELOPE, BODYSTRUCTURE and BODY
 * (RFC 3501 7.4.2) of a parsed or cached message (mail/mime.h).
 */
#ifndef GUESTBOX_IMAP_BODYSTRUCTURE_H
#define GUESTBOX_IMAP_BODYSTRUCTURE_H

#include <stddef.h>

struct evbuffer;
struct message_envelope;
struct mime_msg;

/* An envelope, parentheses included. */
void	 imap_envelope_write(struct evbuffer *,
	    const struct message_envelope *);
/* The message's ENVELOPE (as a version 1 cache kept it, if it did). */
void	 imap_bodystructure_write_envelope(struct evbuffer *,
	    const struct mime_msg *);
/* BODYSTRUCTURE (extended) or BODY, parentheses included. */
void	 imap_bodystructure_write(struct evbuffer *, const struct mime_msg *,
	    int extended);

enum imap_bs_item {
	IMAP_BS_ENVELOPE,
	IMAP_BS_BODYSTRUCTURE,
	IMAP_BS_BODY,
};

/*
 * One of the three as a new NUL-terminated string (it holds no NUL);
 * *lenp its length.  For tools and tests: FETCH writes to the connection.
 */
char	*imap_bodystructure_string(const struct mime_msg *, enum imap_bs_item,
	    size_t *lenp);

#endif
