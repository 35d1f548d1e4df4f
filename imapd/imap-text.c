/*
 * imap-text.c: the text SEARCH compares: header values with their encoded
 * words (RFC 2047) decoded, bodies with their transfer encoding (RFC 2045
 * 6.7, 6.8) and charset undone (mail/mime-decode.c), all in UTF-8 and
 * case-folded.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "imap-text.h"
#include "message-address.h"
#include "mime-decode.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

/*
 * Text searched per message: a part that starts beyond this much decoded
 * text is not read.
 */
#define TEXT_SEARCH_MAX		(16 * 1024 * 1024)

/*
 * Case folding: ASCII, Latin-1 and Latin Extended-A, which covers the
 * languages of the bootstrap pages and most Western mail.  Other scripts
 * match exactly.
 */
static uint32_t
text_fold_cp(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7))
		return c + 32;
	if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x138 &&
	    c != 0x149 && c != 0x17f) {
		/* Latin Extended-A pairs: even upper, odd lower (mostly). */
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c % 2 == 1) ? c + 1 : c;
		return (c % 2 == 0) ? c + 1 : c;
	}
	return c;
}

static void
text_put_cp(struct pack *out, uint32_t c)
{
	uint8_t	 b[4];

	if (c < 0x80) {
		b[0] = (uint8_t)c;
		pack_raw(out, b, 1);
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | (c >> 6));
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		pack_raw(out, b, 2);
	} else if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (c >> 12));
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		pack_raw(out, b, 3);
	} else {
		b[0] = (uint8_t)(0xf0 | (c >> 18));
		b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (c & 0x3f));
		pack_raw(out, b, 4);
	}
}

/*
 * Folds UTF-8 (invalid bytes pass through as they are) into out; returns
 * the bytes used.  Unless final, a character p ends inside waits (is not
 * used): the next piece completes it.
 */
static size_t
text_fold_run(struct pack *out, const uint8_t *p, size_t len, int final)
{
	const uint8_t	*start = p, *end = p + len;
	uint32_t	 c;
	int		 n, i;

	while (p < end) {
		if (*p < 0x80) {
			c = text_fold_cp(*p);
			n = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			n = 3;
		} else {
			pack_raw(out, p++, 1);
			continue;
		}
		if ((size_t)(end - p) <= (size_t)n) {
			if (!final)
				return (size_t)(p - start);
			pack_raw(out, p, (size_t)(end - p));
			return len;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (i <= n) {
			pack_raw(out, p++, 1);
			continue;
		}
		if (*p == 0)
			c = ' ';	/* a NUL would end the C string early */
		text_put_cp(out, n == 0 ? c : text_fold_cp(c));
		p += n + 1;
	}
	return len;
}

static void
text_fold_into(struct pack *out, const uint8_t *p, size_t len)
{
	(void)text_fold_run(out, p, len, 1);
}

char *
imap_text_fold(const char *s, size_t len)
{
	struct pack	 out;

	pack_init(&out);
	text_fold_into(&out, (const uint8_t *)s, len);
	pack_u8(&out, 0);
	return (char *)out.buf;
}

static char *
text_finish(struct pack *decoded)
{
	struct pack	 folded;

	pack_init(&folded);
	text_fold_into(&folded, decoded->buf, decoded->len);
	pack_u8(&folded, 0);
	pack_free(decoded);
	return (char *)folded.buf;
}

int
imap_text_header_match(const void *hdr, size_t len, const char *name,
    const char *folded)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;
	struct pack		 dec;
	char			*unf, *f;
	size_t			 n;
	int			 hit = 0;

	mime_header_iter_init(&it, hdr, len);
	while (!hit && mime_header_iter_next(&it, &h)) {
		if (h.name_len != strlen(name) ||
		    strncasecmp((const char *)h.name, name, h.name_len) != 0)
			continue;
		/* RFC 3501 6.4.4: HEADER name "" matches a present field. */
		if (*folded == '\0')
			return 1;
		unf = mime_header_unfold(h.value, h.value_len, &n);
		pack_init(&dec);
		mime_decode_words(&dec, (const uint8_t *)unf, n);
		free(unf);
		f = text_finish(&dec);
		hit = strstr(f, folded) != NULL;
		free(f);
	}
	return hit;
}

