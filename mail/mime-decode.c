/*
 * mime-decode.c: content decoding (Dovecot's message-decoder seam):
 * transfer encodings (RFC 2045 6.7 quoted-printable, 6.8 base64), RFC
 * 2047 encoded words and charsets, all to UTF-8 and lenient, since what
 * is decoded is searched, never sent on.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-buf.h"
#include "mime-content.h"
#include "mime-decode.h"
#include "mime.h"
#include "util.h"

/* Converts from charset to UTF-8; unknown charsets pass bytes through. */
void
mime_decode_charset(struct pack *out, const char *charset, const uint8_t *in,
    size_t len)
{
	iconv_t		 cd;
	char		 buf[4096], *ip = (char *)(uintptr_t)in, *op;
	size_t		 il = len, ol, r;

	if (charset == NULL || *charset == '\0' ||
	    strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1) {
		pack_raw(out, in, len);
		return;
	}
	while (il > 0) {
		op = buf;
		ol = sizeof(buf);
		r = iconv(cd, &ip, &il, &op, &ol);
		pack_raw(out, buf, sizeof(buf) - ol);
		if (r == (size_t)-1 && errno != E2BIG) {
			/* A broken byte: keep it and go on after it. */
			pack_raw(out, ip, 1);
			ip++;
			il--;
		}
	}
	iconv_close(cd);
}

/* RFC 2045 6.7 quoted-printable (q: RFC 2047 "_" is a space). */
void
mime_decode_qp(struct pack *out, const uint8_t *p, size_t len, int q)
{
	size_t	 i;
	int	 h, l;
	uint8_t	 c;

	for (i = 0; i < len; i++) {
		if (q && p[i] == '_') {
			pack_raw(out, " ", 1);
			continue;
		}
		if (p[i] != '=') {
			pack_raw(out, &p[i], 1);
			continue;
		}
		if (i + 2 < len + 0 && (h = mail_hexval(p[i + 1])) != -1 &&
		    (l = mail_hexval(p[i + 2])) != -1) {
			c = (uint8_t)(h << 4 | l);
			pack_raw(out, &c, 1);
			i += 2;
		} else if (i + 1 < len &&
		    (p[i + 1] == '\r' || p[i + 1] == '\n')) {
			/* Soft line break. */
			i++;
			if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
				i++;
		} else
			pack_raw(out, &p[i], 1);
	}
}

/* RFC 2045 6.8, lenient: anything outside the alphabet is skipped. */
void
mime_decode_base64(struct pack *out, const uint8_t *p, size_t len)
{
	uint32_t	 bits = 0;
	int		 n = 0, v;
	uint8_t		 c;
	size_t		 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '=')
			break;
		if ((v = b64_value(p[i])) == -1)
			continue;
		bits = (bits << 6) | (uint32_t)v;
		if ((n += 6) >= 8) {
			n -= 8;
			c = (uint8_t)(bits >> n);
			pack_raw(out, &c, 1);
		}
	}
}

/* RFC 2047 encoded words of a header value, to UTF-8. */
void
mime_decode_words(struct pack *out, const uint8_t *p, size_t len)
{
	const uint8_t	*end = p + len, *q, *cs, *enc, *text, *close;
	const uint8_t	*pending_ws = NULL;
	size_t		 pending_len = 0;
	struct pack	 raw;
	char		 charset[64];
	int		 last_was_word = 0;

	while (p < end) {
		if (p + 1 < end && p[0] == '=' && p[1] == '?') {
			cs = p + 2;
			enc = memchr(cs, '?', (size_t)(end - cs));
			if (enc != NULL && enc + 2 < end && enc[2] == '?' &&
			    (close = NULL, text = enc + 3, 1)) {
				for (q = text; q + 1 < end; q++)
					if (q[0] == '?' && q[1] == '=') {
						close = q;
						break;
					}
				if (close != NULL &&
				    (size_t)(enc - cs) < sizeof(charset)) {
					memcpy(charset, cs, (size_t)(enc - cs));
					charset[enc - cs] = '\0';
					/* RFC 2231 5: charset*language */
					if (strchr(charset, '*') != NULL)
						*strchr(charset, '*') = '\0';
					/* RFC 2047 6.2: blanks between words go. */
					if (!last_was_word && pending_ws != NULL)
						pack_raw(out, pending_ws,
						    pending_len);
					pending_ws = NULL;
					pack_init(&raw);
					if (enc[1] == 'B' || enc[1] == 'b')
						mime_decode_base64(&raw, text,
						    (size_t)(close - text));
					else
						mime_decode_qp(&raw, text,
						    (size_t)(close - text), 1);
					mime_decode_charset(out, charset, raw.buf,
					    raw.len);
					pack_free(&raw);
					p = close + 2;
					last_was_word = 1;
					continue;
				}
			}
		}
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			if (pending_ws == NULL) {
				pending_ws = p;
				pending_len = 0;
			}
			pending_len++;
			p++;
			continue;
		}
		if (pending_ws != NULL)
			pack_raw(out, pending_ws, pending_len);
		pending_ws = NULL;
		last_was_word = 0;
		pack_raw(out, p++, 1);
	}
	if (pending_ws != NULL)
		pack_raw(out, pending_ws, pending_len);
}

void
mime_decode_part_text(struct pack *out, const uint8_t *msg,
    const struct mime_part *p, const struct mime_content *c)
{
	struct pack	 raw;
	char		*charset;
	size_t		 clen;

	pack_init(&raw);
	if (c->encoding != NULL && strcasecmp(c->encoding, "base64") == 0)
		mime_decode_base64(&raw, msg + p->body_off,
		    (size_t)p->body_len);
	else if (c->encoding != NULL &&
	    strcasecmp(c->encoding, "quoted-printable") == 0)
		mime_decode_qp(&raw, msg + p->body_off, (size_t)p->body_len, 0);
	else
		pack_raw(&raw, msg + p->body_off, (size_t)p->body_len);
	charset = mime_param_get(c->params, c->nparams, "charset", NULL, &clen);
	mime_decode_charset(out, charset, raw.buf, raw.len);
	free(charset);
	pack_free(&raw);
}
