/*
 * message-address.c: address lists (RFC 5322 3.4 with the obsolete forms
 * of 4.4) as Dovecot's message-address.c reads them for ENVELOPE: never
 * failing, what is missing filled in so that clients see something.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mail-buf.h"
#include "message-address.h"
#include "rfc822-lex.h"

struct aparser {
	struct rfc822_lex	 lx;
	struct pack		 str;
	struct pack		 comment;
	struct message_address	 a;
	struct message_addrlist	*out;
	unsigned int		 flags;		/* MESSAGE_ADDRESS_PARSE_* */
};

static void	 addrlist_add(struct message_addrlist *,
		    struct message_address *);
static void	 addr_free(struct message_address *);
static void	 ap_set(char **, const char *);
static int	 ap_loose_dot_atom(struct aparser *);
static int	 ap_local_part(struct aparser *);
static int	 ap_domain(struct aparser *);
static int	 ap_domain_list(struct aparser *);
static int	 ap_angle_addr(struct aparser *);
static int	 ap_name_addr(struct aparser *);
static int	 ap_addr_spec(struct aparser *);
static void	 ap_add_fixed(struct aparser *);
static int	 ap_mailbox(struct aparser *);
static int	 ap_group(struct aparser *);
static int	 ap_address(struct aparser *);
static int	 addrlist_group_ended(const struct message_addrlist *);

static void
addrlist_add(struct message_addrlist *l, struct message_address *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 4 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *a;
	/* The list owns the strings now (see addr_free). */
	a->name = a->route = a->mailbox = a->domain = NULL;
	a->invalid = 0;
	a->flags = 0;
}

static void
addr_free(struct message_address *a)
{
	free(a->name);
	free(a->route);
	free(a->mailbox);
	free(a->domain);
	/* Field by field: clang-analyzer loses a memset of a copied struct. */
	a->name = a->route = a->mailbox = a->domain = NULL;
	a->invalid = 0;
	a->flags = 0;
}

