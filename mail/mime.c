/*
 * mime.c: the MIME structure parser and the IMAP ENVELOPE/BODYSTRUCTURE
 * writer.
 *
 * Clients compare what they see with what other servers show, and cache
 * BODYSTRUCTURE for good, so the output follows Dovecot's choices wherever
 * RFC 3501 leaves one (tests/mime-dovecot.test checks it against a real
 * Dovecot): values keep the case they were written in, a text part without
 * charset gets ("charset" "us-ascii"), RFC 2231 parameters are joined but
 * not decoded, strings with 8-bit bytes, CR or LF become literals.
 *
 * The parser walks the whole message in memory once.  Boundaries follow
 * RFC 2046 5.1.1 as real mail needs it: the newest open boundary that is a
 * prefix of a "--" line wins (the longest one if several are), the CRLF
 * before a boundary line belongs to the boundary, a boundary line of an
 * outer multipart also ends every inner part, and a header block that
 * runs into a boundary ends there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

/* ---------------------------------------------------------------- */
/* Declarations                                                       */
/* ---------------------------------------------------------------- */

struct lex {
	const uint8_t	*p;
	const uint8_t	*end;
	struct pack	*comment;	/* the last comment seen, or NULL */
};

struct addr {
	char		*name;
	char		*route;
	char		*mailbox;
	char		*domain;
	int		 invalid;
};

struct addrlist {
	struct addr	*v;
	size_t		 n;
	size_t		 cap;
	int		 set;		/* the field was present */
};

struct envelope {
	char		*date;
	char		*subject;
	char		*in_reply_to;
	char		*message_id;
	struct addrlist	 from, sender, reply_to, to, cc, bcc;
};

struct bnd {
	struct bnd	*next;
	uint32_t	 part;
	uint8_t		*s;
	size_t		 len;
	int		 closing;	/* the last line seen was --s-- */
};

struct parser {
	const uint8_t	*d;
	size_t		 len;
	struct mime_msg	*m;
	uint32_t	 cap;
	uint64_t	*end;		/* per part: where it ends */
	uint32_t	*depth;		/* per part: number of ancestors */
	uint32_t	*last;		/* per part: its last child */
	struct bnd	*bnds;		/* open boundaries, newest first */
	uint32_t	 cur;
	size_t		 pos;
};

enum pstate {
	PS_HEADER,
	PS_TO_BOUNDARY,
	PS_TO_EOF,
	PS_DONE,
};

struct aparser;

struct rparam {
	char		*key;
	char		*value;
	unsigned	 idx;
	int		 extended;
};

static void	 buf_add(struct pack *, const void *, size_t);
static void	 buf_adds(struct pack *, const char *);
static void	 buf_addc(struct pack *, int);
static char	*buf_cstr(const struct pack *);
static int	 atext_class(uint8_t);
static int	 lex_cur(const struct lex *);
static void	 lex_init(struct lex *, const uint8_t *, size_t, struct pack *);
static int	 lex_skip_comment(struct lex *);
static int	 lex_skip_lwsp(struct lex *);
static int	 lex_atom(struct lex *, struct pack *);
static int	 lex_dot_atom(struct lex *, struct pack *);
static int	 lex_mime_token(struct lex *, struct pack *);
static int	 lex_quoted(struct lex *, struct pack *);
static int	 lex_atom_or_dot(struct lex *, struct pack *);
static int	 lex_phrase(struct lex *, struct pack *);
static int	 lex_domain_literal(struct lex *, struct pack *);
static int	 lex_domain(struct lex *, struct pack *);
static int	 lex_content_type(struct lex *, struct pack *);
static int	 lex_content_param(struct lex *, char **, char **);
static int	 rparam_cmp(const void *, const void *);
static void	 params_parse(struct lex *, struct mime_param **, size_t *);
static void	 params_push(struct mime_param **, size_t *, size_t *, char *,
		    char *);
static void	 params_free(struct mime_param *, size_t);
static int	 hexval(int);
static char	*hdr_full_value(const struct mime_header *, size_t *);
static int	 hdr_name_is(const struct mime_header *, const char *);
static void	 content_parse_type(struct mime_content *, const uint8_t *,
		    size_t);
static void	 content_parse_header(struct mime_content *,
		    const struct mime_header *);
static void	 addrlist_add(struct addrlist *, struct addr *);
static void	 addrlist_clear(struct addrlist *);
static void	 addr_parse_list(struct addrlist *, const uint8_t *, size_t);
static void	 addr_free(struct addr *);
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
static void	 envelope_header(struct envelope *, const struct mime_header *);
static void	 envelope_clear(struct envelope *);
static void	 imap_nstring(struct pack *, const char *);
static void	 imap_nstring_nolf(struct pack *, const char *);
static void	 imap_humans(struct pack *, const char *);
static void	 imap_addrs(struct pack *, const struct addrlist *);
static void	 imap_envelope(struct pack *, const struct envelope *);
static void	 write_params(struct pack *, const struct mime_param *, size_t,
		    int);
static void	 write_part(struct pack *, const struct mime_msg *,
		    const uint8_t *, uint32_t, int);
static void	 write_extension(struct pack *, const struct mime_content *);
static void	 part_envelope(struct pack *, const uint8_t *,
		    const struct mime_part *);
static int	 parser_child_ok(struct parser *, uint32_t);
static void	 parser_content_type(const struct mime_header *, uint32_t *,
		    char **);
static char	*cache_string(struct unpack *, size_t *);
static int	 cache_size_ok(uint64_t, uint64_t, uint32_t);
static uint32_t	 parser_new_part(struct parser *, uint32_t, uint64_t,
		    uint32_t);
static struct bnd *parser_boundary_at(struct parser *, size_t);
static void	 parser_bnds_free(struct bnd *, struct bnd *);
static enum pstate parser_header(struct parser *);
static enum pstate parser_to_boundary(struct parser *);
static enum pstate parser_finish(struct parser *, struct bnd *, size_t,
		    size_t, uint32_t);
static void	 parser_close_all(struct parser *, size_t);
static void	 count_range(const uint8_t *, uint64_t, uint64_t, uint64_t *,
		    uint64_t *);
static void	 msg_sizes(struct mime_msg *, const uint8_t *, const uint64_t *);
static void	 msg_strings(struct mime_msg *, const uint8_t *);

/* ---------------------------------------------------------------- */
/* Small buffers                                                      */
/* ---------------------------------------------------------------- */

static void
buf_add(struct pack *pk, const void *p, size_t n)
{
	pack_raw(pk, p, n);
}

static void
buf_adds(struct pack *pk, const char *s)
{
	pack_raw(pk, s, strlen(s));
}

static void
buf_addc(struct pack *pk, int c)
{
	pack_u8(pk, (uint8_t)c);
}

/* A C string of the buffer: like Dovecot's, it ends at the first NUL. */
static char *
buf_cstr(const struct pack *pk)
{
	return xstrndup(pk->len == 0 ? "" : (const char *)pk->buf, pk->len);
}

/* ---------------------------------------------------------------- */
/* RFC 5322 3.2 lexical tokens                                        */
/* ---------------------------------------------------------------- */

/*
 * 0: not atext; 1: atext; 2: letter, digit or 8-bit (RFC 6532 lets UTF-8
 * into atoms); 4: atext that is an RFC 2045 tspecial ("/", "=", "?").
 */
static int
atext_class(uint8_t c)
{
	if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z'))
		return 2;
	if (c == '/' || c == '=' || c == '?')
		return 4;
	if (c != 0 && strchr("!#$%&'*+-^_`{|}~", c) != NULL)
		return 1;
	return 0;
}

#define IS_ATEXT(c)	(atext_class(c) != 0)
#define IS_TOKEN(c)	((atext_class(c) & 3) != 0)
#define IS_LWSP(c)	((c) == ' ' || (c) == '\t')

/* The current byte; 0 at the end, where a C parser would see its NUL. */
static int
lex_cur(const struct lex *lx)
{
	return lx->p < lx->end ? *lx->p : 0;
}

static void
lex_init(struct lex *lx, const uint8_t *p, size_t n, struct pack *comment)
{
	lx->p = p;
	lx->end = p + n;
	lx->comment = comment;
}

/* RFC 5322 3.2.2 comment, nested; 1: more follows, 0: end, -1: unclosed. */
static int
lex_skip_comment(struct lex *lx)
{
	const uint8_t	*start;
	int		 level = 1;

	if (lx->comment != NULL)
		lx->comment->len = 0;
	start = ++lx->p;
	for (; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (lx->comment != NULL)
					buf_add(lx->comment, start,
					    lx->p - start);
				lx->p++;
				return lx->p < lx->end;
			}
			break;
		case '\\':
			if (lx->comment != NULL)
				buf_add(lx->comment, start, lx->p - start);
			start = lx->p + 1;
			lx->p++;
			if (lx->p == lx->end)
				return -1;
			break;
		}
	}
	return -1;
}

/* CFWS; 1: more follows, 0: end, -1: an unclosed comment. */
static int
lex_skip_lwsp(struct lex *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
		    *lx->p == '\n') {
			lx->p++;
			continue;
		}
		if (*lx->p != '(')
			break;
		if (lex_skip_comment(lx) < 0)
			return -1;
	}
	return lx->p < lx->end;
}

static int
lex_atom(struct lex *lx, struct pack *out)
{
	const uint8_t	*start;

	if (lx->p == lx->end || !IS_ATEXT(*lx->p))
		return -1;
	for (start = lx->p++; lx->p < lx->end && IS_ATEXT(*lx->p); lx->p++)
		;
	buf_add(out, start, lx->p - start);
	return lx->p < lx->end ? lex_skip_lwsp(lx) : 0;
}

