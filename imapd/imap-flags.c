/*
 * imap-flags.c: parsing flag lists and mapping keywords to their bits.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "imap-flags.h"

/* RFC 3501 9: a keyword is an atom; 50 bytes is Dovecot's limit too. */
#define IMAP_KEYWORD_MAX	50

static int
imap_flag_one(const char *name, struct imap_flags *f, const char **whyp)
{
	static const struct {
		const char	*name;
		uint32_t	 bit;
	} sys[] = {
		{ "\\Seen", STORE_F_SEEN },
		{ "\\Answered", STORE_F_ANSWERED },
		{ "\\Flagged", STORE_F_FLAGGED },
		{ "\\Deleted", STORE_F_DELETED },
		{ "\\Draft", STORE_F_DRAFT },
	};
	const char	*p;
	size_t		 i;

	if (name[0] == '\\') {
		for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
			if (strcasecmp(name, sys[i].name) == 0) {
				f->sys |= sys[i].bit;
				return 0;
			}
		/* RFC 3501 2.3.2: \Recent is the server's; Dovecot says BAD. */
		*whyp = strcasecmp(name, "\\Recent") == 0 ?
		    "\\Recent cannot be set by a client" : "Unknown system flag";
		return -1;
	}
	if (strlen(name) > IMAP_KEYWORD_MAX) {
		*whyp = "Keyword too long";
		return -1;
	}
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("(){%*\"\\]", *p) != NULL) {
			*whyp = "Invalid character in a keyword";
			return -1;
		}
	for (i = 0; i < f->nkeywords; i++)
		if (strcasecmp(f->keywords[i], name) == 0)
			return 0;
	if (f->nkeywords == STORE_MAX_KEYWORDS) {
		*whyp = "[LIMIT] Too many keywords";
		return -1;
	}
	f->keywords[f->nkeywords++] = name;
	return 0;
}

/*
 * RFC 3501 9: flag-keyword is an atom, and "NIL" is one: Dovecot takes it
 * as the keyword NIL, and so do we.
 */
static int
imap_flag_arg(const struct imap_arg *a, struct imap_flags *f,
    const char **whyp)
{
	const char	*name;

	if (a->type == IMAP_ARG_NIL)
		return imap_flag_one(a->str, f, whyp);
	if (!imap_arg_get_atom(a, &name)) {
		*whyp = "Flags are atoms";
		return -1;
	}
	return imap_flag_one(name, f, whyp);
}

int
imap_flags_parse(const struct imap_arg *a, struct imap_flags *f,
    const char **whyp)
{
	const struct imap_arg	*list;
	size_t			 n, i;

	memset(f, 0, sizeof(*f));
	if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL)
		return imap_flag_arg(a, f, whyp);
	if (!imap_arg_get_list(a, &list, &n)) {
		*whyp = "Flags must be a list";
		return -1;
	}
	for (i = 0; i < n; i++)
		if (imap_flag_arg(&list[i], f, whyp) == -1)
			return -1;
	return 0;
}

int
imap_flags_parse_args(const struct imap_arg *a, struct imap_flags *f,
    const char **whyp)
{
	if (a->type == IMAP_ARG_LIST) {
		if (!imap_arg_is_eol(&a[1])) {
			*whyp = "Flags after the flag list";
			return -1;
		}
		return imap_flags_parse(a, f, whyp);
	}
	memset(f, 0, sizeof(*f));
	for (; !imap_arg_is_eol(a); a++)
		if (imap_flag_arg(a, f, whyp) == -1)
			return -1;
	return 0;
}

int
imap_flags_keywords(struct store_txn *txn, struct store_mailbox *mb,
    const struct imap_flags *f, int create, uint64_t *bitsp)
{
	unsigned	 bit;
	size_t		 i;
	int		 ret;

	*bitsp = 0;
	for (i = 0; i < f->nkeywords; i++) {
		ret = store_mailbox_keyword(txn, mb, f->keywords[i], create, &bit);
		if (ret == STORE_ENOTFOUND && !create)
			continue;
		if (ret != 0)
			return ret;
		*bitsp |= 1ULL << bit;
	}
	return 0;
}