void
message_addrlist_clear(struct message_addrlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		addr_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
ap_set(char **field, const char *s)
{
	free(*field);
	*field = xstrdup(s);
}

/*
 * A local part with dots anywhere ("a..b", ".a", "a."): invalid per
 * RFC 5322 3.4.1 but sent by real mailers; Dovecot keeps them.
 */
static int
ap_loose_dot_atom(struct aparser *ap)
{
	struct rfc822_lex	*lx = &ap->lx;
	int		 ret = -1;

	do {
		while (lx->p < lx->end && *lx->p == '.') {
			mail_buf_addc(&ap->str, '.');
			if (++lx->p == lx->end)
				return 0;
			ret = 1;
		}
		if (rfc822_lex_cur(lx) == '@')
			break;
		ret = rfc822_lex_atom(lx, &ap->str);
	} while (ret > 0 && rfc822_lex_cur(lx) == '.');
	return ret;
}

static int
ap_local_part(struct aparser *ap)
{
	int	 ret;

	ap->str.len = 0;
	if (rfc822_lex_cur(&ap->lx) == '"') {
		ret = rfc822_lex_quoted(&ap->lx, &ap->str);
		ap->a.flags |= MESSAGE_ADDRESS_F_QUOTED;
	} else {
		ret = ap_loose_dot_atom(ap);
		ap->a.flags &= ~MESSAGE_ADDRESS_F_QUOTED;
	}
	if (ret < 0)
		return -1;
	free(ap->a.mailbox);
	ap->a.mailbox = mail_buf_cstr(&ap->str);
	return ret;
}

static int
ap_domain(struct aparser *ap)
{
	int	 ret;

	ap->str.len = 0;
	if ((ret = rfc822_lex_domain(&ap->lx, &ap->str)) < 0)
		return -1;
	free(ap->a.domain);
	ap->a.domain = mail_buf_cstr(&ap->str);
	return ret;
}

/* RFC 5322 4.4 obs-route: "@a,@b:" kept as "@a,@b". */
static int
ap_domain_list(struct aparser *ap)
{
	int	 ret;

	ap->str.len = 0;
	for (;;) {
		if (ap->lx.p == ap->lx.end)
			return 0;
		if (*ap->lx.p != '@')
			break;
		if (ap->str.len > 0)
			mail_buf_addc(&ap->str, ',');
		mail_buf_addc(&ap->str, '@');
		if ((ret = rfc822_lex_domain(&ap->lx, &ap->str)) <= 0)
			return ret;
		while (rfc822_lex_skip_lwsp(&ap->lx) > 0 && *ap->lx.p == ',')
			ap->lx.p++;
	}
	free(ap->a.route);
	ap->a.route = mail_buf_cstr(&ap->str);
	return 1;
}

static int
ap_angle_addr(struct aparser *ap)
{
	ap->lx.p++;
	if (rfc822_lex_skip_lwsp(&ap->lx) <= 0)
		return -1;
	if (*ap->lx.p == '@') {
		if (ap_domain_list(ap) > 0 && rfc822_lex_cur(&ap->lx) == ':')
			ap->lx.p++;
		else {
			ap_set(&ap->a.route, "INVALID_ROUTE");
			if (ap->lx.p == ap->lx.end)
				return -1;
			/* try to go on */
		}
		if (rfc822_lex_skip_lwsp(&ap->lx) <= 0)
			return -1;
	}
	/* "<>" is no address, but the list goes on after it. */
	if (*ap->lx.p != '>') {
		if (ap_local_part(ap) <= 0)
			return -1;
		if (*ap->lx.p == '@') {
			if (ap_domain(ap) <= 0)
				return -1;
		}
	}
	if (*ap->lx.p != '>')
		return -1;
	ap->lx.p++;
	return rfc822_lex_skip_lwsp(&ap->lx);
}

static int
ap_name_addr(struct aparser *ap)
{
	ap->str.len = 0;
	if (rfc822_lex_phrase(&ap->lx, &ap->str) <= 0 ||
	    rfc822_lex_cur(&ap->lx) != '<')
		return -1;
	free(ap->a.name);
	ap->a.name = ap->str.len == 0 ? NULL : mail_buf_cstr(&ap->str);
	if (ap->a.name != NULL && ap->a.name[0] == '\0') {
		free(ap->a.name);
		ap->a.name = NULL;
	}
	if (ap_angle_addr(ap) < 0) {
		ap_set(&ap->a.domain, "SYNTAX_ERROR");
		ap->a.invalid = 1;
	}
	return ap->lx.p < ap->lx.end ? 1 : 0;
}

static int
ap_addr_spec(struct aparser *ap)
{
	int	 ret, ret2 = -2, quoted;
	size_t	 n;

	ap->comment.len = 0;
	quoted = rfc822_lex_cur(&ap->lx) == '"';
	ret = ap_local_part(ap);
	if (ret <= 0)
		ap->a.invalid = 1;
	if (ret != 0 && ap->lx.p < ap->lx.end && *ap->lx.p == '@') {
		ret2 = ap_domain(ap);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (ap->comment.len > 0) {
		/* "user@host (Real Name)": the comment is the name. */
		free(ap->a.name);
		ap->a.name = mail_buf_cstr(&ap->comment);
		ap->a.flags |= MESSAGE_ADDRESS_F_COMMENT_NAME;
	} else if (ret2 == -2) {
		/*
		 * No @domain: a lone word is a mailbox, but words that go on
		 * are a display name without an address (Dovecot).
		 */
		mail_buf_addc(&ap->str, ' ');
		n = ap->str.len;
		(void)rfc822_lex_phrase(&ap->lx, &ap->str);
		if (ap->str.len != n) {
			free(ap->a.mailbox);
			ap->a.mailbox = NULL;
			free(ap->a.name);
			ap->a.name = mail_buf_cstr(&ap->str);
		} else if (!quoted)
			ap_set(&ap->a.domain, "");
		ap->a.invalid = 1;
		ret = -1;
	}
	return ret;
}

static void
ap_add_fixed(struct aparser *ap)
{
	/* Dovecot fills what is missing so clients see something. */
	if (ap->a.mailbox == NULL) {
		ap->a.mailbox = xstrdup("MISSING_MAILBOX");
		ap->a.flags |= MESSAGE_ADDRESS_F_FILLED;
	}
	if (ap->a.domain == NULL || ap->a.domain[0] == '\0') {
		ap_set(&ap->a.domain, "MISSING_DOMAIN");
		ap->a.flags |= MESSAGE_ADDRESS_F_FILLED;
	}
	addrlist_add(ap->out, &ap->a);
}

static int
ap_mailbox(struct aparser *ap)
{
	const uint8_t	*start = ap->lx.p;
	int		 ret;

	if ((ret = ap_name_addr(ap)) < 0) {
		ap->lx.p = start;
		ret = ap_addr_spec(ap);
		/* A lone broken word is taken as a name. */
		if (ap->a.invalid && ap->a.name == NULL &&
		    ap->a.mailbox != NULL && ap->a.domain == NULL) {
			ap->a.name = ap->a.mailbox;
			ap->a.mailbox = NULL;
		}
	}
	ap_add_fixed(ap);
	return ret;
}

/* RFC 5322 3.4 group: a start entry (name in mailbox) and an end entry. */
static int
ap_group(struct aparser *ap)
{
	int	 ret;

	ap->str.len = 0;
	if (rfc822_lex_phrase(&ap->lx, &ap->str) <= 0 ||
	    rfc822_lex_cur(&ap->lx) != ':')
		return -1;
	ap->lx.p++;
	ret = rfc822_lex_skip_lwsp(&ap->lx);
	addr_free(&ap->a);
	ap->a.mailbox = mail_buf_cstr(&ap->str);
	addrlist_add(ap->out, &ap->a);

	if (ret > 0 && *ap->lx.p != ';') {
		for (;;) {
			if (ap->out->n >= MIME_MAX_ADDRESSES) {
				ret = -1;
				break;
			}
			if (ap->flags & MESSAGE_ADDRESS_PARSE_STRICT) {
				/* RFC 5322 4.4 obs-mbox-list: empty elements. */
				while (rfc822_lex_cur(&ap->lx) == ',') {
					ap->lx.p++;
					if (rfc822_lex_skip_lwsp(&ap->lx) <= 0)
						break;
				}
				if (rfc822_lex_cur(&ap->lx) == ';' ||
				    ap->lx.p == ap->lx.end)
					break;
			}
			/* A broken mailbox: go on with the next one. */
			(void)ap_mailbox(ap);
			if (rfc822_lex_cur(&ap->lx) != ',' ||
			    ap->lx.p == ap->lx.end)
				break;
			ap->lx.p++;
			if (rfc822_lex_skip_lwsp(&ap->lx) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (rfc822_lex_cur(&ap->lx) != ';')
			ret = -1;
		else {
			ap->lx.p++;
			ret = rfc822_lex_skip_lwsp(&ap->lx);
		}
	}
	addr_free(&ap->a);
	addrlist_add(ap->out, &ap->a);
	return ret == 0 ? 0 : 1;
}

static int
ap_address(struct aparser *ap)
{
	const uint8_t	*start = ap->lx.p;
	int		 ret;

	if ((ret = ap_group(ap)) < 0) {
		ap->lx.p = start;
		addr_free(&ap->a);
		ret = ap_mailbox(ap);
	}
	return ret;
}

void
message_address_parse(struct message_addrlist *out, const uint8_t *v, size_t n)
{
	(void)message_address_parse_full(out, v, n, 0);
}

/* Whether the last entry of the list ends a group. */
static int
addrlist_group_ended(const struct message_addrlist *l)
{
	const struct message_address	*a;

	if (l->n == 0)
		return 0;
	a = &l->v[l->n - 1];
	return a->name == NULL && a->route == NULL && a->mailbox == NULL &&
	    a->domain == NULL;
}

int
message_address_parse_full(struct message_addrlist *out, const uint8_t *v,
    size_t n, unsigned int flags)
{
	struct aparser	 ap;
	int		 ret, all = 0;

	memset(&ap, 0, sizeof(ap));
	pack_init(&ap.str);
	pack_init(&ap.comment);
	rfc822_lex_init(&ap.lx, v, n, &ap.comment);
	ap.out = out;
	ap.flags = flags;
	if ((ret = rfc822_lex_skip_lwsp(&ap.lx)) == 0)
		all = 1;
	while (ret > 0 && out->n < MIME_MAX_ADDRESSES) {
		if (flags & MESSAGE_ADDRESS_PARSE_STRICT) {
			/* RFC 5322 4.4 obs-addr-list: empty elements. */
			while (ret > 0 && rfc822_lex_cur(&ap.lx) == ',') {
				ap.lx.p++;
				ret = rfc822_lex_skip_lwsp(&ap.lx);
			}
			if (ret <= 0) {
				all = ret == 0;
				break;
			}
		}
		if (ap_address(&ap) == 0) {
			all = ap.lx.p == ap.lx.end;
			break;
		}
		if (rfc822_lex_cur(&ap.lx) != ',') {
			/* A group's ';' ends it: "G: a@x; b@y" goes on. */
			if ((flags & MESSAGE_ADDRESS_PARSE_STRICT) &&
			    ap.lx.p < ap.lx.end && addrlist_group_ended(out))
				continue;
			break;
		}
		ap.lx.p++;
		if ((ret = rfc822_lex_skip_lwsp(&ap.lx)) <= 0) {
			if (ret < 0)
				ap_add_fixed(&ap);
			all = ret == 0;
			break;
		}
	}
	/* Stopped at the end: read all unless something was not closed. */
	if (ap.lx.p == ap.lx.end && !ap.lx.unclosed)
		all = 1;
	addr_free(&ap.a);
	pack_free(&ap.str);
	pack_free(&ap.comment);
	return all && !ap.lx.unclosed ? 0 : -1;
}