/*
 * An address list as Dovecot writes it for SEARCH FROM/TO/CC/BCC (as
 * measured against Dovecot 2.3): "name <mailbox@domain>" or
 * "<mailbox@domain>", a group "name: ...;", joined by ", ", the name
 * quoted if it is not all atext, and then the encoded words decoded.  What
 * ENVELOPE shows, so a comment or a fold does not hide an address.
 */
static void
text_address_name(struct pack *out, const char *name)
{
	const char	*p;

	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x80 && !isalnum((unsigned char)*p) &&
		    strchr("!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			break;
	if (*p == '\0') {
		pack_raw(out, name, strlen(name));
		return;
	}
	pack_raw(out, "\"", 1);
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			pack_raw(out, "\\", 1);
		pack_raw(out, p, 1);
	}
	pack_raw(out, "\"", 1);
}

static void
text_addresses(struct pack *out, const struct message_addrlist *al)
{
	const struct message_address	*a;
	size_t				 i;
	int				 sep = 0;

	for (i = 0; i < al->n; i++) {
		a = &al->v[i];
		if (a->mailbox == NULL && a->domain == NULL) {
			/* A group's end. */
			pack_raw(out, ";", 1);
			sep = 1;
			continue;
		}
		if (sep)
			pack_raw(out, ", ", 2);
		if (a->domain == NULL) {
			/* A group's start: its name in mailbox. */
			text_address_name(out, a->mailbox);
			pack_raw(out, ": ", 2);
			sep = 0;
			continue;
		}
		if (a->name != NULL && *a->name != '\0') {
			text_address_name(out, a->name);
			pack_raw(out, " ", 1);
		}
		pack_raw(out, "<", 1);
		if (a->mailbox != NULL)
			pack_raw(out, a->mailbox, strlen(a->mailbox));
		pack_raw(out, "@", 1);
		pack_raw(out, a->domain, strlen(a->domain));
		pack_raw(out, ">", 1);
		sep = 1;
	}
}

int
imap_text_address_match(const void *hdr, size_t len, const char *name,
    const char *folded)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;
	struct message_addrlist	 al;
	struct pack		 raw, dec;
	char			*f, *v;
	size_t			 vlen;
	int			 hit = 0;

	memset(&al, 0, sizeof(al));
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h))
		if (h.name_len == strlen(name) &&
		    strncasecmp((const char *)h.name, name, h.name_len) == 0) {
			/* The value as message-envelope.c reads it. */
			v = mime_header_value_full(&h, &vlen);
			message_address_parse(&al, (const uint8_t *)v, vlen);
			free(v);
		}
	if (al.n == 0) {
		message_addrlist_clear(&al);
		return 0;
	}
	if (*folded == '\0')
		hit = 1;
	else {
		pack_init(&raw);
		text_addresses(&raw, &al);
		pack_init(&dec);
		mime_decode_words(&dec, raw.buf, raw.len);
		pack_free(&raw);
		f = text_finish(&dec);
		hit = strstr(f, folded) != NULL;
		free(f);
	}
	message_addrlist_clear(&al);
	return hit;
}

char *
imap_text_header(const void *hdr, size_t len)
{
	struct pack	 dec;

	pack_init(&dec);
	mime_decode_words(&dec, hdr, len);
	return text_finish(&dec);
}

/* ---- the body text, piece by piece ---- */

/*
 * What the text of a message's body is made of, in the order it is
 * read: the parts' tree walked once into a list of steps.  CHECK is the
 * TEXT_SEARCH_MAX test made on entering each part (past it the part and
 * all below are left out: skip is the step after them), WORDS the
 * decoded header of an embedded message, LEAF a part's decoded text (its
 * header read for its Content-* fields first), RAW a message without
 * structure, as it is.
 */
