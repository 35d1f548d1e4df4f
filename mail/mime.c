/*
 * mime.c: the MIME structure of a message (RFC 2045, RFC 2046) and the
 * sections of RFC 3501 6.4.5 BODY[section].
 *
 * The parser walks the whole message in memory once.  Boundaries follow
 * RFC 2046 5.1.1 as real mail needs it: the newest open boundary that is a
 * prefix of a "--" line wins (the longest one if several are), the CRLF
 * before a boundary line belongs to the boundary, a boundary line of an
 * outer multipart also ends every inner part, and a header block that
 * runs into a boundary ends there.  The limits and the split follow
 * Dovecot's message-parser.c, which tests/mime-dovecot.test compares with.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "xmalloc.h"


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

static int	 parser_child_ok(struct parser *, uint32_t);
static void	 parser_content_type(const struct mime_header *, uint32_t *,
		    char **);
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
static void	 msg_fields(struct mime_msg *, const uint8_t *);


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
	v = mime_header_value_full(h, &vlen);
	mime_content_parse_type(&c, (uint8_t *)v, vlen);
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
		if (mime_header_name_is(&h, "MIME-Version"))
			is_mime = 1;
		else if (mime_header_name_is(&h, "Content-Type")) {
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

/*
 * What FETCH shows of each part, parsed once: the Content-* fields of a
 * MIME part (without MIME-Version or Content-Type they are not MIME) and
 * the envelope of the message and of every embedded one.
 */
static void
msg_fields(struct mime_msg *m, const uint8_t *d)
{
	struct mime_part	*p;
	uint32_t		 i;

	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		if (p->flags & MIME_PART_IS_MIME) {
			p->content = xcalloc(1, sizeof(*p->content));
			mime_content_parse(d + p->hdr_off, p->hdr_len,
			    p->content);
		}
		if (i == 0 || (m->parts[p->parent].flags & MIME_PART_RFC822)) {
			p->envelope = xcalloc(1, sizeof(*p->envelope));
			message_envelope_parse(p->envelope, d + p->hdr_off,
			    p->hdr_len);
		}
	}
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
	msg_fields(ps.m, ps.d);
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
	uint32_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nparts; i++) {
		if (m->parts[i].content != NULL) {
			mime_content_clear(m->parts[i].content);
			free(m->parts[i].content);
		}
		if (m->parts[i].envelope != NULL) {
			message_envelope_clear(m->parts[i].envelope);
			free(m->parts[i].envelope);
		}
	}
	free(m->parts);
	free(m->v1_envelope);
	free(m->v1_bodystructure);
	free(m->v1_body);
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
	int		 stayed = 0;	/* a "1" already named idx itself */

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
			stayed = 0;
		} else if (n != 1 || stayed)
			/*
			 * RFC 3501 6.4.5: a part that is not multipart has a
			 * part 1, itself, once: BODY[1.1] of a message that
			 * is not multipart is empty, as Dovecot answers.
			 */
			return NULL;
		else {
			c = idx;
			stayed = 1;
		}
		/* More numbers continue inside an embedded message. */
		if (i < len && (m->parts[c].flags & MIME_PART_RFC822)) {
			if (m->parts[c].child == MIME_NONE)
				return NULL;
			c = m->parts[c].child;
			stayed = 0;
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

