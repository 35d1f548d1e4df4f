/*
 * mime-cache.c: the MIME cache codec (mime-cache.h).
 *
 * Version 3:
 *	u8 3, u32 msg flags, u64 size, u32 nparts,
 *	nparts x (u32 parent child next flags, u64 hdr_off hdr_len body_len
 *	    hdr_vsize body_vsize, u32 hdr_lines body_lines),
 *	nparts x (u8 has: 1 content, 2 envelope; the content; the envelope)
 * where a string is u8 0 (NULL) or u8 1 and a blob without NUL, a list
 * u32 n and its entries; an envelope ends with its References string.
 * Version 2 is the same without that string.  Version 1 has the same
 * numbers, then the ENVELOPE, BODYSTRUCTURE and BODY strings as blobs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mime-cache.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

#define CACHE_PART_BYTES	(4 * 4 + 5 * 8 + 2 * 4)
#define CACHE_PART_FLAGS	(MIME_PART_MULTIPART | MIME_PART_RFC822 | \
	MIME_PART_TEXT | MIME_PART_DIGEST | MIME_PART_IS_MIME | \
	MIME_PART_HAS_NULS | MIME_PART_OVERFLOW)
#define CACHE_HAS_CONTENT	0x01
#define CACHE_HAS_ENVELOPE	0x02
/* Bytes of the smallest address: four NULL strings and the flag. */
#define CACHE_ADDR_BYTES	5

static void	 cache_put_str(struct pack *, const char *);
static void	 cache_put_params(struct pack *, const struct mime_param *,
		    size_t);
static void	 cache_put_content(struct pack *, const struct mime_content *);
static void	 cache_put_addrs(struct pack *, const struct message_addrlist *);
static void	 cache_put_envelope(struct pack *,
		    const struct message_envelope *);
static int	 cache_get_str(struct unpack *, char **, int);
static int	 cache_get_params(struct unpack *, struct mime_param **,
		    size_t *);
static int	 cache_get_content(struct unpack *, struct mime_content *);
static int	 cache_get_addrs(struct unpack *, struct message_addrlist *);
static int	 cache_get_envelope(struct unpack *, struct message_envelope *,
		    int);
static int	 cache_get_fields(struct unpack *, struct mime_msg *, int);
static char	*cache_v1_string(struct unpack *, size_t *);
static int	 cache_size_ok(uint64_t, uint64_t, uint32_t);
static int	 cache_tree_ok(struct mime_msg *, uint64_t);

/* ---------------------------------------------------------------- */
/* Encoding                                                           */
/* ---------------------------------------------------------------- */

static void
cache_put_str(struct pack *out, const char *s)
{
	if (s == NULL) {
		pack_u8(out, 0);
		return;
	}
	pack_u8(out, 1);
	pack_blob(out, s, strlen(s));
}

static void
cache_put_params(struct pack *out, const struct mime_param *v, size_t n)
{
	size_t	 i;

	pack_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++) {
		cache_put_str(out, v[i].name);
		cache_put_str(out, v[i].value);
	}
}

static void
cache_put_content(struct pack *out, const struct mime_content *c)
{
	size_t	 i;

	cache_put_str(out, c->type);
	cache_put_str(out, c->subtype);
	cache_put_params(out, c->params, c->nparams);
	cache_put_str(out, c->encoding);
	cache_put_str(out, c->id);
	cache_put_str(out, c->description);
	cache_put_str(out, c->md5);
	cache_put_str(out, c->disposition);
	cache_put_params(out, c->dparams, c->ndparams);
	pack_u32(out, (uint32_t)c->nlanguage);
	for (i = 0; i < c->nlanguage; i++)
		cache_put_str(out, c->language[i]);
	cache_put_str(out, c->location);
}

static void
cache_put_addrs(struct pack *out, const struct message_addrlist *l)
{
	size_t	 i;

	pack_u32(out, (uint32_t)l->n);
	for (i = 0; i < l->n; i++) {
		cache_put_str(out, l->v[i].name);
		cache_put_str(out, l->v[i].route);
		cache_put_str(out, l->v[i].mailbox);
		cache_put_str(out, l->v[i].domain);
		pack_u8(out, l->v[i].invalid ? 1 : 0);
	}
}

static void
cache_put_envelope(struct pack *out, const struct message_envelope *env)
{
	cache_put_str(out, env->date);
	cache_put_str(out, env->subject);
	cache_put_str(out, env->in_reply_to);
	cache_put_str(out, env->message_id);
	cache_put_addrs(out, &env->from);
	cache_put_addrs(out, &env->sender);
	cache_put_addrs(out, &env->reply_to);
	cache_put_addrs(out, &env->to);
	cache_put_addrs(out, &env->cc);
	cache_put_addrs(out, &env->bcc);
	cache_put_str(out, env->references);
}

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
	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		pack_u8(out, (p->content != NULL ? CACHE_HAS_CONTENT : 0) |
		    (p->envelope != NULL ? CACHE_HAS_ENVELOPE : 0));
		if (p->content != NULL)
			cache_put_content(out, p->content);
		if (p->envelope != NULL)
			cache_put_envelope(out, p->envelope);
	}
}