enum text_step_kind {
	TEXT_STEP_CHECK,
	TEXT_STEP_WORDS,
	TEXT_STEP_LEAF,
	TEXT_STEP_RAW,
};

struct text_step {
	enum text_step_kind	 kind;
	uint32_t		 part;
	size_t			 skip;		/* CHECK */
};

struct imap_text_scan {
	const struct mime_msg	*mm;
	uint64_t		 size;
	struct text_step	*steps;
	size_t			 nsteps, step;
	int			 body;		/* LEAF: reading the body */
	int			 reading;	/* [pos, end) is being fed */
	uint64_t		 pos, end;
	struct pack		 hdr;		/* a part's header, gathered */
	struct mime_decoder	 dec;
	int			 dec_on;
	struct pack		 dtmp;		/* decoded, not yet folded */
	uint64_t		 decoded;	/* imap_text_body's text so far */
	struct pack		 fwait;		/* a character not yet whole */
	struct pack		 ftmp;
	int			 finished;
	/* The folded text: whole (imap_text_body), or its last keep bytes. */
	int			 collect;
	struct pack		 win;
	size_t			 keep;
	int			 ended;		/* a NUL: strstr() stops there */
	const char *const	*needles;
	size_t			*nlen;
	size_t			 nneedles;
	uint8_t			*found;
};

static void	text_scan_steps(struct imap_text_scan *, uint32_t);
static void	text_scan_step_add(struct imap_text_scan *, enum text_step_kind,
		    uint32_t);
static void	text_scan_range(struct imap_text_scan *, uint64_t, uint64_t);
static void	text_scan_range_done(struct imap_text_scan *);
static void	text_scan_emit(struct imap_text_scan *, const uint8_t *, size_t,
		    int final);
static void	text_scan_match(struct imap_text_scan *);

static void
text_scan_step_add(struct imap_text_scan *sc, enum text_step_kind kind,
    uint32_t part)
{
	sc->steps = xreallocarray(sc->steps, sc->nsteps + 1,
	    sizeof(*sc->steps));
	sc->steps[sc->nsteps].kind = kind;
	sc->steps[sc->nsteps].part = part;
	sc->steps[sc->nsteps].skip = 0;
	sc->nsteps++;
}

/* The steps of part idx; depth bounded by MIME_MAX_DEPTH (mail/mime.c). */
static void
text_scan_steps(struct imap_text_scan *sc, uint32_t idx)
{
	const struct mime_msg	*mm = sc->mm;
	const struct mime_part	*p = &mm->parts[idx];
	size_t			 check = sc->nsteps;
	uint32_t		 kid;

	text_scan_step_add(sc, TEXT_STEP_CHECK, idx);
	if (p->flags & (MIME_PART_MULTIPART | MIME_PART_RFC822)) {
		for (kid = p->child; kid != MIME_NONE && kid < mm->nparts;
		    kid = mm->parts[kid].next) {
			if (p->flags & MIME_PART_RFC822)
				text_scan_step_add(sc, TEXT_STEP_WORDS, kid);
			text_scan_steps(sc, kid);
		}
	} else
		text_scan_step_add(sc, TEXT_STEP_LEAF, idx);
	sc->steps[check].skip = sc->nsteps;
}

struct imap_text_scan *
imap_text_scan_new(const struct mime_msg *mm, uint64_t size,
    const char *const *needles, size_t nneedles)
{
	struct imap_text_scan	*sc;
	size_t			 i;

	sc = xcalloc(1, sizeof(*sc));
	sc->mm = mm;
	sc->size = size;
	pack_init(&sc->hdr);
	pack_init(&sc->dtmp);
	pack_init(&sc->fwait);
	pack_init(&sc->ftmp);
	pack_init(&sc->win);
	if (mm != NULL && mm->nparts > 0)
		text_scan_steps(sc, 0);
	else
		text_scan_step_add(sc, TEXT_STEP_RAW, 0);
	sc->needles = needles;
	sc->nneedles = nneedles;
	sc->nlen = xcalloc(nneedles + 1, sizeof(*sc->nlen));
	sc->found = xcalloc(nneedles + 1, 1);
	for (i = 0; i < nneedles; i++) {
		sc->nlen[i] = strlen(needles[i]);
		/* strstr(text, "") finds it in any text. */
		if (sc->nlen[i] == 0)
			sc->found[i] = 1;
		if (sc->nlen[i] > sc->keep + 1)
			sc->keep = sc->nlen[i] - 1;
	}
	return sc;
}

