/*
 * message-envelope.h: the header fields of IMAP ENVELOPE (RFC 3501
 * 7.4.2), parsed; imapd/imap-envelope.c writes them.
 */
#ifndef GUESTBOX_MESSAGE_ENVELOPE_H
#define GUESTBOX_MESSAGE_ENVELOPE_H

#include <stddef.h>

#include "message-address.h"

/*
 * Strings are values as mime_header_value_full() gives them (folds kept
 * as LF, no NUL), NULL when the field is absent; of a repeated field the
 * last wins, while repeated address fields add up (both as Dovecot).
 */
struct message_envelope {
	char			*date;
	char			*subject;
	char			*in_reply_to;
	char			*message_id;
	struct message_addrlist	 from, sender, reply_to, to, cc, bcc;
	/* Not in ENVELOPE: for THREAD=REFERENCES (RFC 5256 3). */
	char			*references;
};

/* Fills a struct from a header block (the struct need not be zeroed). */
void	 message_envelope_parse(struct message_envelope *, const void *hdr,
	    size_t len);
void	 message_envelope_clear(struct message_envelope *);

#endif
