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
	unsigned int	 flags;		/* MESSAGE_ADDRESS_F_* (not cached) */
};

#define MESSAGE_ADDRESS_F_QUOTED	0x01	/* local part a quoted-string */
#define MESSAGE_ADDRESS_F_COMMENT_NAME	0x02	/* name from "a@b (Name)" */
#define MESSAGE_ADDRESS_F_FILLED	0x04	/* MISSING_* put in */

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
/*
 * The same; returns 0 if the whole value was read (no stray text after
 * the list, no unclosed comment or quote), else -1.  With
 * MESSAGE_ADDRESS_PARSE_STRICT, for submission (rfc5322.c): empty list
 * elements are skipped (RFC 5322 4.4 obs-addr-list) and a group's ";"
 * needs no "," after it, instead of ending the list as for ENVELOPE.
 */
#define MESSAGE_ADDRESS_PARSE_STRICT	0x01
int	 message_address_parse_full(struct message_addrlist *,
	    const uint8_t *, size_t, unsigned int flags);
void	 message_addrlist_clear(struct message_addrlist *);

#endif