void
imap_text_scan_free(struct imap_text_scan **scp)
{
	struct imap_text_scan	*sc = *scp;

	if (sc == NULL)
		return;
	if (sc->dec_on)
		mime_decoder_clear(&sc->dec);
	/* Message text: wiped as the whole-message buffers are. */
	if (sc->hdr.buf != NULL)
		sodium_memzero(sc->hdr.buf, sc->hdr.cap);
	if (sc->win.buf != NULL)
		sodium_memzero(sc->win.buf, sc->win.cap);
	pack_free(&sc->hdr);
	pack_free(&sc->dtmp);
	pack_free(&sc->fwait);
	pack_free(&sc->ftmp);
	pack_free(&sc->win);
	free(sc->steps);
	free(sc->nlen);
	free(sc->found);
	free(sc);
	*scp = NULL;
}

int
imap_text_scan_found(const struct imap_text_scan *sc, size_t i)
{
	return i < sc->nneedles && sc->found[i];
}

/* Reads [off, off + len) of the message next, clipped to its size. */
static void
text_scan_range(struct imap_text_scan *sc, uint64_t off, uint64_t len)
{
	if (off > sc->size)
		off = sc->size;
	if (len > sc->size - off)
		len = sc->size - off;
	sc->pos = off;
	sc->end = off + len;
	sc->reading = 1;
}

int
imap_text_scan_next(struct imap_text_scan *sc, uint64_t *offp, uint64_t *lenp)
{
	const struct text_step	*st;
	const struct mime_part	*p;

	for (;;) {
		if (sc->reading) {
			if (sc->pos < sc->end) {
				*offp = sc->pos;
				*lenp = sc->end - sc->pos;
				return 1;
			}
			text_scan_range_done(sc);
			continue;
		}
		if (sc->step >= sc->nsteps) {
			if (!sc->finished) {
				sc->finished = 1;
				text_scan_emit(sc, NULL, 0, 1);
			}
			return 0;
		}
		st = &sc->steps[sc->step];
		p = sc->mm != NULL ? &sc->mm->parts[st->part] : NULL;
		switch (st->kind) {
		case TEXT_STEP_CHECK:
			/* As imap_text_body always did: a part at a time. */
			sc->step = sc->decoded > TEXT_SEARCH_MAX ? st->skip :
			    sc->step + 1;
			break;
		case TEXT_STEP_WORDS:
			/* Only RAW is without a structure (_new). */
			if (p == NULL) {
				sc->step++;
				break;
			}
			sc->hdr.len = 0;
			text_scan_range(sc, p->hdr_off, p->hdr_len);
			break;
		case TEXT_STEP_LEAF:
			if (p == NULL)
				sc->step++;
			else if (sc->body)
				text_scan_range(sc, p->body_off, p->body_len);
			else {
				sc->hdr.len = 0;
				text_scan_range(sc, p->hdr_off, p->hdr_len);
			}
			break;
		case TEXT_STEP_RAW:
			text_scan_range(sc, 0, sc->size);
			break;
		}
	}
}

void
imap_text_scan_feed(struct imap_text_scan *sc, const uint8_t *p, size_t n)
{
	const struct text_step	*st = &sc->steps[sc->step];

	if (!sc->reading || n == 0)
		return;
	if (n > sc->end - sc->pos)
		n = (size_t)(sc->end - sc->pos);
	sc->pos += n;
	if (st->kind == TEXT_STEP_RAW)
		text_scan_emit(sc, p, n, 0);
	else if (st->kind == TEXT_STEP_LEAF && sc->body) {
		if (sc->dec_on) {
			sc->dtmp.len = 0;
			mime_decoder_feed(&sc->dec, &sc->dtmp, p, n);
			text_scan_emit(sc, sc->dtmp.buf, sc->dtmp.len, 0);
		}
	} else
		pack_raw(&sc->hdr, p, n);
}