/* dot-atom, allowing CFWS around the dots as RFC 822 did. */
static int
lex_dot_atom(struct lex *lx, struct pack *out)
{
	const uint8_t	*start;
	int		 ret;

	if (lx->p == lx->end || !IS_ATEXT(*lx->p))
		return -1;
	for (start = lx->p++; lx->p < lx->end; ) {
		if (IS_ATEXT(*lx->p)) {
			lx->p++;
			continue;
		}
		buf_add(out, start, lx->p - start);
		if ((ret = lex_skip_lwsp(lx)) <= 0)
			return ret;
		if (*lx->p != '.')
			return 1;
		lx->p++;
		buf_addc(out, '.');
		if ((ret = lex_skip_lwsp(lx)) <= 0)
			return ret;
		start = lx->p;
	}
	buf_add(out, start, lx->p - start);
	return 0;
}

/* RFC 2045 5.1 token (dots allowed: real mail has them); may be empty. */
static int
lex_mime_token(struct lex *lx, struct pack *out)
{
	const uint8_t	*start;

	for (start = lx->p; lx->p < lx->end; lx->p++) {
		if (!IS_TOKEN(*lx->p) && *lx->p != '.')
			break;
	}
	buf_add(out, start, lx->p - start);
	return lx->p < lx->end ? lex_skip_lwsp(lx) : 0;
}

/* RFC 5322 3.2.4 quoted-string: quoted-pairs undone, folds removed. */
static int
lex_quoted(struct lex *lx, struct pack *out)
{
	const uint8_t	*start;
	size_t		 n;

	lx->p++;
	for (start = lx->p; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '"':
			buf_add(out, start, lx->p - start);
			lx->p++;
			return lex_skip_lwsp(lx);
		case '\n':
			n = lx->p - start;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			buf_add(out, start, n);
			start = lx->p + 1;
			break;
		case '\\':
			lx->p++;
			if (lx->p == lx->end)
				return -1;
			buf_add(out, start, lx->p - start - 1);
			start = lx->p;
			break;
		}
	}
	return -1;
}

static int
lex_atom_or_dot(struct lex *lx, struct pack *out)
{
	const uint8_t	*start;

	for (start = lx->p; lx->p < lx->end; lx->p++) {
		if (!IS_ATEXT(*lx->p) && *lx->p != '.')
			break;
	}
	buf_add(out, start, lx->p - start);
	return lx->p < lx->end ? lex_skip_lwsp(lx) : 0;
}

/* RFC 5322 3.2.5 phrase with obs-phrase; words joined by one space. */
static int
lex_phrase(struct lex *lx, struct pack *out)
{
	int	 ret, c;

	if (lx->p == lx->end)
		return 0;
	if (*lx->p == '.')
		return -1;
	for (;;) {
		if (*lx->p == '"')
			ret = lex_quoted(lx, out);
		else
			ret = lex_atom_or_dot(lx, out);
		if (ret <= 0)
			return ret;
		c = lex_cur(lx);
		if (!IS_ATEXT(c) && c != '"' && c != '.')
			break;
		buf_addc(out, ' ');
	}
	return lex_skip_lwsp(lx);
}

static int
lex_domain_literal(struct lex *lx, struct pack *out)
{
	const uint8_t	*start;

	for (start = lx->p; lx->p < lx->end; lx->p++) {
		if (*lx->p == '\\') {
			if (++lx->p == lx->end)
				break;
		} else if (*lx->p == ']') {
			lx->p++;
			buf_add(out, start, lx->p - start);
			return lex_skip_lwsp(lx);
		}
	}
	return -1;
}

/* "@" domain: dot-atom or domain-literal. */
static int
lex_domain(struct lex *lx, struct pack *out)
{
	lx->p++;
	if (lex_skip_lwsp(lx) <= 0)
		return -1;
	if (*lx->p == '[')
		return lex_domain_literal(lx, out);
	return lex_dot_atom(lx, out);
}

/* RFC 2045 5.1 type "/" subtype into out; -1 if broken (out has a part). */
static int
lex_content_type(struct lex *lx, struct pack *out)
{
	size_t	 start = out->len, sub;
	int	 ret;

	if (lex_skip_lwsp(lx) <= 0)
		return -1;
	/* "text" alone is kept as a type; anything worse is no type. */
	if (lex_mime_token(lx, out) <= 0 || out->len == start)
		return -1;
	if (*lx->p != '/')
		goto bad;
	lx->p++;
	if (lex_skip_lwsp(lx) <= 0)
		goto bad;
	buf_addc(out, '/');
	sub = out->len;
	if ((ret = lex_mime_token(lx, out)) < 0 || out->len == sub)
		goto bad;
	if (ret > 0 && *lx->p != ';')
		goto bad;
	return ret;
bad:
	out->len = start;
	return -1;
}

/*
 * One ";" attribute "=" value.  1 with new strings in *keyp and *valuep,
 * 0 at the end, -1 if broken (the caller skips a byte and tries again).
 */
static int
lex_content_param(struct lex *lx, char **keyp, char **valuep)
{
	struct pack	 key, value;
	int		 ret;

	*keyp = *valuep = NULL;
	if (lx->p == lx->end)
		return 0;
	if (*lx->p != ';')
		return -1;
	lx->p++;
	if (lex_skip_lwsp(lx) <= 0)
		return -1;
	pack_init(&key);
	if (lex_mime_token(lx, &key) <= 0 || *lx->p != '=') {
		pack_free(&key);
		return -1;
	}
	lx->p++;
	pack_init(&value);
	if ((ret = lex_skip_lwsp(lx)) <= 0) {
		/* no value */
	} else if (*lx->p == '"') {
		ret = lex_quoted(lx, &value);
	} else if (*lx->p == '=') {
		/* Broken mailers write name==?utf-8?b?...?= unquoted. */
		while (lx->p < lx->end && *lx->p != ';' && *lx->p != ' ' &&
		    *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n')
			buf_addc(&value, *lx->p++);
	} else
		ret = lex_mime_token(lx, &value);
	*keyp = buf_cstr(&key);
	*valuep = buf_cstr(&value);
	pack_free(&key);
	pack_free(&value);
	return ret < 0 ? -1 : 1;
}

/* ---------------------------------------------------------------- */
/* Parameters (RFC 2045 5.1, RFC 2231 3 and 4)                        */
/* ---------------------------------------------------------------- */

static int
rparam_cmp(const void *a, const void *b)
{
	const struct rparam	*r1 = a, *r2 = b;
	int			 ret;

	if ((ret = strcmp(r1->key, r2->key)) != 0)
		return ret;
	return r1->idx < r2->idx ? -1 : r1->idx > r2->idx;
}

static void
params_push(struct mime_param **v, size_t *n, size_t *cap, char *key,
    char *value)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].name = key;
	(*v)[*n].value = value;
	(*n)++;
}

/*
 * All parameters up to the end.  RFC 2231 3: name*0, name*1 ... are
 * joined into one name (name* if any section was extended, with the
 * plain sections %-escaped so the value stays one encoded string), in
 * section order; a family with a missing section stays apart.  The plain
 * parameters come first, in order, then the joined ones sorted by name.
 */
