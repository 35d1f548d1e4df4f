/*
 * imap-flags.h: flag lists of APPEND and STORE (RFC 3501 2.3.2, 9).
 */
#ifndef GUESTBOX_IMAP_FLAGS_H
#define GUESTBOX_IMAP_FLAGS_H

#include <stddef.h>
#include <stdint.h>

#include "imap-arg.h"
#include "store.h"

struct imap_flags {
	uint32_t	 sys;			/* STORE_F_* */
	const char	*keywords[STORE_MAX_KEYWORDS];	/* borrowed */
	size_t		 nkeywords;
};

/*
 * A list "(\Seen $Forwarded)" or a single flag; \Recent is ignored (it
 * cannot be set, RFC 3501 6.4.6).  -1 with *whyp for a bad flag.
 */
int	 imap_flags_parse(const struct imap_arg *, struct imap_flags *,
	    const char **whyp);
/*
 * STORE's (RFC 3501 9 store-att-flags): a list, or one or more flags
 * up to the end of the arguments.
 */
int	 imap_flags_parse_args(const struct imap_arg *, struct imap_flags *,
	    const char **whyp);
/*
 * The bits of the keywords in mailbox mb; with create, new keywords are
 * added (STORE_ELIMIT past STORE_MAX_KEYWORDS).  Without, unknown ones
 * are left out.
 */
int	 imap_flags_keywords(struct store_txn *, struct store_mailbox *mb,
	    const struct imap_flags *, int create, uint64_t *bitsp);

#endif