/* The range of the current step was read whole. */
static void
text_scan_range_done(struct imap_text_scan *sc)
{
	const struct text_step	*st = &sc->steps[sc->step];
	struct mime_content	 ct;

	sc->reading = 0;
	switch (st->kind) {
	case TEXT_STEP_WORDS:
		sc->dtmp.len = 0;
		if (sc->hdr.len > 0)
			mime_decode_words(&sc->dtmp, sc->hdr.buf, sc->hdr.len);
		text_scan_emit(sc, sc->dtmp.buf, sc->dtmp.len, 0);
		sc->step++;
		break;
	case TEXT_STEP_LEAF:
		if (sc->body) {
			sc->dtmp.len = 0;
			mime_decoder_finish(&sc->dec, &sc->dtmp);
			pack_raw(&sc->dtmp, "\n", 1);
			text_scan_emit(sc, sc->dtmp.buf, sc->dtmp.len, 0);
			mime_decoder_clear(&sc->dec);
			sc->dec_on = 0;
			sc->body = 0;
			sc->step++;
			break;
		}
		memset(&ct, 0, sizeof(ct));
		mime_content_parse(sc->hdr.len > 0 ? sc->hdr.buf :
		    (const uint8_t *)"", sc->hdr.len, &ct);
		/* Only text: attachments' bytes are not words to find. */
		if (ct.type != NULL && strcasecmp(ct.type, "text") != 0) {
			mime_content_clear(&ct);
			sc->step++;
			break;
		}
		mime_decoder_init(&sc->dec, &ct);
		mime_content_clear(&ct);
		sc->dec_on = 1;
		sc->body = 1;
		break;
	default:
		sc->step++;
		break;
	}
}

/*
 * Decoded text (what imap_text_body's text grows by) folded and matched;
 * final: the end of the text.
 */
static void
text_scan_emit(struct imap_text_scan *sc, const uint8_t *p, size_t n, int final)
{
	struct pack	*out = &sc->win;
	size_t		 used;

	sc->decoded += n;
	p = pack_join(&sc->fwait, &sc->ftmp, p, &n);
	if (n == 0)
		return;
	used = text_fold_run(out, p, n, final);
	if (used < n)
		pack_raw(&sc->fwait, p + used, n - used);
	if (!sc->collect)
		text_scan_match(sc);
}

/* The needles in the window; then only what a later match may start in. */
static void
text_scan_match(struct imap_text_scan *sc)
{
	const uint8_t	*z;
	size_t		 len = sc->win.len, i;

	if (sc->ended || len == 0) {
		sc->win.len = 0;
		return;
	}
	if ((z = memchr(sc->win.buf, 0, len)) != NULL) {
		len = (size_t)(z - sc->win.buf);
		sc->ended = 1;
	}
	for (i = 0; i < sc->nneedles; i++)
		if (!sc->found[i] && memmem(sc->win.buf, len, sc->needles[i],
		    sc->nlen[i]) != NULL)
			sc->found[i] = 1;
	if (len > sc->keep) {
		memmove(sc->win.buf, sc->win.buf + len - sc->keep, sc->keep);
		sc->win.len = sc->keep;
	} else
		sc->win.len = len;
}

char *
imap_text_body(const void *msg, size_t len, const struct mime_msg *mm)
{
	struct imap_text_scan	*sc;
	uint64_t		 off, n;
	char			*text;

	sc = imap_text_scan_new(mm, len, NULL, 0);
	sc->collect = 1;
	while (imap_text_scan_next(sc, &off, &n))
		imap_text_scan_feed(sc, (const uint8_t *)msg + off, (size_t)n);
	pack_u8(&sc->win, 0);
	text = (char *)sc->win.buf;
	pack_init(&sc->win);
	imap_text_scan_free(&sc);
	return text;
}