/* ---------------------------------------------------------------- */
/* Decoding                                                           */
/* ---------------------------------------------------------------- */

/* A string as mime_parse() makes them: no NUL; NULL only if nullable. */
static int
cache_get_str(struct unpack *up, char **sp, int nullable)
{
	const void	*p;
	size_t		 n;
	uint8_t		 has;

	*sp = NULL;
	has = unpack_u8(up);
	if (up->error || has > 1 || (has == 0 && !nullable))
		return -1;
	if (has == 0)
		return 0;
	p = unpack_blob(up, &n);
	if (up->error || memchr(p, '\0', n) != NULL)
		return -1;
	*sp = xstrndup(p, n);
	return 0;
}

static int
cache_get_params(struct unpack *up, struct mime_param **vp, size_t *np)
{
	struct mime_param	*v;
	uint32_t		 n, i;

	n = unpack_u32(up);
	if (up->error || n > MIME_MAX_PARAMS || n > up->left / 4)
		return -1;
	if (n == 0)
		return 0;
	v = xcalloc(n, sizeof(*v));
	*vp = v;
	for (i = 0; i < n; i++) {
		*np = i + 1;
		if (cache_get_str(up, &v[i].name, 0) == -1 ||
		    cache_get_str(up, &v[i].value, 0) == -1)
			return -1;
	}
	return 0;
}

/* On error c holds what was read: mime_content_clear() frees it. */
static int
cache_get_content(struct unpack *up, struct mime_content *c)
{
	uint32_t	 n, i;

	if (cache_get_str(up, &c->type, 1) == -1 ||
	    cache_get_str(up, &c->subtype, 1) == -1 ||
	    cache_get_params(up, &c->params, &c->nparams) == -1 ||
	    cache_get_str(up, &c->encoding, 1) == -1 ||
	    cache_get_str(up, &c->id, 1) == -1 ||
	    cache_get_str(up, &c->description, 1) == -1 ||
	    cache_get_str(up, &c->md5, 1) == -1 ||
	    cache_get_str(up, &c->disposition, 1) == -1 ||
	    cache_get_params(up, &c->dparams, &c->ndparams) == -1)
		return -1;
	n = unpack_u32(up);
	if (up->error || n > MIME_MAX_PARAMS || n > up->left / 2)
		return -1;
	if (n > 0) {
		c->language = xcalloc(n, sizeof(*c->language));
		for (i = 0; i < n; i++) {
			c->nlanguage = i + 1;
			if (cache_get_str(up, &c->language[i], 0) == -1)
				return -1;
		}
	}
	return cache_get_str(up, &c->location, 1);
}

static int
cache_get_addrs(struct unpack *up, struct message_addrlist *l)
{
	struct message_address	*a;
	uint32_t		 n, i;
	uint8_t			 invalid;

	n = unpack_u32(up);
	/* Groups add a start and an end entry past the address limit. */
	if (up->error || n > MIME_MAX_ADDRESSES + 2 ||
	    n > up->left / CACHE_ADDR_BYTES)
		return -1;
	if (n == 0)
		return 0;
	l->v = xcalloc(n, sizeof(*l->v));
	l->cap = n;
	for (i = 0; i < n; i++) {
		a = &l->v[i];
		l->n = i + 1;
		if (cache_get_str(up, &a->name, 1) == -1 ||
		    cache_get_str(up, &a->route, 1) == -1 ||
		    cache_get_str(up, &a->mailbox, 1) == -1 ||
		    cache_get_str(up, &a->domain, 1) == -1)
			return -1;
		invalid = unpack_u8(up);
		if (up->error || invalid > 1)
			return -1;
		a->invalid = invalid;
	}
	return 0;
}

static int
cache_get_envelope(struct unpack *up, struct message_envelope *env,
    int refs)
{
	if (cache_get_str(up, &env->date, 1) == -1 ||
	    cache_get_str(up, &env->subject, 1) == -1 ||
	    cache_get_str(up, &env->in_reply_to, 1) == -1 ||
	    cache_get_str(up, &env->message_id, 1) == -1 ||
	    cache_get_addrs(up, &env->from) == -1 ||
	    cache_get_addrs(up, &env->sender) == -1 ||
	    cache_get_addrs(up, &env->reply_to) == -1 ||
	    cache_get_addrs(up, &env->to) == -1 ||
	    cache_get_addrs(up, &env->cc) == -1 ||
	    cache_get_addrs(up, &env->bcc) == -1)
		return -1;
	return refs ? cache_get_str(up, &env->references, 1) : 0;
}

