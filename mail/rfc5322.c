/*
 * rfc5322.c: the header of a submitted message: fields, address lists
 * (checked on top of message-address.c, the one address parser), msg-ids
 * and dates (the one date parser, also SEARCH's).
 *
 * The parsers read an unfolded field body left to right; comments nest
 * only through a counter, so no input can make them use more stack.
 * Every buffer they grow is bounded by the value they read, and the value
 * by RFC5322_HEADER_MAX.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "message-address.h"
#include "pack.h"
#include "rfc5322.h"
#include "rfc822-lex.h"
#include "util.h"
#include "xmalloc.h"

struct rfc5322_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

/* A C string read with rfc822-lex.c (end: its NUL). */
struct rfc5322_lex {
	const char	*p;
	const char	*end;
};

static void	rfc5322_buf_addc(struct rfc5322_buf *, char);
static void	rfc5322_buf_add(struct rfc5322_buf *, const char *, size_t);
static char	*rfc5322_buf_take(struct rfc5322_buf *);
static int	rfc5322_cfws(struct rfc5322_lex *);
static void	rfc5322_lex_init(struct rfc5322_lex *, const char *);
static int	rfc5322_skip_word(struct rfc5322_lex *);
static char	*rfc5322_local_canon(const struct message_address *,
		    const char **);
static int	rfc5322_is_domain_literal(const char *);
static int	rfc5322_mailbox_ok(const struct message_address *,
		    const char **);
static void	rfc5322_addr_clear(struct rfc5322_addr *);
static void	rfc5322_addrlist_truncate(struct rfc5322_addrlist *, size_t);
static const char *rfc5322_msgid_at(const char *, char **);
static int	rfc5322_date_num(const char **, int, int, int *);

static void
rfc5322_buf_addc(struct rfc5322_buf *b, char c)
{
	rfc5322_buf_add(b, &c, 1);
}

static void
rfc5322_buf_add(struct rfc5322_buf *b, const char *s, size_t n)
{
	if (b->s == NULL || b->cap - b->len < n + 1) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Hands over the string (never NULL) and empties the buffer. */
static char *
rfc5322_buf_take(struct rfc5322_buf *b)
{
	char	*s = b->s != NULL ? b->s : xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

/* ------------------------------------------------------------------ */
/* Header fields                                                      */
/* ------------------------------------------------------------------ */

char *
rfc5322_unfold(const char *s, size_t n)
{
	char	*out;
	size_t	 i, o = 0, start = 0;

	out = xmalloc(n + 1);
	/* RFC 5322 2.2.3: remove each CRLF that precedes WSP. */
	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			out[o++] = s[i];
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	while (start < o && (out[start] == ' ' || out[start] == '\t'))
		start++;
	memmove(out, out + start, o - start);
	out[o - start] = '\0';
	return out;
}

int
rfc5322_header_parse(const char *msg, size_t len, struct rfc5322_header **hp,
    const char **whyp)
{
	struct rfc5322_header	*h;
	struct rfc5322_field	*f;
	const char		*p = msg, *end = msg + len, *line, *nl, *next;
	const char		*colon, *ne, *c;
	size_t			 llen, cap = 0, i;

	*hp = NULL;
	*whyp = NULL;
	h = xcalloc(1, sizeof(*h));
	h->body = end;
	while (p < end) {
		line = p;
		nl = memchr(p, '\n', (size_t)(end - p));
		next = nl != NULL ? nl + 1 : end;
		llen = (size_t)((nl != NULL ? nl : end) - line);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if ((size_t)(next - msg) > RFC5322_HEADER_MAX) {
			*whyp = "the header is larger than 256 KiB";
			goto fail;
		}
		if (memchr(line, '\0', (size_t)(next - line)) != NULL) {
			*whyp = "the header holds a NUL character";
			goto fail;
		}
		if (llen == 0) {
			/* RFC 5322 2.1: an empty line ends the header. */
			h->body = next;
			break;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (h->nfields == 0) {
				*whyp = "the header begins with a folded line";
				goto fail;
			}
			f = &h->fields[h->nfields - 1];
			f->raw_len = (size_t)(next - f->raw);
			p = next;
			continue;
		}
		if ((colon = memchr(line, ':', llen)) == NULL) {
			*whyp = "a header line is not a field (no colon)";
			goto fail;
		}
		/* RFC 5322 4.5: obsolete blanks before the colon. */
		for (ne = colon; ne > line && (ne[-1] == ' ' || ne[-1] == '\t');
		    ne--)
			;
		if (ne == line) {
			*whyp = "a header field has an empty name";
			goto fail;
		}
		/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126 */
		for (c = line; c < ne; c++)
			if (*c < 33 || *c > 126) {
				*whyp = "a header field name holds a character "
				    "that is not allowed";
				goto fail;
			}
		if (h->nfields == RFC5322_FIELDS_MAX) {
			*whyp = "the header has more than 1000 fields";
			goto fail;
		}
		if (h->nfields == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			h->fields = xreallocarray(h->fields, cap,
			    sizeof(*h->fields));
		}
		f = &h->fields[h->nfields++];
		memset(f, 0, sizeof(*f));
		f->raw = line;
		f->raw_len = (size_t)(next - line);
		f->name = xstrndup(line, (size_t)(ne - line));
		p = next;
	}
	h->header_len = (size_t)(h->body - msg);
	h->body_len = (size_t)(end - h->body);
	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		colon = memchr(f->raw, ':', f->raw_len);
		f->value = rfc5322_unfold(colon + 1,
		    f->raw_len - (size_t)(colon + 1 - f->raw));
	}
	*hp = h;
	return 0;
fail:
	rfc5322_header_free(&h);
	return -1;
}

void
rfc5322_header_free(struct rfc5322_header **hp)
{
	struct rfc5322_header	*h = *hp;
	size_t			 i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nfields; i++) {
		free(h->fields[i].name);
		free(h->fields[i].value);
	}
	free(h->fields);
	free(h);
	*hp = NULL;
}