static void
params_parse(struct lex *lx, struct mime_param **paramsp, size_t *np)
{
	struct mime_param	*v = NULL;
	struct rparam		*rp = NULL;
	struct pack		 val;
	size_t			 n = 0, cap = 0, nrp = 0, caprp = 0, i, j, next;
	unsigned		 idx = 0, next_idx;
	char			*key, *value, *star, *q;
	int			 ret, extended, ok, have_ext;

	while ((ret = lex_content_param(lx, &key, &value)) != 0) {
		if (ret < 0) {
			free(key);
			free(value);
			if (lx->p == lx->end)
				break;
			lx->p++;
			continue;
		}
		if (n + nrp >= MIME_MAX_PARAMS) {
			free(key);
			free(value);
			continue;
		}
		/*
		 * name*N, name*N*, name*: RFC 2231 sections.  Like Dovecot,
		 * a bare "name*" keeps the section number of the previous
		 * one.
		 */
		if ((star = strchr(key, '*')) != NULL) {
			q = star;
			if (q[1] != '\0') {
				q++;
				idx = 0;
				for (; *q >= '0' && *q <= '9'; q++) {
					if (idx < 100000)
						idx = idx * 10 + (*q - '0');
				}
			}
			extended = *q == '*';
			if (extended)
				q++;
			if (*q == '\0') {
				if (nrp == caprp) {
					caprp = caprp == 0 ? 4 : caprp * 2;
					rp = xreallocarray(rp, caprp,
					    sizeof(*rp));
				}
				*star = '\0';
				rp[nrp].key = key;
				rp[nrp].value = value;
				rp[nrp].idx = idx;
				rp[nrp].extended = extended;
				nrp++;
				continue;
			}
		}
		params_push(&v, &n, &cap, key, value);
	}

	if (nrp > 0)
		qsort(rp, nrp, sizeof(*rp), rparam_cmp);
	for (i = 0; i < nrp; i = next) {
		ok = 1;
		have_ext = 0;
		next_idx = 0;
		for (j = i; j < nrp; j++) {
			if (strcasecmp(rp[i].key, rp[j].key) != 0)
				break;
			if (rp[j].idx != next_idx)
				ok = 0;
			if (rp[j].extended)
				have_ext = 1;
			next_idx++;
		}
		next = j;
		if (!ok) {
			for (j = i; j < next; j++) {
				xasprintf(&key, rp[j].extended ? "%s*%u*" :
				    "%s*%u", rp[j].key, rp[j].idx);
				params_push(&v, &n, &cap, key,
				    xstrdup(rp[j].value));
			}
			continue;
		}
		pack_init(&val);
		if (!rp[i].extended && have_ext)
			buf_adds(&val, "''");
		for (j = i; j < next; j++) {
			if (!rp[j].extended && have_ext) {
				for (q = rp[j].value; *q != '\0'; q++) {
					if (*q == '%')
						buf_adds(&val, "%25");
					else
						buf_addc(&val, *q);
				}
			} else
				buf_adds(&val, rp[j].value);
		}
		xasprintf(&key, "%s%s", rp[i].key, have_ext ? "*" : "");
		params_push(&v, &n, &cap, key, buf_cstr(&val));
		pack_free(&val);
	}
	for (i = 0; i < nrp; i++) {
		free(rp[i].key);
		free(rp[i].value);
	}
	free(rp);
	*paramsp = v;
	*np = n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
mime_param_get(const struct mime_param *params, size_t n, const char *name,
    char **charsetp, size_t *lenp)
{
	size_t		 i, nlen = strlen(name), vlen;
	const char	*v, *q1, *q2;
	struct pack	 out;
	char		*ret;
	int		 hi, lo;

	if (charsetp != NULL)
		*charsetp = NULL;
	/* RFC 2231 4: the extended form wins over a plain fallback. */
	for (i = 0; i < n; i++) {
		if (strncasecmp(params[i].name, name, nlen) != 0 ||
		    strcmp(params[i].name + nlen, "*") != 0)
			continue;
		v = params[i].value;
		if ((q1 = strchr(v, '\'')) == NULL ||
		    (q2 = strchr(q1 + 1, '\'')) == NULL)
			break;	/* not charset'lang'value: use it as it is */
		if (charsetp != NULL && q1 > v)
			*charsetp = xstrndup(v, q1 - v);
		pack_init(&out);
		for (v = q2 + 1; *v != '\0'; v++) {
			if (*v == '%' && (hi = hexval(v[1])) >= 0 &&
			    (lo = hexval(v[2])) >= 0) {
				buf_addc(&out, hi << 4 | lo);
				v += 2;
			} else
				buf_addc(&out, *v);
		}
		vlen = out.len;
		buf_addc(&out, '\0');
		ret = (char *)out.buf;
		if (lenp != NULL)
			*lenp = vlen;
		return ret;
	}
	for (i = 0; i < n; i++) {
		if (strcasecmp(params[i].name, name) == 0 ||
		    (strncasecmp(params[i].name, name, nlen) == 0 &&
		    strcmp(params[i].name + nlen, "*") == 0)) {
			if (lenp != NULL)
				*lenp = strlen(params[i].value);
			return xstrdup(params[i].value);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* Header fields                                                      */
/* ---------------------------------------------------------------- */

void
mime_header_iter_init(struct mime_header_iter *it, const void *hdr,
    size_t len)
{
	it->p = hdr;
	it->end = it->p + len;
}

int
mime_header_iter_next(struct mime_header_iter *it, struct mime_header *h)
{
	const uint8_t	*p = it->p, *end = it->end, *eol, *colon, *q, *last;
	size_t		 n;

	if (p >= end)
		return 0;
	/* RFC 5322 2.1: the header ends at the first empty line. */
	if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
		it->p = end;
		return 0;
	}
	memset(h, 0, sizeof(*h));
	h->line = p;
	eol = memchr(p, '\n', end - p);
	if (eol == NULL)
		eol = end;
	colon = memchr(p, ':', eol - p);

	/* RFC 5322 2.2.3: a line starting with WSP continues the field. */
	last = p;
	q = eol;
	while (q < end && q + 1 < end && IS_LWSP(q[1])) {
		last = q + 1;
		q = memchr(q + 1, '\n', end - (q + 1));
		if (q == NULL)
			q = end;
	}
	it->p = q < end ? q + 1 : end;
	h->line_len = it->p - p;

	/* The value ends before the last newline (and a CR before it). */
	n = q - p;
	if (q < end && n > 0 && p[n - 1] == '\r' && p + n - 1 >= last)
		n--;

	if (colon == NULL) {
		/* Dovecot: a line without a colon is all name. */
		h->name = p;
		h->name_len = eol - p;
		if (eol < end && h->name_len > 0 && p[h->name_len - 1] == '\r')
			h->name_len--;
		h->value = p + h->name_len;
		h->value_len = n - h->name_len;
		return 1;
	}
	h->name = p;
	h->name_len = colon - p;
	while (h->name_len > 0 && IS_LWSP(p[h->name_len - 1]))
		h->name_len--;
	/*
	 * Skip the blanks after the colon; a value of blanks only keeps all
	 * but the first (as Dovecot does).
	 */
	q = colon + 1;
	{
		const uint8_t	*lend = eol;

		if (eol < end && eol > colon + 1 && eol[-1] == '\r')
			lend = eol - 1;
		while (q < lend && IS_LWSP(*q))
			q++;
		if (q == lend && lend > colon + 1 && IS_LWSP(colon[1]))
			q = colon + 2;
	}
	h->value = q;
	h->value_len = p + n > q ? (size_t)(p + n - q) : 0;
	return 1;
}

char *
mime_header_unfold(const uint8_t *value, size_t len, size_t *lenp)
{
	struct pack	 out;
	size_t		 i, n;
	char		*ret;

	pack_init(&out);
	for (i = 0; i < len; i++) {
		if (value[i] == '\n')
			continue;
		if (value[i] == '\r' && i + 1 < len && value[i + 1] == '\n')
			continue;
		buf_addc(&out, value[i]);
	}
	n = out.len;
	while (n > 0 && IS_LWSP(out.buf[n - 1]))
		n--;
	out.len = n;
	buf_addc(&out, '\0');
	ret = (char *)out.buf;
	if (lenp != NULL)
		*lenp = n;
	return ret;
}

static int
hdr_name_is(const struct mime_header *h, const char *name)
{
	size_t	 n = strlen(name);

	return h->name_len == n && strncasecmp((const char *)h->name, name,
	    n) == 0 && memchr(h->name, '\0', n) == NULL;
}

char *
mime_header_get(const void *hdr, size_t len, const char *name, size_t *lenp)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h)) {
		if (hdr_name_is(&h, name))
			return mime_header_unfold(h.value, h.value_len, lenp);
	}
	return NULL;
}

void
mime_header_fields(const void *hdr, size_t len, const char *const *names,
    size_t nnames, int exclude, struct pack *out)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;
	size_t			 i;
	int			 match;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h)) {
		match = 0;
		for (i = 0; i < nnames && !match; i++)
			match = hdr_name_is(&h, names[i]);
		if (match == exclude)
			continue;
		for (i = 0; i < h.line_len; i++) {
			if (h.line[i] == '\n' && (i == 0 ||
			    h.line[i - 1] != '\r'))
				buf_addc(out, '\r');
			buf_addc(out, h.line[i]);
		}
	}
	buf_adds(out, "\r\n");
}

/*
 * The value as Dovecot's header parser hands it over: folds kept as bare
 * LF (the CR before each dropped), each NUL made U+FFFD.
 */
static char *
hdr_full_value(const struct mime_header *h, size_t *lenp)
{
	struct pack	 out;
	size_t		 i;
	char		*ret;

	pack_init(&out);
	for (i = 0; i < h->value_len; i++) {
		if (h->value[i] == '\0') {
			buf_adds(&out, "\xef\xbf\xbd");
			continue;
		}
		if (h->value[i] == '\r' && i + 1 < h->value_len &&
		    h->value[i + 1] == '\n')
			continue;
		buf_addc(&out, h->value[i]);
	}
	if (lenp != NULL)
		*lenp = out.len;
	buf_addc(&out, '\0');
	ret = (char *)out.buf;
	return ret;
}

/* ---------------------------------------------------------------- */
/* Content-* fields                                                   */
/* ---------------------------------------------------------------- */

static void
content_parse_type(struct mime_content *c, const uint8_t *v, size_t n)
{
	struct lex	 lx;
	struct pack	 str;
	char		*s, *slash;
	int		 ret;

	lex_init(&lx, v, n, NULL);
	lex_skip_lwsp(&lx);
	pack_init(&str);
	ret = lex_content_type(&lx, &str);
	s = buf_cstr(&str);
	pack_free(&str);
	if ((slash = strchr(s, '/')) != NULL) {
		c->subtype = xstrdup(slash + 1);
		*slash = '\0';
	}
	c->type = s;
	/* A broken type is kept as far as it goes, but no parameters. */
	if (ret < 0)
		return;
	params_parse(&lx, &c->params, &c->nparams);
}

static void
content_parse_header(struct mime_content *c, const struct mime_header *h)
{
	struct lex	 lx;
	struct pack	 str;
	const char	*name;
	char		*v, **langs = NULL;
	size_t		 vlen, n = 0, cap = 0;

	if (h->name_len < 8 || strncasecmp((const char *)h->name,
	    "Content-", 8) != 0)
		return;
	name = (const char *)h->name + 8;
	v = hdr_full_value(h, &vlen);

#define NAME_IS(s)	(h->name_len - 8 == strlen(s) && \
			    strncasecmp(name, s, strlen(s)) == 0)
	if (NAME_IS("ID")) {
		if (c->id == NULL) {
			c->id = v;
			v = NULL;
		}
	} else if (NAME_IS("MD5")) {
		if (c->md5 == NULL) {
			c->md5 = v;
			v = NULL;
		}
	} else if (NAME_IS("Type")) {
		if (c->type == NULL)
			content_parse_type(c, (uint8_t *)v, vlen);
	} else if (NAME_IS("Transfer-Encoding")) {
		if (c->encoding == NULL) {
			lex_init(&lx, (uint8_t *)v, vlen, NULL);
			lex_skip_lwsp(&lx);
			pack_init(&str);
			if (lex_mime_token(&lx, &str) >= 0 &&
			    lex_skip_lwsp(&lx) == 0 && str.len > 0)
				c->encoding = buf_cstr(&str);
			pack_free(&str);
		}
	} else if (NAME_IS("Language")) {
		if (c->language == NULL) {
			/* RFC 3282 2: 1#Language-tag */
			lex_init(&lx, (uint8_t *)v, vlen, NULL);
			pack_init(&str);
			lex_skip_lwsp(&lx);
			while (lex_atom(&lx, &str) >= 0 &&
			    n < MIME_MAX_PARAMS) {
				if (n == cap) {
					cap = cap == 0 ? 4 : cap * 2;
					langs = xreallocarray(langs, cap,
					    sizeof(*langs));
				}
				langs[n++] = buf_cstr(&str);
				str.len = 0;
				if (lx.p == lx.end || *lx.p != ',')
					break;
				lx.p++;
				lex_skip_lwsp(&lx);
			}
			pack_free(&str);
			c->language = langs;
			c->nlanguage = n;
		}
	} else if (NAME_IS("Location")) {
		if (c->location == NULL) {
			c->location = v;
			v = NULL;
		}
	} else if (NAME_IS("Description")) {
		if (c->description == NULL) {
			c->description = v;
			v = NULL;
		}
	} else if (NAME_IS("Disposition")) {
		/* Dovecot lets a later one win while none had parameters. */
		if (c->ndparams == 0) {
			lex_init(&lx, (uint8_t *)v, vlen, NULL);
			lex_skip_lwsp(&lx);
			pack_init(&str);
			if (lex_mime_token(&lx, &str) >= 0) {
				free(c->disposition);
				c->disposition = buf_cstr(&str);
				params_parse(&lx, &c->dparams, &c->ndparams);
			}
			pack_free(&str);
		}
	}
