/*
 * message-address.h: address lists (RFC 5322 3.4) for IMAP ENVELOPE.
 *
 * The parser never fails: a broken mailbox is kept with what could be
 * read and flagged invalid, a missing local part or domain is filled in
 * ("MISSING_MAILBOX", "MISSING_DOMAIN", "SYNTAX_ERROR") as Dovecot does,
 * and a group is a start entry (its name in mailbox, no domain) and an
 * end entry (all NULL), as RFC 3501 7.4.2 writes them.
 */
#ifndef GUESTBOX_MESSAGE_ADDRESS_H
#define GUESTBOX_MESSAGE_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#define MIME_MAX_ADDRESSES	10000		/* per address header */

struct message_address {
	char		*name;		/* display name, or NULL */
	char		*route;		/* obs-route "@a,@b", or NULL */
	char		*mailbox;	/* local part, unquoted */
	char		*domain;
	int		 invalid;	/* RFC 5322 syntax was broken */
};

struct message_addrlist {
	struct message_address	*v;
	size_t			 n;
	size_t			 cap;
};

/*
 * Appends the addresses of an address-list value (a repeated field adds
 * up) to list, at most MIME_MAX_ADDRESSES in all.
 */
void	 message_address_parse(struct message_addrlist *, const uint8_t *,
	    size_t);
void	 message_addrlist_clear(struct message_addrlist *);

#endif