const struct rfc5322_field *
rfc5322_header_find(const struct rfc5322_header *h, const char *name,
    const struct rfc5322_field *prev)
{
	size_t	 i = prev == NULL ? 0 : (size_t)(prev - h->fields) + 1;

	for (; i < h->nfields; i++)
		if (strcasecmp(h->fields[i].name, name) == 0)
			return &h->fields[i];
	return NULL;
}

const char *
rfc5322_header_value(const struct rfc5322_header *h, const char *name)
{
	const struct rfc5322_field	*f;

	f = rfc5322_header_find(h, name, NULL);
	return f == NULL ? NULL : f->value;
}

size_t
rfc5322_header_count(const struct rfc5322_header *h, const char *name)
{
	const struct rfc5322_field	*f = NULL;
	size_t				 n = 0;

	while ((f = rfc5322_header_find(h, name, f)) != NULL)
		n++;
	return n;
}

/* ------------------------------------------------------------------ */
/* Lexical tokens (RFC 5322 3.2)                                      */
/* ------------------------------------------------------------------ */

static void
rfc5322_lex_init(struct rfc5322_lex *lx, const char *s)
{
	lx->p = s;
	lx->end = s + strlen(s);
}

/* RFC 5322 3.2.2 CFWS (rfc822-lex.c); -1 for a comment never closed. */
static int
rfc5322_cfws(struct rfc5322_lex *lx)
{
	struct rfc822_lex	 l;

	rfc822_lex_init(&l, (const uint8_t *)lx->p, (size_t)(lx->end - lx->p),
	    NULL);
	if (rfc822_lex_skip_lwsp(&l) < 0)
		return -1;
	lx->p = (const char *)l.p;
	return 0;
}

/* RFC 5322 3.2.5 word (atom or quoted-string) and CFWS; -1 if none. */
static int
rfc5322_skip_word(struct rfc5322_lex *lx)
{
	struct rfc822_lex	 l;
	struct pack		 word;
	int			 ret;

	rfc822_lex_init(&l, (const uint8_t *)lx->p, (size_t)(lx->end - lx->p),
	    NULL);
	pack_init(&word);
	ret = *lx->p == '"' ? rfc822_lex_quoted(&l, &word) :
	    rfc822_lex_atom(&l, &word);
	pack_free(&word);
	if (ret < 0)
		return -1;
	lx->p = (const char *)l.p;
	return 0;
}