#undef NAME_IS
	free(v);
}

void
mime_content_parse(const void *hdr, size_t len, struct mime_content *c)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;

	memset(c, 0, sizeof(*c));
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h))
		content_parse_header(c, &h);
}

static void
params_free(struct mime_param *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

void
mime_content_clear(struct mime_content *c)
{
	size_t	 i;

	free(c->type);
	free(c->subtype);
	params_free(c->params, c->nparams);
	free(c->encoding);
	free(c->id);
	free(c->description);
	free(c->md5);
	free(c->disposition);
	params_free(c->dparams, c->ndparams);
	for (i = 0; i < c->nlanguage; i++)
		free(c->language[i]);
	free(c->language);
	free(c->location);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------- */
/* Addresses (RFC 5322 3.4 with the obsolete forms of 4.4)            */
/* ---------------------------------------------------------------- */

struct aparser {
	struct lex	 lx;
	struct pack	 str;
	struct pack	 comment;
	struct addr	 a;
	struct addrlist	*out;
};

static void
addrlist_add(struct addrlist *l, struct addr *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 4 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *a;
	memset(a, 0, sizeof(*a));
}

static void
addr_free(struct addr *a)
{
	free(a->name);
	free(a->route);
	free(a->mailbox);
	free(a->domain);
	memset(a, 0, sizeof(*a));
}

static void
addrlist_clear(struct addrlist *l)
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
	struct lex	*lx = &ap->lx;
	int		 ret = -1;

	do {
		while (lx->p < lx->end && *lx->p == '.') {
			buf_addc(&ap->str, '.');
			if (++lx->p == lx->end)
				return 0;
			ret = 1;
		}
		if (lex_cur(lx) == '@')
			break;
		ret = lex_atom(lx, &ap->str);
	} while (ret > 0 && lex_cur(lx) == '.');
	return ret;
}

static int
ap_local_part(struct aparser *ap)
{
	int	 ret;

	ap->str.len = 0;
	if (lex_cur(&ap->lx) == '"')
		ret = lex_quoted(&ap->lx, &ap->str);
	else
		ret = ap_loose_dot_atom(ap);
	if (ret < 0)
		return -1;
	free(ap->a.mailbox);
	ap->a.mailbox = buf_cstr(&ap->str);
	return ret;
}

static int
ap_domain(struct aparser *ap)
{
	int	 ret;

	ap->str.len = 0;
	if ((ret = lex_domain(&ap->lx, &ap->str)) < 0)
		return -1;
	free(ap->a.domain);
	ap->a.domain = buf_cstr(&ap->str);
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
			buf_addc(&ap->str, ',');
		buf_addc(&ap->str, '@');
		if ((ret = lex_domain(&ap->lx, &ap->str)) <= 0)
			return ret;
		while (lex_skip_lwsp(&ap->lx) > 0 && *ap->lx.p == ',')
			ap->lx.p++;
	}
	free(ap->a.route);
	ap->a.route = buf_cstr(&ap->str);
	return 1;
}