/*
 * The fields of version 2, each where mime_parse() puts them: content
 * exactly on MIME parts, an envelope exactly on the root and on the
 * messages embedded in message/rfc822 parts.
 */
static int
cache_get_fields(struct unpack *up, struct mime_msg *m, int refs)
{
	struct mime_part	*p;
	uint32_t		 i;
	uint8_t			 has, want;

	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		has = unpack_u8(up);
		want = (p->flags & MIME_PART_IS_MIME) ? CACHE_HAS_CONTENT : 0;
		if (i == 0 || (m->parts[p->parent].flags & MIME_PART_RFC822))
			want |= CACHE_HAS_ENVELOPE;
		if (up->error || has != want)
			return -1;
		if (has & CACHE_HAS_CONTENT) {
			p->content = xcalloc(1, sizeof(*p->content));
			if (cache_get_content(up, p->content) == -1)
				return -1;
		}
		if (has & CACHE_HAS_ENVELOPE) {
			p->envelope = xcalloc(1, sizeof(*p->envelope));
			if (cache_get_envelope(up, p->envelope, refs) == -1)
				return -1;
		}
	}
	return 0;
}

/* A FETCH string of a version 1 cache: no NUL, and at least "()". */
static char *
cache_v1_string(struct unpack *up, size_t *lenp)
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

static int
cache_tree_ok(struct mime_msg *m, uint64_t msgsize)
{
	struct mime_part	*p, *q;
	uint32_t		 i, n = m->nparts;
	uint64_t		 end, qend;

	/*
	 * The tree: parents come first, children and siblings later (no
	 * cycles), every link agrees with the parent, and every part lies
	 * inside its parent's body, siblings in order.
	 */
	for (i = 0; i < n; i++) {
		p = &m->parts[i];
		if ((p->flags & ~CACHE_PART_FLAGS) != 0)
			return 0;
		if (p->hdr_off > msgsize || p->hdr_len > msgsize - p->hdr_off)
			return 0;
		p->body_off = p->hdr_off + p->hdr_len;
		if (p->body_len > msgsize - p->body_off)
			return 0;
		end = p->body_off + p->body_len;
		if (!cache_size_ok(p->hdr_len, p->hdr_vsize, p->hdr_lines) ||
		    !cache_size_ok(p->body_len, p->body_vsize, p->body_lines))
			return 0;
		if (i == 0) {
			if (p->parent != MIME_NONE || p->next != MIME_NONE ||
			    p->hdr_off != 0 || end != msgsize)
				return 0;
		} else {
			if (p->parent >= i)
				return 0;
			q = &m->parts[p->parent];
			qend = q->body_off + q->body_len;
			if (!(q->flags & (MIME_PART_MULTIPART |
			    MIME_PART_RFC822)) || p->hdr_off < q->body_off ||
			    end > qend)
				return 0;
		}
		if (p->child != MIME_NONE) {
			if (p->child <= i || p->child >= n ||
			    m->parts[p->child].parent != i)
				return 0;
		}
		if (p->next != MIME_NONE) {
			if (p->next <= i || p->next >= n ||
			    m->parts[p->next].parent != p->parent)
				return 0;
			/* Checked when p->next comes: it starts after p. */
		}
	}
	for (i = 1; i < n; i++) {
		p = &m->parts[i];
		if (p->next != MIME_NONE &&
		    m->parts[p->next].hdr_off < p->body_off + p->body_len)
			return 0;
		if ((m->parts[p->parent].flags & MIME_PART_RFC822) &&
		    (m->parts[p->parent].child != i || p->next != MIME_NONE))
			return 0;
	}
	return 1;
}

struct mime_msg *
mime_cache_decode(const void *data, size_t len, uint64_t msgsize)
{
	struct unpack		 up;
	struct mime_msg		*m;
	struct mime_part	*p;
	uint32_t		 i, n;
	uint8_t			 version;

	unpack_init(&up, data, len);
	version = unpack_u8(&up);
	if (version != MIME_CACHE_VERSION &&
	    version != MIME_CACHE_VERSION_NOREFS &&
	    version != MIME_CACHE_VERSION_STRINGS)
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
	if (up.error || !cache_tree_ok(m, msgsize))
		goto bad;
	if (version != MIME_CACHE_VERSION_STRINGS) {
		m->references_unknown = version == MIME_CACHE_VERSION_NOREFS;
		if (cache_get_fields(&up, m, !m->references_unknown) == -1 ||
		    !unpack_done(&up))
			goto bad;
		return m;
	}
	if ((m->v1_envelope = cache_v1_string(&up,
	    &m->v1_envelope_len)) == NULL ||
	    (m->v1_bodystructure = cache_v1_string(&up,
	    &m->v1_bodystructure_len)) == NULL ||
	    (m->v1_body = cache_v1_string(&up, &m->v1_body_len)) == NULL ||
	    !unpack_done(&up))
		goto bad;
	return m;
bad:
	mime_msg_free(&m);
	return NULL;
}