static void
rfc5322_addr_clear(struct rfc5322_addr *a)
{
	free(a->display);
	free(a->addr);
	free(a->norm);
	free(a->group);
	memset(a, 0, sizeof(*a));
}

static void
rfc5322_addrlist_truncate(struct rfc5322_addrlist *list, size_t n)
{
	while (list->naddrs > n)
		rfc5322_addr_clear(&list->addrs[--list->naddrs]);
}

/*
 * RFC 5322 3.4.1 local-part = dot-atom / quoted-string, as we keep it: a
 * dot-atom bare (so "bob"@x is bob@x), anything else quoted.  NULL with
 * a reason for an unquoted local part that is no dot-atom (".a", "a..b":
 * message-address.c keeps those for ENVELOPE, as Dovecot does).
 */
static char *
rfc5322_local_canon(const struct message_address *a, const char **whyp)
{
	struct rfc5322_buf	 b = { NULL, 0, 0 };
	const char		*p;

	if (rfc822_is_dot_atom_text(a->mailbox, 1))
		return xstrdup(a->mailbox);
	if (!(a->flags & MESSAGE_ADDRESS_F_QUOTED)) {
		*whyp = "a local part has misplaced dots";
		return NULL;
	}
	rfc5322_buf_addc(&b, '"');
	for (p = a->mailbox; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			rfc5322_buf_addc(&b, '\\');
		rfc5322_buf_addc(&b, *p);
	}
	rfc5322_buf_addc(&b, '"');
	return rfc5322_buf_take(&b);
}

/*
 * Whether an entry of message_address_parse_full() is a whole mailbox as
 * RFC 5322 3.4 has it; sets a reason if not.
 */
/*
 * RFC 5322 3.4.1 domain-literal: "[" *([FWS] dtext) [FWS] "]", where
 * dtext excludes "[", "]" and "\\" but obs-dtext (4.4) allows quoted pairs.
 */
static int
rfc5322_is_domain_literal(const char *s)
{
	const char	*p;

	for (p = s + 1; *p != '\0' && *p != ']'; p++) {
		if (*p == '[')
			return 0;
		if (*p == '\\' && *++p == '\0')
			return 0;
	}
	return *p == ']' && p[1] == '\0';
}

static int
rfc5322_mailbox_ok(const struct message_address *a, const char **whyp)
{
	if (a->flags & MESSAGE_ADDRESS_F_FILLED) {
		*whyp = a->mailbox != NULL &&
		    strcmp(a->mailbox, "MISSING_MAILBOX") == 0 ?
		    "an address has no local part" :
		    "an address has no '@' and domain";
		return 0;
	}
	if (a->invalid) {
		*whyp = "an address is malformed";
		return 0;
	}
	/* RFC 5322 4.4 obs-route: "@a,@b:" before the addr-spec. */
	if (a->route != NULL && strcmp(a->route, "INVALID_ROUTE") == 0) {
		*whyp = "a route in <> is malformed";
		return 0;
	}
	/* RFC 5322 3.4.1 domain = dot-atom / domain-literal */
	if (a->domain[0] == '[' ? !rfc5322_is_domain_literal(a->domain) :
	    !rfc822_is_dot_atom_text(a->domain, 1)) {
		*whyp = "an address has no valid domain";
		return 0;
	}
	return 1;
}

/*
 * The one address parser is message-address.c's (RFC 5322 3.4 with the
 * obsolete forms of 4.4); submission takes from it only what is a whole
 * mailbox and refuses everything it had to repair.
 */
int
rfc5322_addrlist_parse(const char *value, size_t max,
    struct rfc5322_addrlist *list, const char **whyp)
{
	struct message_addrlist	 l;
	struct message_address	*e;
	struct rfc5322_addr	*a;
	size_t			 n0 = list->naddrs, g0 = list->ngroups, i;
	const char		*group = NULL, *why = NULL;
	char			*local, norm[ADDR_MAX + 1];