static int
ap_angle_addr(struct aparser *ap)
{
	ap->lx.p++;
	if (lex_skip_lwsp(&ap->lx) <= 0)
		return -1;
	if (*ap->lx.p == '@') {
		if (ap_domain_list(ap) > 0 && lex_cur(&ap->lx) == ':')
			ap->lx.p++;
		else {
			ap_set(&ap->a.route, "INVALID_ROUTE");
			if (ap->lx.p == ap->lx.end)
				return -1;
			/* try to go on */
		}
		if (lex_skip_lwsp(&ap->lx) <= 0)
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
	return lex_skip_lwsp(&ap->lx);
}

static int
ap_name_addr(struct aparser *ap)
{
	ap->str.len = 0;
	if (lex_phrase(&ap->lx, &ap->str) <= 0 || lex_cur(&ap->lx) != '<')
		return -1;
	free(ap->a.name);
	ap->a.name = ap->str.len == 0 ? NULL : buf_cstr(&ap->str);
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
	quoted = lex_cur(&ap->lx) == '"';
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
		ap->a.name = buf_cstr(&ap->comment);
	} else if (ret2 == -2) {
		/*
		 * No @domain: a lone word is a mailbox, but words that go on
		 * are a display name without an address (Dovecot).
		 */
		buf_addc(&ap->str, ' ');
		n = ap->str.len;
		(void)lex_phrase(&ap->lx, &ap->str);
		if (ap->str.len != n) {
			free(ap->a.mailbox);
			ap->a.mailbox = NULL;
			free(ap->a.name);
			ap->a.name = buf_cstr(&ap->str);
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
	if (ap->a.mailbox == NULL)
		ap->a.mailbox = xstrdup("MISSING_MAILBOX");
	if (ap->a.domain == NULL || ap->a.domain[0] == '\0')
		ap_set(&ap->a.domain, "MISSING_DOMAIN");
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
	if (lex_phrase(&ap->lx, &ap->str) <= 0 || lex_cur(&ap->lx) != ':')
		return -1;
	ap->lx.p++;
	ret = lex_skip_lwsp(&ap->lx);
	addr_free(&ap->a);
	ap->a.mailbox = buf_cstr(&ap->str);
	addrlist_add(ap->out, &ap->a);

	if (ret > 0 && *ap->lx.p != ';') {
		for (;;) {
			if (ap->out->n >= MIME_MAX_ADDRESSES) {
				ret = -1;
				break;
			}
			/* A broken mailbox: go on with the next one. */
			(void)ap_mailbox(ap);
			if (lex_cur(&ap->lx) != ',' || ap->lx.p == ap->lx.end)
				break;
			ap->lx.p++;
			if (lex_skip_lwsp(&ap->lx) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (lex_cur(&ap->lx) != ';')
			ret = -1;
		else {
			ap->lx.p++;
			ret = lex_skip_lwsp(&ap->lx);
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

static void
addr_parse_list(struct addrlist *out, const uint8_t *v, size_t n)
{
	struct aparser	 ap;
	int		 ret;

	memset(&ap, 0, sizeof(ap));
	pack_init(&ap.str);
	pack_init(&ap.comment);
	lex_init(&ap.lx, v, n, &ap.comment);
	ap.out = out;
	if (lex_skip_lwsp(&ap.lx) > 0) {
		while (out->n < MIME_MAX_ADDRESSES) {
			if (ap_address(&ap) == 0)
				break;
			if (lex_cur(&ap.lx) != ',')
				break;
			ap.lx.p++;
			if ((ret = lex_skip_lwsp(&ap.lx)) <= 0) {
				if (ret < 0)
					ap_add_fixed(&ap);
				break;
			}
		}
	}
	addr_free(&ap.a);
	pack_free(&ap.str);
	pack_free(&ap.comment);
}

/* ---------------------------------------------------------------- */
/* The envelope (RFC 3501 7.4.2)                                      */
/* ---------------------------------------------------------------- */

static void
envelope_header(struct envelope *env, const struct mime_header *h)
{
	struct addrlist	*al = NULL;
	char		**sp = NULL;
	char		*v;
	size_t		 vlen;

	if (hdr_name_is(h, "Date"))
		sp = &env->date;
	else if (hdr_name_is(h, "Subject"))
		sp = &env->subject;
	else if (hdr_name_is(h, "In-Reply-To"))
		sp = &env->in_reply_to;
	else if (hdr_name_is(h, "Message-ID"))
		sp = &env->message_id;
	else if (hdr_name_is(h, "From"))
		al = &env->from;
	else if (hdr_name_is(h, "Sender"))
		al = &env->sender;
	else if (hdr_name_is(h, "Reply-To"))
		al = &env->reply_to;
	else if (hdr_name_is(h, "To"))
		al = &env->to;
	else if (hdr_name_is(h, "Cc"))
		al = &env->cc;
	else if (hdr_name_is(h, "Bcc"))
		al = &env->bcc;
	else
		return;

	v = hdr_full_value(h, &vlen);
	if (sp != NULL) {
		free(*sp);
		*sp = v;
		return;
	}
	/* Repeated address fields add up (Dovecot); strings: the last wins. */
	addr_parse_list(al, (const uint8_t *)v, vlen);
	free(v);
}

static void
envelope_clear(struct envelope *env)
{
	free(env->date);
	free(env->subject);
	free(env->in_reply_to);
	free(env->message_id);
	addrlist_clear(&env->from);
	addrlist_clear(&env->sender);
	addrlist_clear(&env->reply_to);
	addrlist_clear(&env->to);
	addrlist_clear(&env->cc);
	addrlist_clear(&env->bcc);
	memset(env, 0, sizeof(*env));
}

/* ---------------------------------------------------------------- */
/* IMAP strings (RFC 3501 4.3, 9 string/nstring)                      */
/* ---------------------------------------------------------------- */

/*
 * A quoted string unless it has CR, LF or 8-bit bytes (not allowed in
 * quoted) or more than four characters to escape (a literal is shorter).
 */
static void
imap_nstring(struct pack *out, const char *s)
{
	size_t		 i, n, esc = 0;
	int		 literal = 0;

	if (s == NULL) {
		buf_adds(out, "NIL");
		return;
	}
	n = strlen(s);
	for (i = 0; i < n && !literal; i++) {
		switch ((uint8_t)s[i]) {
		case '"':
		case '\\':
			if (esc++ >= 4)
				literal = 1;
			break;
		case '\r':
		case '\n':
			literal = 1;
			break;
		default:
			if ((uint8_t)s[i] >= 0x80)
				literal = 1;
			break;
		}
	}
	if (literal) {
		char	 num[32];

		snprintf(num, sizeof(num), "{%zu}\r\n", n);
		buf_adds(out, num);
		buf_add(out, s, n);
		return;
	}
	buf_addc(out, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, s[i]);
	}
	buf_addc(out, '"');
}

/* Folds become one space (none before a line that starts with a blank). */
static void
imap_nstring_nolf(struct pack *out, const char *s)
{
	struct pack	 tmp;
	size_t		 i, n;
	char		*t;
	int		 c;

	if (s == NULL || strpbrk(s, "\r\n") == NULL) {
		imap_nstring(out, s);
		return;
	}
	n = strlen(s);
	pack_init(&tmp);
	for (i = 0; i < n; i++) {
		if (s[i] != '\r' && s[i] != '\n') {
			buf_addc(&tmp, s[i]);
			continue;
		}
		c = i + 1 < n ? s[i + 1] : '\0';
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
		    c != '\0')
			buf_addc(&tmp, ' ');
	}
	t = buf_cstr(&tmp);
	pack_free(&tmp);
	imap_nstring(out, t);
	free(t);
}

/*
 * Subjects and display names: runs of blanks and folds become one space,
 * leading and trailing ones go; anything changed, escaped or 8-bit is sent
 * as a literal (Dovecot's imap_append_string_for_humans).
 */
static void
imap_humans(struct pack *out, const char *s)
{
	size_t		 i, n = strlen(s), remove = 0, start;
	int		 last_lwsp = 1, prefix = 1, modify = 0;
	char		 num[32];

	for (i = 0; i < n; i++) {
		switch ((uint8_t)s[i]) {
		case '\r':
		case '\n':
		case '\t':
		case ' ':
			/* Anything but a single space is changed. */
			if (s[i] != ' ' || last_lwsp)
				modify = 1;
			if (last_lwsp)
				remove++;
			last_lwsp = 1;
			break;
		case '"':
		case '\\':
			modify = 1;
			last_lwsp = 0;
			break;
		default:
			if ((uint8_t)s[i] >= 0x80)
				modify = 1;
			last_lwsp = 0;
			break;
		}
		if (!last_lwsp)
			prefix = 0;
	}
	if (last_lwsp && n > 0 && !prefix) {
		modify = 1;
		remove++;
	}
	if (!modify) {
		buf_addc(out, '"');
		buf_add(out, s, n);
		buf_addc(out, '"');
		return;
	}
	if (n == remove) {
		buf_adds(out, "\"\"");
		return;
	}
	snprintf(num, sizeof(num), "{%zu}\r\n", n - remove);
	buf_adds(out, num);
	start = out->len;
	last_lwsp = 1;
	prefix = 1;
	for (i = 0; i < n; i++) {
		switch ((uint8_t)s[i]) {
		case '\r':
		case '\n':
		case '\t':
		case ' ':
			if (!last_lwsp)
				buf_addc(out, ' ');
			last_lwsp = 1;
			break;
		default:
			last_lwsp = 0;
			buf_addc(out, s[i]);
			break;
		}
		if (!last_lwsp)
			prefix = 0;
	}
	if (last_lwsp && n > 0 && !prefix)
		out->len--;
	if (out->len - start != n - remove)
		fatalx("imap_humans: literal length mismatch");
}

static void
imap_addrs(struct pack *out, const struct addrlist *l)
{
	size_t			 i;
	const struct addr	*a;

	if (l->n == 0) {
		buf_adds(out, "NIL");
		return;
	}
	buf_addc(out, '(');
	for (i = 0; i < l->n; i++) {
		a = &l->v[i];
		buf_addc(out, '(');
		if (a->name == NULL)
			buf_adds(out, "NIL");
		else
			imap_humans(out, a->name);
		buf_addc(out, ' ');
		imap_nstring(out, a->route);
		buf_addc(out, ' ');
		imap_nstring(out, a->mailbox);
		buf_addc(out, ' ');
		imap_nstring(out, a->domain);
		buf_addc(out, ')');
	}
	buf_addc(out, ')');
}

static void
imap_envelope(struct pack *out, const struct envelope *env)
{
	buf_addc(out, '(');
	imap_nstring_nolf(out, env->date);
	buf_addc(out, ' ');
	if (env->subject == NULL)
		buf_adds(out, "NIL");
	else
		imap_humans(out, env->subject);
	buf_addc(out, ' ');
	imap_addrs(out, &env->from);
	buf_addc(out, ' ');
	/* RFC 3501 7.4.2: Sender and Reply-To default to From. */
	imap_addrs(out, env->sender.n > 0 ? &env->sender : &env->from);
	buf_addc(out, ' ');
	imap_addrs(out, env->reply_to.n > 0 ? &env->reply_to : &env->from);
	buf_addc(out, ' ');
	imap_addrs(out, &env->to);
	buf_addc(out, ' ');
	imap_addrs(out, &env->cc);
	buf_addc(out, ' ');
	imap_addrs(out, &env->bcc);
	buf_addc(out, ' ');
	imap_nstring_nolf(out, env->in_reply_to);
	buf_addc(out, ' ');
	imap_nstring_nolf(out, env->message_id);
	buf_addc(out, ')');
}

/* ---------------------------------------------------------------- */
/* BODY and BODYSTRUCTURE (RFC 3501 7.4.2)                            */
/* ---------------------------------------------------------------- */

static void
write_params(struct pack *out, const struct mime_param *v, size_t n,
    int default_charset)
{
	size_t	 i;
	int	 seen = 0;

	if (!default_charset && n == 0) {
		buf_adds(out, "NIL");
		return;
	}
	buf_addc(out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, ' ');
		if (strcasecmp(v[i].name, "charset") == 0)
			seen = 1;
		imap_nstring(out, v[i].name);
		buf_addc(out, ' ');
		imap_nstring(out, v[i].value);
	}
	/* RFC 2045 5.2: text without a charset is US-ASCII. */
	if (default_charset && !seen) {
		if (i > 0)
			buf_addc(out, ' ');
		buf_adds(out, "\"charset\" \"us-ascii\"");
	}
	buf_addc(out, ')');
}

static void
write_extension(struct pack *out, const struct mime_content *c)
{
	size_t	 i;

	buf_addc(out, ' ');
	if (c->disposition == NULL)
		buf_adds(out, "NIL");
	else {
		buf_addc(out, '(');
		imap_nstring(out, c->disposition);
		buf_addc(out, ' ');
		write_params(out, c->dparams, c->ndparams, 0);
		buf_addc(out, ')');
	}
	buf_addc(out, ' ');
	if (c->nlanguage == 0)
		buf_adds(out, "NIL");
	else {
		buf_addc(out, '(');
		for (i = 0; i < c->nlanguage; i++) {
			if (i > 0)
				buf_addc(out, ' ');
			imap_nstring(out, c->language[i]);
		}
		buf_addc(out, ')');
	}
	buf_addc(out, ' ');
	imap_nstring_nolf(out, c->location);
}

/* The envelope of an embedded message (or of the message itself). */
static void
part_envelope(struct pack *out, const uint8_t *d, const struct mime_part *p)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;
	struct envelope		 env;

	memset(&env, 0, sizeof(env));
	mime_header_iter_init(&it, d + p->hdr_off, p->hdr_len);
	while (mime_header_iter_next(&it, &h))
		envelope_header(&env, &h);
	imap_envelope(out, &env);
	envelope_clear(&env);
}

static void
write_part(struct pack *out, const struct mime_msg *m, const uint8_t *d,
    uint32_t idx, int ext)
{
	const struct mime_part	*p = &m->parts[idx];
	struct mime_content	 c;
	uint32_t		 ch;
	int			 text;
	char			 num[64];

	memset(&c, 0, sizeof(c));
	/* Without MIME-Version or Content-Type the Content-* are not MIME. */
	if (p->flags & MIME_PART_IS_MIME)
		mime_content_parse(d + p->hdr_off, p->hdr_len, &c);

	if (p->flags & MIME_PART_MULTIPART) {
		if (p->child == MIME_NONE) {
			/* RFC 2046 5.1.1 wants a part; say an empty one. */
			buf_adds(out, "(\"text\" \"plain\" (\"charset\" "
			    "\"us-ascii\") NIL NIL \"7bit\" 0 0");
			buf_adds(out, ext ? " NIL NIL NIL NIL)" : ")");
		}
		for (ch = p->child; ch != MIME_NONE; ch = m->parts[ch].next) {
			buf_addc(out, '(');
			write_part(out, m, d, ch, ext);
			buf_addc(out, ')');
		}
		buf_addc(out, ' ');
		imap_nstring(out, c.subtype != NULL ? c.subtype : "");
		if (ext) {
			buf_addc(out, ' ');
			write_params(out, c.params, c.nparams, 0);
			write_extension(out, &c);
		}
		mime_content_clear(&c);
		return;
	}

	if (p->flags & MIME_PART_OVERFLOW) {
		/* Not parsed for a limit: opaque data, as Dovecot says. */
		buf_adds(out, "\"application\" \"octet-stream\"");
		text = 0;
	} else if (p->flags & MIME_PART_RFC822) {
		buf_adds(out, "\"message\" \"rfc822\"");
		text = 0;
	} else if (c.type == NULL) {
		buf_adds(out, "\"text\" \"plain\"");
		text = 1;
	} else {
		text = strcasecmp(c.type, "text") == 0;
		imap_nstring(out, c.type);
		buf_addc(out, ' ');
		imap_nstring(out, c.subtype != NULL ? c.subtype : "");
	}
	buf_addc(out, ' ');
	write_params(out, c.params, c.nparams, text);
	buf_addc(out, ' ');
	imap_nstring_nolf(out, c.id);
	buf_addc(out, ' ');
	imap_nstring_nolf(out, c.description);
	buf_addc(out, ' ');
	imap_nstring(out, c.encoding != NULL ? c.encoding : "7bit");
	snprintf(num, sizeof(num), " %llu", (unsigned long long)p->body_vsize);
	buf_adds(out, num);
	if (text) {
		snprintf(num, sizeof(num), " %u", p->body_lines);
		buf_adds(out, num);
	} else if ((p->flags & MIME_PART_RFC822) && p->child != MIME_NONE) {
		buf_addc(out, ' ');
		part_envelope(out, d, &m->parts[p->child]);
		buf_adds(out, " (");
		write_part(out, m, d, p->child, ext);
		snprintf(num, sizeof(num), ") %u", p->body_lines);
		buf_adds(out, num);
	}
	if (ext) {
		buf_addc(out, ' ');
		imap_nstring_nolf(out, c.md5);
		write_extension(out, &c);
	}
	mime_content_clear(&c);
}

/* ---------------------------------------------------------------- */
/* The structure                                                      */
/* ---------------------------------------------------------------- */

static uint32_t
parser_new_part(struct parser *ps, uint32_t parent, uint64_t off,
    uint32_t flags)
{
	struct mime_msg		*m = ps->m;
	struct mime_part	*p;
	uint32_t		 idx = m->nparts, prev;

	if (m->nparts == ps->cap) {
		ps->cap = ps->cap == 0 ? 8 : ps->cap * 2;
		m->parts = xreallocarray(m->parts, ps->cap, sizeof(*m->parts));
		ps->end = xreallocarray(ps->end, ps->cap, sizeof(*ps->end));
		ps->depth = xreallocarray(ps->depth, ps->cap,
		    sizeof(*ps->depth));
		ps->last = xreallocarray(ps->last, ps->cap,
		    sizeof(*ps->last));
	}
	p = &m->parts[idx];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->child = p->next = MIME_NONE;
	p->flags = flags;
	p->hdr_off = p->body_off = off;
	/* parts, end, depth and last grow together: cap > nparts here. */
	ps->end[idx] = off;	/* NOLINT(clang-analyzer-core.NullDereference) */
	ps->depth[idx] = parent == MIME_NONE ? 0 : ps->depth[parent] + 1;
	m->nparts++;
	ps->last[idx] = MIME_NONE;
	if (parent != MIME_NONE) {
		if ((prev = ps->last[parent]) == MIME_NONE)
			m->parts[parent].child = idx;
		else
			m->parts[prev].next = idx;
		ps->last[parent] = idx;
	}
	return idx;
}

/* Whether a child may be added under part idx, noting the limit hit. */
static int
parser_child_ok(struct parser *ps, uint32_t idx)
{
	/* Dovecot's max_nested_mime_parts: the root and 99 levels below. */
	if (ps->depth[idx] + 1 >= MIME_MAX_DEPTH) {
		ps->m->flags |= MIME_MSG_LIMIT_DEPTH;
		return 0;
	}
	if (ps->m->nparts >= MIME_MAX_PARTS) {
		ps->m->flags |= MIME_MSG_LIMIT_PARTS;
		return 0;
	}
	return 1;
}

/*
 * RFC 2046 5.1.1: is the line at pos "--" boundary?  Only a prefix must
 * match (RFC 2046 allows trailing blanks and real mail has garbage); of
 * several the newest wins, or the longest.
 */
static struct bnd *
parser_boundary_at(struct parser *ps, size_t pos)
{
	const uint8_t	*data, *lf;
	size_t		 size, find;
	struct bnd	*b, *best = NULL;

	if (ps->bnds == NULL || pos + 2 > ps->len || ps->d[pos] != '-' ||
	    ps->d[pos + 1] != '-')
		return NULL;
	data = ps->d + pos + 2;
	size = ps->len - pos - 2;
	if ((lf = memchr(data, '\n', size)) != NULL) {
		find = lf - data;
		if (find > 0 && data[find - 1] == '\r')
			find--;
		if (find > 2 && data[find - 1] == '-' && data[find - 2] == '-')
			find -= 2;
	} else {
		find = size;
		if (find > MIME_MAX_BOUNDARY + 4)
			find = MIME_MAX_BOUNDARY + 4;
	}
	for (b = ps->bnds; b != NULL; b = b->next) {
		if (b->len <= find && memcmp(b->s, data, b->len) == 0 &&
		    (best == NULL || best->len < b->len)) {
			best = b;
			if (best->len == find)
				break;
		}
	}
	if (best != NULL)
		best->closing = size >= best->len + 2 &&
		    data[best->len] == '-' && data[best->len + 1] == '-';
	/*
	 * At the part limit boundaries are just lines: the last part runs
	 * to the end (Dovecot's max_total_mime_parts).
	 */
	if (best != NULL && ps->m->nparts >= MIME_MAX_PARTS) {
		ps->m->flags |= MIME_MSG_LIMIT_PARTS;
		return NULL;
	}
	return best;
}

/* Frees the boundaries from b up to (not including) stop. */
static void
parser_bnds_free(struct bnd *b, struct bnd *stop)
{
	struct bnd	*next;

	for (; b != NULL && b != stop; b = next) {
		next = b->next;
		free(b->s);
		free(b);
	}
}

/* Content-Type as the structure needs it: flags and boundary. */
static void
parser_content_type(const struct mime_header *h, uint32_t *flagsp,
    char **boundaryp)
{
	struct mime_content	 c;
	char			*v;
	size_t			 vlen, i;

	memset(&c, 0, sizeof(c));
	v = hdr_full_value(h, &vlen);
	content_parse_type(&c, (uint8_t *)v, vlen);
	free(v);
	if (c.type != NULL && c.subtype != NULL &&
	    strcasecmp(c.type, "message") == 0 &&
	    strcasecmp(c.subtype, "rfc822") == 0)
		*flagsp |= MIME_PART_RFC822;
	else if (c.type != NULL && strcasecmp(c.type, "text") == 0)
		*flagsp |= MIME_PART_TEXT;
	else if (c.type != NULL && c.subtype != NULL &&
	    strcasecmp(c.type, "multipart") == 0) {
		*flagsp |= MIME_PART_MULTIPART;
		if (strcasecmp(c.subtype, "digest") == 0)
			*flagsp |= MIME_PART_DIGEST;
		for (i = 0; i < c.nparams; i++) {
			if (strcasecmp(c.params[i].name, "boundary") == 0) {
				*boundaryp = xstrndup(c.params[i].value,
				    MIME_MAX_BOUNDARY);
				break;
			}
		}
	}
	mime_content_clear(&c);
}

/*
 * A header block at ps->pos for part ps->cur.  Decides the part's type and
 * where its body goes next.
 */
static enum pstate
parser_header(struct parser *ps)
{
	struct mime_msg		*m = ps->m;
	struct mime_part	*p = &m->parts[ps->cur];
	struct mime_header_iter	 it;
	struct mime_header	 h;
	struct bnd		*b = NULL, *nb;
	size_t			 pos = ps->pos, hdr_end, prev_nl = 0, blank;
	uint32_t		 flags = 0, parent = p->parent, child;
	uint32_t		 hdr_part = ps->cur;
	char			*boundary = NULL;
	int			 is_mime, seen_ct = 0, started = 0;
	int			 truncated = 0;

	is_mime = (p->flags & MIME_PART_IS_MIME) != 0;
	for (;;) {
		if (pos >= ps->len) {
			hdr_end = ps->len;
			break;
		}
		if (pos - p->hdr_off > MIME_MAX_HEADER) {
			/* The rest is body: no header is that large. */
			m->flags |= MIME_MSG_LIMIT_HEADER;
			hdr_end = pos;
			break;
		}
		blank = ps->d[pos] == '\n' ? 1 : ps->d[pos] == '\r' &&
		    pos + 1 < ps->len && ps->d[pos + 1] == '\n' ? 2 : 0;
		if (blank) {
			/*
			 * Open our own boundary before anything else, so
			 * that a "--x" line belongs to the innermost part
			 * when boundaries share a prefix.
			 */
			if (boundary != NULL && is_mime) {
				if (parser_child_ok(ps, ps->cur)) {
					nb = xcalloc(1, sizeof(*nb));
					nb->part = ps->cur;
					nb->s = (uint8_t *)boundary;
					nb->len = strlen(boundary);
					boundary = NULL;
					nb->next = ps->bnds;
					ps->bnds = nb;
					started = 1;
				} else {
					flags &= ~(MIME_PART_MULTIPART |
					    MIME_PART_DIGEST);
					p->flags |= MIME_PART_OVERFLOW;
				}
			}
			/*
			 * A boundary right after the blank line: the empty
			 * body has no line, the blank line's newline is the
			 * one before the boundary.
			 */
			if ((b = parser_boundary_at(ps, pos + blank)) != NULL &&
			    b->part != ps->cur) {
				hdr_end = pos;
				pos += blank;
				truncated = 1;
				break;
			}
			hdr_end = pos + blank;
			break;
		}
		if ((b = parser_boundary_at(ps, pos)) != NULL &&
		    b->part != ps->cur) {
			/* The newline before a boundary is the boundary's. */
			hdr_end = pos - prev_nl;
			truncated = 1;
			break;
		}
		b = NULL;
		mime_header_iter_init(&it, ps->d + pos, ps->len - pos);
		if (!mime_header_iter_next(&it, &h)) {
			hdr_end = ps->len;
			break;
		}
		if (hdr_name_is(&h, "MIME-Version"))
			is_mime = 1;
		else if (hdr_name_is(&h, "Content-Type")) {
			is_mime = 1;
			if (!seen_ct) {
				seen_ct = 1;
				parser_content_type(&h, &flags, &boundary);
			}
		}
		prev_nl = h.line[h.line_len - 1] != '\n' ? 0 :
		    h.line_len > 1 && h.line[h.line_len - 2] == '\r' ? 2 : 1;
		pos += h.line_len;
	}
	free(boundary);

	if (!is_mime)
		flags = 0;
	if (!seen_ct || !is_mime) {
		/* RFC 2046 5.1.5: parts of a digest default to messages. */
		if (parent != MIME_NONE &&
		    (m->parts[parent].flags & MIME_PART_DIGEST))
			flags |= MIME_PART_RFC822;
		else
			flags |= MIME_PART_TEXT;
	}
	p->flags |= flags | (is_mime ? MIME_PART_IS_MIME : 0);
	p->body_off = hdr_end;
	ps->end[ps->cur] = hdr_end;

	if (p->flags & MIME_PART_RFC822) {
		if (!parser_child_ok(ps, ps->cur)) {
			p->flags &= ~MIME_PART_RFC822;
			p->flags |= MIME_PART_OVERFLOW;
		} else {
			child = parser_new_part(ps, ps->cur, hdr_end, 0);
			if (!truncated) {
				ps->cur = child;
				ps->pos = hdr_end;
				return PS_HEADER;
			}
			/* The embedded message is empty: a boundary. */
			m->parts[child].flags |= MIME_PART_TEXT;
			ps->cur = child;
		}
	}
	/*
	 * Dovecot gives the newline cut from the header to the part's
	 * parent: the parts above it end after it.
	 */
	if (truncated)
		return parser_finish(ps, b, hdr_end, pos, hdr_part);
	ps->pos = hdr_end;
	if (started || ps->bnds != NULL)
		return PS_TO_BOUNDARY;
	return PS_TO_EOF;
}

/* A body from ps->pos up to the next boundary line of an open multipart. */
static enum pstate
parser_to_boundary(struct parser *ps)
{
	size_t		 start = ps->pos, l = ps->pos, end;
	const uint8_t	*lf;
	struct bnd	*b;

	for (;;) {
		if (l >= ps->len) {
			parser_close_all(ps, ps->len);
			return PS_DONE;
		}
		if ((b = parser_boundary_at(ps, l)) != NULL) {
			end = l;
			if (l > start) {
				end = l - 1;
				if (end > start && ps->d[end - 1] == '\r')
					end--;
			}
			return parser_finish(ps, b, end, l, MIME_NONE);
		}
		lf = memchr(ps->d + l, '\n', ps->len - l);
		l = lf == NULL ? ps->len : (size_t)(lf - ps->d) + 1;
	}
}

/*
 * The boundary line at l of boundary b ends every part inside b's
 * multipart at end (those above pivot at l).  Then a new part or the
 * epilogue follows.
 */
static enum pstate
parser_finish(struct parser *ps, struct bnd *b, size_t end, size_t l,
    uint32_t pivot)
{
	const uint8_t	*lf;
	uint32_t	 mp = b->part;
	int		 above = 0;

	while (ps->cur != mp) {
		ps->end[ps->cur] = above ? l : end;
		if (ps->cur == pivot)
			above = 1;
		ps->cur = ps->m->parts[ps->cur].parent;
	}
	parser_bnds_free(ps->bnds, b);
	if (b->closing) {
		ps->bnds = b->next;
		parser_bnds_free(b, b->next);
	} else
		ps->bnds = b;

	lf = memchr(ps->d + l, '\n', ps->len - l);
	ps->pos = lf == NULL ? ps->len : (size_t)(lf - ps->d) + 1;
	if (ps->bnds == NULL || ps->bnds->part != mp)
		return ps->bnds != NULL ? PS_TO_BOUNDARY : PS_TO_EOF;
	if (!parser_child_ok(ps, mp)) {
		/* Too many parts: the rest of the multipart is opaque. */
		return PS_TO_BOUNDARY;
	}
	ps->cur = parser_new_part(ps, mp, ps->pos, MIME_PART_IS_MIME);
	return PS_HEADER;
}

static void
parser_close_all(struct parser *ps, size_t end)
{
	uint32_t	 i;

	for (i = ps->cur; i != MIME_NONE; i = ps->m->parts[i].parent)
		ps->end[i] = end;
	ps->cur = 0;
}

/* Lines and bare LFs (each one more byte in the CRLF form) in [a, b). */
static void
count_range(const uint8_t *d, uint64_t a, uint64_t b, uint64_t *lines,
    uint64_t *bare)
{
	const uint8_t	*p = d + a, *e = d + b, *lf;

	while (p < e && (lf = memchr(p, '\n', e - p)) != NULL) {
		(*lines)++;
		if (lf == d || lf[-1] != '\r')
			(*bare)++;
		p = lf + 1;
	}
}

/*
 * Sizes of every part: its own bytes counted once, then added to its
 * ancestors, so that deep nesting costs no more than the message.
 */
static void
msg_sizes(struct mime_msg *m, const uint8_t *d, const uint64_t *end)
{
	uint64_t	*lines, *bare, hl, hb, pos;
	uint32_t	 i, ch;
	struct mime_part *p;

	lines = xcalloc(m->nparts, sizeof(*lines));
	bare = xcalloc(m->nparts, sizeof(*bare));
	for (i = m->nparts; i-- > 0; ) {
		p = &m->parts[i];
		p->hdr_len = p->body_off - p->hdr_off;
		p->body_len = end[i] - p->body_off;
		hl = hb = 0;
		count_range(d, p->hdr_off, p->body_off, &hl, &hb);
		p->hdr_lines = (uint32_t)hl;
		p->hdr_vsize = p->hdr_len + hb;
		pos = p->body_off;
		for (ch = p->child; ch != MIME_NONE; ch = m->parts[ch].next) {
			count_range(d, pos, m->parts[ch].hdr_off, &lines[i],
			    &bare[i]);
			lines[i] += m->parts[ch].hdr_lines + lines[ch];
			bare[i] += (m->parts[ch].hdr_vsize -
			    m->parts[ch].hdr_len) + bare[ch];
			pos = end[ch];
		}
		count_range(d, pos, end[i], &lines[i], &bare[i]);
		p->body_lines = (uint32_t)lines[i];
		p->body_vsize = p->body_len + bare[i];
		if (memchr(d + p->hdr_off, '\0', p->hdr_len) != NULL)
			p->flags |= MIME_PART_HAS_NULS;
	}
	free(lines);
	free(bare);
}

static void
msg_strings(struct mime_msg *m, const uint8_t *d)
{
	struct pack	 pk;

	pack_init(&pk);
	part_envelope(&pk, d, &m->parts[0]);
	m->envelope_len = pk.len;
	buf_addc(&pk, '\0');
	m->envelope = (char *)pk.buf;

	pack_init(&pk);
	buf_addc(&pk, '(');
	write_part(&pk, m, d, 0, 1);
	buf_addc(&pk, ')');
	m->bodystructure_len = pk.len;
	buf_addc(&pk, '\0');
	m->bodystructure = (char *)pk.buf;

	pack_init(&pk);
	buf_addc(&pk, '(');
	write_part(&pk, m, d, 0, 0);
	buf_addc(&pk, ')');
	m->body_len = pk.len;
	buf_addc(&pk, '\0');
	m->body = (char *)pk.buf;
}

struct mime_msg *
mime_parse(const void *data, size_t len)
{
	struct parser	 ps;
	enum pstate	 st;
	uint32_t	 i;

	memset(&ps, 0, sizeof(ps));
	ps.d = len == 0 ? (const uint8_t *)"" : data;
	ps.len = len;
	ps.m = xcalloc(1, sizeof(*ps.m));
	ps.m->size = len;
	ps.cur = parser_new_part(&ps, MIME_NONE, 0, 0);

	st = PS_HEADER;
	while (st != PS_DONE) {
		switch (st) {
		case PS_HEADER:
			st = parser_header(&ps);
			break;
		case PS_TO_BOUNDARY:
			st = parser_to_boundary(&ps);
			break;
		case PS_TO_EOF:
			parser_close_all(&ps, ps.len);
			st = PS_DONE;
			break;
		case PS_DONE:
			break;
		}
	}
	parser_bnds_free(ps.bnds, NULL);
	msg_sizes(ps.m, ps.d, ps.end);
	for (i = 0; i < ps.m->nparts; i++) {
		struct mime_part *p = &ps.m->parts[i];

		if (memchr(ps.d + p->body_off, '\0', p->body_len) != NULL &&
		    p->child == MIME_NONE)
			p->flags |= MIME_PART_HAS_NULS;
	}
	msg_strings(ps.m, ps.d);
	free(ps.end);
	free(ps.depth);
	free(ps.last);
	return ps.m;
}

int
mime_header_end(const void *data, size_t len, uint64_t *endp)
{
	const uint8_t	*d = data, *nl;
	size_t		 pos = 0, max = len < MIME_MAX_HEADER ? len :
			    MIME_MAX_HEADER;

	/*
	 * parser_header() looks for the blank line at the start of each
	 * field, and continuation lines begin with a blank or a tab, never
	 * a newline: so the first empty line of the message ends the root's
	 * header, if parser_header() has not given up on its size first.
	 */
	while (pos < max) {
		if (d[pos] == '\n') {
			*endp = pos + 1;
			return 0;
		}
		if (d[pos] == '\r' && pos + 1 < len && d[pos + 1] == '\n') {
			*endp = pos + 2;
			return 0;
		}
		if ((nl = memchr(d + pos, '\n', len - pos)) == NULL)
			return -1;	/* a last line without newline */
		pos = (size_t)(nl - d) + 1;
	}
	/* Every line a field: the header is the whole message. */
	if (pos >= len && len <= MIME_MAX_HEADER) {
		*endp = len;
		return 0;
	}
	return -1;
}

struct mime_msg *
mime_parse_root(const void *data, size_t len)
{
	struct mime_msg		*m;
	struct mime_part	*p;
	uint64_t		 end;

	if (mime_header_end(data, len, &end) == -1)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->parts = xcalloc(1, sizeof(*m->parts));
	m->nparts = 1;
	m->size = len;
	p = &m->parts[0];
	p->parent = p->child = p->next = MIME_NONE;
	p->hdr_off = 0;
	p->hdr_len = end;
	p->body_off = end;
	p->body_len = len - end;
	return m;
}

void
mime_msg_free(struct mime_msg **mp)
{
	struct mime_msg	*m = *mp;

	if (m == NULL)
		return;
	free(m->parts);
	free(m->envelope);
	free(m->bodystructure);
	free(m->body);
	free(m);
	*mp = NULL;
}

/* ---------------------------------------------------------------- */
/* Sections                                                           */
/* ---------------------------------------------------------------- */

const struct mime_part *
mime_part_find(const struct mime_msg *m, const char *path, size_t len)
{
	size_t		 i = 0;
	uint32_t	 idx = 0, c, n;

	while (i < len) {
		/* RFC 3501 9: nz-number */
		if (path[i] < '1' || path[i] > '9')
			return NULL;
		n = 0;
		while (i < len && path[i] >= '0' && path[i] <= '9') {
			if (n > MIME_MAX_PARTS)
				return NULL;
			n = n * 10 + (path[i++] - '0');
		}
		if (i < len) {
			if (path[i] != '.' || i + 1 == len)
				return NULL;
			i++;
		}
		if (m->parts[idx].flags & MIME_PART_MULTIPART) {
			c = m->parts[idx].child;
			for (; n > 1 && c != MIME_NONE; n--)
				c = m->parts[c].next;
			if (c == MIME_NONE)
				return NULL;
		} else if (n != 1)
			return NULL;
		else
			c = idx;
		/* More numbers continue inside an embedded message. */
		if (i < len && (m->parts[c].flags & MIME_PART_RFC822)) {
			if (m->parts[c].child == MIME_NONE)
				return NULL;
			c = m->parts[c].child;
		}
		idx = c;
	}
	return &m->parts[idx];
}

int
mime_section_range(const struct mime_msg *m, const char *path, size_t len,
    enum mime_section sec, uint64_t *offp, uint64_t *lenp)
{
	const struct mime_part	*p;

	if (len == 0) {
		p = &m->parts[0];
		if (sec == MIME_SECTION_BODY) {
			*offp = 0;
			*lenp = m->size;
			return 0;
		}
		if (sec == MIME_SECTION_MIME)
			return -1;
	} else {
		if ((p = mime_part_find(m, path, len)) == NULL)
			return -1;
		if (sec == MIME_SECTION_HEADER || sec == MIME_SECTION_TEXT) {
			if (!(p->flags & MIME_PART_RFC822) ||
			    p->child == MIME_NONE) {
				*offp = *lenp = 0;
				return 1;
			}
			p = &m->parts[p->child];
		}
	}
	switch (sec) {
	case MIME_SECTION_HEADER:
	case MIME_SECTION_MIME:
		*offp = p->hdr_off;
		*lenp = p->hdr_len;
		break;
	case MIME_SECTION_BODY:
	case MIME_SECTION_TEXT:
		*offp = p->body_off;
		*lenp = p->body_len;
		break;
	}
	return 0;
}

void
mime_nuls_replace(void *data, size_t len)
{
	uint8_t	*p = data, *end = p + len;

	while (p < end && (p = memchr(p, '\0', end - p)) != NULL)
		*p++ = 0x80;
}

/* ---------------------------------------------------------------- */
/* The cache                                                          */
/* ---------------------------------------------------------------- */

#define CACHE_PART_BYTES	(4 * 4 + 5 * 8 + 2 * 4)
#define CACHE_PART_FLAGS	(MIME_PART_MULTIPART | MIME_PART_RFC822 | \
	MIME_PART_TEXT | MIME_PART_DIGEST | MIME_PART_IS_MIME | \
	MIME_PART_HAS_NULS | MIME_PART_OVERFLOW)

void
mime_cache_encode(const struct mime_msg *m, struct pack *out)
{
	const struct mime_part	*p;
	uint32_t		 i;

	pack_u8(out, MIME_CACHE_VERSION);
	pack_u32(out, m->flags);
	pack_u64(out, m->size);
	pack_u32(out, m->nparts);
	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		pack_u32(out, p->parent);
		pack_u32(out, p->child);
		pack_u32(out, p->next);
		pack_u32(out, p->flags);
		pack_u64(out, p->hdr_off);
		pack_u64(out, p->hdr_len);
		pack_u64(out, p->body_len);
		pack_u64(out, p->hdr_vsize);
		pack_u64(out, p->body_vsize);
		pack_u32(out, p->hdr_lines);
		pack_u32(out, p->body_lines);
	}
	pack_blob(out, m->envelope, m->envelope_len);
	pack_blob(out, m->bodystructure, m->bodystructure_len);
	pack_blob(out, m->body, m->body_len);
}

/* A FETCH string from the cache: no NUL, and at least "()". */
static char *
cache_string(struct unpack *up, size_t *lenp)
{
	const void	*p;
	size_t		 n;

	p = unpack_blob(up, &n);
	if (up->error || n < 2 || memchr(p, '\0', n) != NULL) {
		up->error = 1;
		*lenp = 0;
		return NULL;
	}
	*lenp = n;
	return xstrndup(p, n);
}

/* Sizes of a range: vsize adds at most one byte per byte (bare LFs). */
static int
cache_size_ok(uint64_t len, uint64_t vsize, uint32_t lines)
{
	return vsize >= len && vsize - len <= len && lines <= len;
}

struct mime_msg *
mime_cache_decode(const void *data, size_t len, uint64_t msgsize)
{
	struct unpack		 up;
	struct mime_msg		*m;
	struct mime_part	*p, *q;
	uint32_t		 i, n;
	uint64_t		 end, qend;

	unpack_init(&up, data, len);
	if (unpack_u8(&up) != MIME_CACHE_VERSION)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->flags = unpack_u32(&up);
	m->size = unpack_u64(&up);
	n = unpack_u32(&up);
	/* Check the count before allocating anything for it. */
	if (up.error || m->size != msgsize || n == 0 || n > MIME_MAX_PARTS ||
	    up.left / CACHE_PART_BYTES < n)
		goto bad;
	m->parts = xcalloc(n, sizeof(*m->parts));
	m->nparts = n;
	for (i = 0; i < n; i++) {
		p = &m->parts[i];
		p->parent = unpack_u32(&up);
		p->child = unpack_u32(&up);
		p->next = unpack_u32(&up);
		p->flags = unpack_u32(&up);
		p->hdr_off = unpack_u64(&up);
		p->hdr_len = unpack_u64(&up);
		p->body_len = unpack_u64(&up);
		p->hdr_vsize = unpack_u64(&up);
		p->body_vsize = unpack_u64(&up);
		p->hdr_lines = unpack_u32(&up);
		p->body_lines = unpack_u32(&up);
	}
	if (up.error)
		goto bad;

	/*
	 * The tree: parents come first, children and siblings later (no
	 * cycles), every link agrees with the parent, and every part lies
	 * inside its parent's body, siblings in order.
	 */
	for (i = 0; i < n; i++) {
		p = &m->parts[i];
		if ((p->flags & ~CACHE_PART_FLAGS) != 0)
			goto bad;
		if (p->hdr_off > msgsize || p->hdr_len > msgsize - p->hdr_off)
			goto bad;
		p->body_off = p->hdr_off + p->hdr_len;
		if (p->body_len > msgsize - p->body_off)
			goto bad;
		end = p->body_off + p->body_len;
		if (!cache_size_ok(p->hdr_len, p->hdr_vsize, p->hdr_lines) ||
		    !cache_size_ok(p->body_len, p->body_vsize, p->body_lines))
			goto bad;
		if (i == 0) {
			if (p->parent != MIME_NONE || p->next != MIME_NONE ||
			    p->hdr_off != 0 || end != msgsize)
				goto bad;
		} else {
			if (p->parent >= i)
				goto bad;
			q = &m->parts[p->parent];
			qend = q->body_off + q->body_len;
			if (!(q->flags & (MIME_PART_MULTIPART |
			    MIME_PART_RFC822)) || p->hdr_off < q->body_off ||
			    end > qend)
				goto bad;
		}
		if (p->child != MIME_NONE) {
			if (p->child <= i || p->child >= n ||
			    m->parts[p->child].parent != i)
				goto bad;
		}
		if (p->next != MIME_NONE) {
			if (p->next <= i || p->next >= n ||
			    m->parts[p->next].parent != p->parent)
				goto bad;
			/* Checked when p->next comes: it starts after p. */
		}
	}
	for (i = 1; i < n; i++) {
		p = &m->parts[i];
		if (p->next != MIME_NONE &&
		    m->parts[p->next].hdr_off < p->body_off + p->body_len)
			goto bad;
		if ((m->parts[p->parent].flags & MIME_PART_RFC822) &&
		    (m->parts[p->parent].child != i || p->next != MIME_NONE))
			goto bad;
	}

	if ((m->envelope = cache_string(&up, &m->envelope_len)) == NULL ||
	    (m->bodystructure = cache_string(&up,
	    &m->bodystructure_len)) == NULL ||
	    (m->body = cache_string(&up, &m->body_len)) == NULL ||
	    !unpack_done(&up))
		goto bad;
	return m;
bad:
	mime_msg_free(&m);
	return NULL;
}
