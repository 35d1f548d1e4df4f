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

#include "imap-text.h"
#include "message-address.h"
#include "mime-decode.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

/* Text searched per message: bodies beyond this are not read further. */
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

/* Folds UTF-8 (invalid bytes pass through as they are) into out. */
static void
text_fold_into(struct pack *out, const uint8_t *p, size_t len)
{
	const uint8_t	*end = p + len;
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
			pack_raw(out, p, (size_t)(end - p));
			return;
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

/* The decoded text of every text part (and of headers of embedded mail). */
static void
text_body_part(struct pack *out, const uint8_t *msg, const struct mime_msg *mm,
    uint32_t idx)
{
	const struct mime_part	*p = &mm->parts[idx];
	struct mime_content	 ct;
	uint32_t		 kid;

	if (out->len > TEXT_SEARCH_MAX)
		return;
	if (p->flags & (MIME_PART_MULTIPART | MIME_PART_RFC822)) {
		for (kid = p->child; kid != MIME_NONE; kid = mm->parts[kid].next) {
			if (p->flags & MIME_PART_RFC822)
				mime_decode_words(out, msg + mm->parts[kid].hdr_off,
				    (size_t)mm->parts[kid].hdr_len);
			text_body_part(out, msg, mm, kid);
		}
		return;
	}
	memset(&ct, 0, sizeof(ct));
	mime_content_parse(msg + p->hdr_off, (size_t)p->hdr_len, &ct);
	/* Only text: attachments' bytes are not words to find. */
	if (ct.type != NULL && strcasecmp(ct.type, "text") != 0) {
		mime_content_clear(&ct);
		return;
	}
	mime_decode_part_text(out, msg, p, &ct);
	pack_raw(out, "\n", 1);
	mime_content_clear(&ct);
}

char *
imap_text_body(const void *msg, size_t len, const struct mime_msg *mm)
{
	struct pack	 dec;

	pack_init(&dec);
	if (mm != NULL && mm->nparts > 0)
		text_body_part(&dec, msg, mm, 0);
	else
		pack_raw(&dec, msg, len);
	return text_finish(&dec);
}