	*whyp = NULL;
	memset(&l, 0, sizeof(l));
	if (message_address_parse_full(&l, (const uint8_t *)value,
	    strlen(value), MESSAGE_ADDRESS_PARSE_STRICT) == -1) {
		why = "malformed address list";
		goto fail;
	}
	for (i = 0; i < l.n; i++) {
		e = &l.v[i];
		if (e->mailbox == NULL && e->domain == NULL &&
		    e->name == NULL && e->route == NULL) {
			group = NULL;		/* the end of a group */
			continue;
		}
		/* Mailboxes are filled in (F_FILLED): both are set. */
		if (e->mailbox == NULL) {
			why = "an address has no local part";
			goto fail;
		}
		if (e->domain == NULL) {
			/* RFC 5322 3.4 group: display-name ":" ... ";" */
			if (e->mailbox[0] == '\0') {
				why = "a group has no name";
				goto fail;
			}
			group = e->mailbox;
			list->ngroups++;
			continue;
		}
		if (!rfc5322_mailbox_ok(e, &why) ||
		    (local = rfc5322_local_canon(e, &why)) == NULL)
			goto fail;
		if (list->naddrs >= max) {
			free(local);
			why = "too many addresses";
			goto fail;
		}
		/* Grow at powers of two: 1,000 addresses, 10 reallocations. */
		if (list->naddrs == 0 || (list->naddrs >= 4 &&
		    (list->naddrs & (list->naddrs - 1)) == 0))
			list->addrs = xreallocarray(list->addrs,
			    list->naddrs == 0 ? 4 : list->naddrs * 2,
			    sizeof(*list->addrs));
		a = &list->addrs[list->naddrs++];
		memset(a, 0, sizeof(*a));
		xasprintf(&a->addr, "%s@%s", local, e->domain);
		free(local);
		/* A comment after the address is no display name here. */
		if (e->name != NULL &&
		    !(e->flags & MESSAGE_ADDRESS_F_COMMENT_NAME))
			a->display = xstrdup(e->name);
		if (addr_normalize(a->addr, norm, &why) == 0)
			a->norm = xstrdup(norm);
		why = NULL;
		if (group != NULL)
			a->group = xstrdup(group);
	}
	message_addrlist_clear(&l);
	return 0;
fail:
	message_addrlist_clear(&l);
	rfc5322_addrlist_truncate(list, n0);
	list->ngroups = g0;
	*whyp = why != NULL ? why : "malformed address list";
	return -1;
}

int
rfc5322_header_addrs(const struct rfc5322_header *h, const char *name,
    size_t max, struct rfc5322_addrlist *list, const char **whyp)
{
	const struct rfc5322_field	*f = NULL;

	*whyp = NULL;
	while ((f = rfc5322_header_find(h, name, f)) != NULL)
		if (rfc5322_addrlist_parse(f->value, max, list, whyp) == -1)
			return -1;
	return 0;
}

int
rfc5322_addrlist_has(const struct rfc5322_addrlist *list, const char *norm)
{
	size_t	 i;

	for (i = 0; i < list->naddrs; i++)
		if (list->addrs[i].norm != NULL &&
		    strcmp(list->addrs[i].norm, norm) == 0)
			return 1;
	return 0;
}

void
rfc5322_addrlist_clear(struct rfc5322_addrlist *list)
{
	rfc5322_addrlist_truncate(list, 0);
	free(list->addrs);
	memset(list, 0, sizeof(*list));
}

/* ------------------------------------------------------------------ */
/* Message identifiers (RFC 5322 3.6.4)                               */
/* ------------------------------------------------------------------ */

/*
 * If p starts a msg-id, stores a copy in *idp and returns the position
 * after it; otherwise returns NULL.
 */
static const char *
rfc5322_msgid_at(const char *p, char **idp)
{
	const char	*q;

	*idp = NULL;
	if (*p != '<')
		return NULL;
	for (q = p + 1; *q > ' ' && *q < 127 && *q != '<' && *q != '>'; q++)
		;
	if (*q != '>' || q == p + 1)
		return NULL;
	*idp = xstrndup(p, (size_t)(q + 1 - p));
	return q + 1;
}

char *
rfc5322_msgid_parse(const char *value)
{
	struct rfc5322_lex	 lx;
	char			*id;

	rfc5322_lex_init(&lx, value);
	if (rfc5322_cfws(&lx) == -1 || rfc5322_msgid_at(lx.p, &id) == NULL)
		return NULL;
	return id;
}

int
rfc5322_msgids_parse(const char *value, size_t max, char ***idsp, size_t *np)
{
	struct rfc5322_lex	 lx;
	const char		*next;
	char			**ids = NULL, *id;
	size_t			 n = 0;

	*idsp = NULL;
	*np = 0;
	rfc5322_lex_init(&lx, value);
	for (;;) {
		/* An unclosed comment: the rest is no msg-id. */
		if (rfc5322_cfws(&lx) == -1 || *lx.p == '\0')
			break;
		if ((next = rfc5322_msgid_at(lx.p, &id)) != NULL) {
			if (n == max) {
				free(id);
				rfc5322_msgids_free(&ids, n);
				return -1;
			}
			if (n == 0 || (n >= 4 && (n & (n - 1)) == 0))
				ids = xreallocarray(ids, n == 0 ? 4 : n * 2,
				    sizeof(*ids));
			ids[n++] = id;
			lx.p = next;
			continue;
		}
		/* RFC 5322 4.5.4 obs-phrase between ids, or junk: skip. */
		if (rfc5322_skip_word(&lx) < 0)
			lx.p++;
	}
	*idsp = ids;
	*np = n;
	return 0;
}

void
rfc5322_msgids_free(char ***idsp, size_t n)
{
	size_t	 i;

	if (*idsp == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*idsp)[i]);
	free(*idsp);
	*idsp = NULL;
}

/* ------------------------------------------------------------------ */
/* Dates (RFC 5322 3.3, 4.3)                                          */
/* ------------------------------------------------------------------ */

/* Reads min to max digits into *vp. */
static int
rfc5322_date_num(const char **pp, int min, int max, int *vp)
{
	const char	*p = *pp;
	int		 n = 0, v = 0;

	while (*p >= '0' && *p <= '9' && n < max) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n < min || (*p >= '0' && *p <= '9'))
		return -1;
	*pp = p;
	*vp = v;
	return 0;
}

int
rfc5322_date_parse(const char *value, time_t *tp)
{
	int	 zone;

	return rfc5322_date_parse_zone(value, tp, &zone);
}

int
rfc5322_date_parse_zone(const char *value, time_t *tp, int *zonep)
{
	static const char *const months[] = { "jan", "feb", "mar", "apr",
	    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	/* RFC 5322 4.3 obs-zone */
	static const struct {
		const char	*name;
		int		 hours;
	} zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	struct rfc5322_lex	 lx;
	struct tm		 tm;
	const char		*ys;
	char			 word[8];
	size_t			 n, i;
	int			 day, year, hh, mm, ss = 0, zone = 0, sign, z;
	int			 mon = -1;
	time_t			 t;

	memset(&tm, 0, sizeof(tm));
	rfc5322_lex_init(&lx, value);
	if (rfc5322_cfws(&lx) == -1)
		return -1;
	/* [ day-of-week "," ] */
	if ((*lx.p >= 'A' && *lx.p <= 'Z') || (*lx.p >= 'a' && *lx.p <= 'z')) {
		while ((*lx.p >= 'A' && *lx.p <= 'Z') ||
		    (*lx.p >= 'a' && *lx.p <= 'z'))
			lx.p++;
		if (rfc5322_cfws(&lx) == -1)
			return -1;
		if (*lx.p == ',')
			lx.p++;
		if (rfc5322_cfws(&lx) == -1)
			return -1;
	}
	if (rfc5322_date_num(&lx.p, 1, 2, &day) == -1 || day < 1 || day > 31 ||
	    rfc5322_cfws(&lx) == -1)
		return -1;
	for (n = 0; n < sizeof(word) - 1 &&
	    ((*lx.p >= 'A' && *lx.p <= 'Z') || (*lx.p >= 'a' && *lx.p <= 'z'));
	    n++)
		word[n] = *lx.p++;
	word[n] = '\0';
	for (i = 0; i < 12; i++)
		if (strcasecmp(word, months[i]) == 0)
			mon = (int)i;
	if (mon == -1 || rfc5322_cfws(&lx) == -1)
		return -1;
	ys = lx.p;
	if (rfc5322_date_num(&lx.p, 2, 4, &year) == -1)
		return -1;
	/* RFC 5322 4.3: two-digit years, and three-digit ones. */
	if (lx.p - ys == 2)
		year += year < 50 ? 2000 : 1900;
	else if (lx.p - ys == 3)
		year += 1900;
	if (year < 1900 || rfc5322_cfws(&lx) == -1 ||
	    rfc5322_date_num(&lx.p, 1, 2, &hh) == -1 || hh > 23 ||
	    rfc5322_cfws(&lx) == -1 || *lx.p++ != ':' ||
	    rfc5322_cfws(&lx) == -1 ||
	    rfc5322_date_num(&lx.p, 2, 2, &mm) == -1 || mm > 59 ||
	    rfc5322_cfws(&lx) == -1)
		return -1;
	if (*lx.p == ':') {
		lx.p++;
		if (rfc5322_cfws(&lx) == -1 ||
		    rfc5322_date_num(&lx.p, 2, 2, &ss) == -1 || ss > 60 ||
		    rfc5322_cfws(&lx) == -1)
			return -1;
	}
	if (*lx.p == '+' || *lx.p == '-') {
		sign = *lx.p++ == '-' ? -1 : 1;
		if (rfc5322_date_num(&lx.p, 4, 4, &z) == -1 || z % 100 > 59)
			return -1;
		zone = sign * ((z / 100) * 3600 + (z % 100) * 60);
	} else {
		for (n = 0; n < sizeof(word) - 1 &&
		    ((*lx.p >= 'A' && *lx.p <= 'Z') ||
		    (*lx.p >= 'a' && *lx.p <= 'z')); n++)
			word[n] = *lx.p++;
		word[n] = '\0';
		if (n == 0)
			return -1;
		/* Military and unknown zones mean -0000 (RFC 5322 4.3). */
		for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
			if (strcasecmp(word, zones[i].name) == 0)
				zone = zones[i].hours * 3600;
	}
	if (rfc5322_cfws(&lx) == -1 || *lx.p != '\0')
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*tp = t - zone;
	*zonep = zone;
	return 0;
}

void
rfc5322_date_format(time_t t, int utc, char *buf, size_t len)
{
	struct tm	 tm;

	if (utc) {
		gmtime_r(&t, &tm);
		strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	} else {
		localtime_r(&t, &tm);
		strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
	}
}

void
rfc5322_random_id(char *buf, size_t len)
{
	uint8_t		 rnd[64];
	size_t		 n = (len - 1) / 2;

	if (len == 0 || n > sizeof(rnd))
		fatalx("rfc5322_random_id: %zu bytes", len);
	randombytes_buf(rnd, n);
	sodium_bin2hex(buf, len, rnd, n);
}

char *
rfc5322_trace_final(const char *from, const char *rcpt, const char *helo,
    const char *peer, const char *host, const char *comment,
    const char *proto, size_t *lenp)
{
	char	 date[RFC5322_DATE_MAX], id[17], with[64];
	char	*h;
	int	 n;

	rfc5322_date_format(time(NULL), 0, date, sizeof(date));
	with[0] = '\0';
	if (proto != NULL) {
		rfc5322_random_id(id, sizeof(id));
		snprintf(with, sizeof(with), " with %s id %s", proto, id);
	}
	n = xasprintf(&h, "Return-Path: <%s>\r\nDelivered-To: %s\r\n"
	    "Received: from %s (%s)\r\n\tby %s (%s)%s\r\n"
	    "\tfor <%s>; %s\r\n", from, rcpt,
	    helo != NULL && helo[0] != '\0' ? helo : "unknown", peer, host,
	    comment, with, rcpt, date);
	*lenp = (size_t)n;
	return h;
}
