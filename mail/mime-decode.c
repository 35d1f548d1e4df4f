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

/* An incomplete character longer than this is broken bytes, not waiting. */
#define DECODE_WAIT_MAX		32

/* RFC 2045 6.8 Table 1 by byte; DECODE_B64_NONE outside the alphabet. */
#define DECODE_B64_NONE		255
static const uint8_t decode_b64[256] = {
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
	 52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255,
	255, 255, 255, 255, 255,   0,   1,   2,   3,   4,   5,   6,
	  7,   8,   9,  10,  11,  12,  13,  14,  15,  16,  17,  18,
	 19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
	255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,
	 37,  38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,
	 49,  50,  51, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255,
};

static void	decode_charset_open(struct mime_decoder *, const char *);
static void	decode_charset_run(struct mime_decoder *, struct pack *,
		    const uint8_t *, size_t, int final);
static size_t	decode_qp_run(struct pack *, const uint8_t *, size_t, int q,
		    int final);
static void	decode_base64_run(struct mime_decoder *, struct pack *,
		    const uint8_t *, size_t);

static void
decode_charset_open(struct mime_decoder *d, const char *charset)
{
	d->cd = (iconv_t)-1;
	if (charset == NULL || *charset == '\0' ||
	    strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0)
		return;
	d->cd = iconv_open("UTF-8", charset);
}

/*
 * Converts in to UTF-8 after what waited.  Unless final, a character the
 * input ends inside (EINVAL) waits for the next piece; at the end it is
 * broken bytes like any other.
 */
static void
decode_charset_run(struct mime_decoder *d, struct pack *out, const uint8_t *in,
    size_t len, int final)
{
	char		 buf[4096], *ip, *op;
	size_t		 il, ol, r;

	if (d->cd == (iconv_t)-1) {
		pack_raw(out, in, len);
		return;
	}
	in = pack_join(&d->cs_wait, &d->cs_tmp, in, &len);
	ip = (char *)(uintptr_t)in;
	il = len;
	while (il > 0) {
		op = buf;
		ol = sizeof(buf);
		r = iconv(d->cd, &ip, &il, &op, &ol);
		pack_raw(out, buf, sizeof(buf) - ol);
		if (r == (size_t)-1 && errno == EINVAL && !final &&
		    il < DECODE_WAIT_MAX) {
			pack_raw(&d->cs_wait, ip, il);
			break;
		}
		if (r == (size_t)-1 && errno != E2BIG) {
			/* A broken byte: keep it and go on after it. */
			pack_raw(out, ip, 1);
			ip++;
			il--;
		}
	}
}

/* Converts from charset to UTF-8; unknown charsets pass bytes through. */
void
mime_decode_charset(struct pack *out, const char *charset, const uint8_t *in,
    size_t len)
{
	struct mime_decoder	 d;

	memset(&d, 0, sizeof(d));
	decode_charset_open(&d, charset);
	decode_charset_run(&d, out, in, len, 1);
	mime_decoder_clear(&d);
}

int
mime_charset_to_utf8(struct pack *out, const char *charset, const uint8_t *in,
    size_t len)
{
	char		 buf[1024], *ip, *op;
	size_t		 il, ol, r;
	iconv_t		 cd;
	int		 ret = 0;

	if ((cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return MIME_CHARSET_UNKNOWN;
	ip = (char *)(uintptr_t)in;
	il = in != NULL ? len : 0;
	while (il > 0) {
		op = buf;
		ol = sizeof(buf);
		r = iconv(cd, &ip, &il, &op, &ol);
		pack_raw(out, buf, sizeof(buf) - ol);
		/* EILSEQ: a byte the charset has not; EINVAL: cut short. */
		if (r == (size_t)-1 && errno != E2BIG) {
			ret = MIME_CHARSET_INVALID;
			break;
		}
	}
	/* A stateful charset (ISO-2022-JP) may have a shift to write. */
	op = buf;
	ol = sizeof(buf);
	if (ret == 0 && iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1)
		pack_raw(out, buf, sizeof(buf) - ol);
	iconv_close(cd);
	return ret;
}

/*
 * Decodes p up to an "=" fewer than three bytes before its end (which
 * needs the next piece to tell) unless final; returns the bytes used.
 */
static size_t
decode_qp_run(struct pack *out, const uint8_t *p, size_t len, int q, int final)
{
	size_t	 i, run;
	int	 h, l;
	uint8_t	 c;

	for (i = 0; i < len; i++) {
		if (q && p[i] == '_') {
			pack_raw(out, " ", 1);
			continue;
		}
		if (p[i] != '=') {
			/* The run up to the next "=" (or "_") at once. */
			for (run = 1; i + run < len && p[i + run] != '=' &&
			    !(q && p[i + run] == '_'); run++)
				;
			pack_raw(out, &p[i], run);
			i += run - 1;
			continue;
		}
		if (!final && len - i < 3)
			return i;
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
	return len;
}

/* RFC 2045 6.7 quoted-printable (q: RFC 2047 "_" is a space). */
void
mime_decode_qp(struct pack *out, const uint8_t *p, size_t len, int q)
{
	(void)decode_qp_run(out, p, len, q, 1);
}

/*
 * Lenient: anything outside the alphabet is skipped, "=" ends it all.
 * Bytes go out in blocks: a 50 MB FETCH BINARY decodes through here.
 */
static void
decode_base64_run(struct mime_decoder *d, struct pack *out, const uint8_t *p,
    size_t len)
{
	uint8_t		 buf[4096];
	uint32_t	 bits = d->bits, v;
	size_t		 i, n = 0;
	int		 nbits = d->nbits;

	for (i = 0; i < len && !d->b64_end; i++) {
		if (p[i] == '=') {
			d->b64_end = 1;
			break;
		}
		if ((v = decode_b64[p[i]]) == DECODE_B64_NONE)
			continue;
		bits = (bits << 6) | v;
		if ((nbits += 6) >= 8) {
			nbits -= 8;
			buf[n++] = (uint8_t)(bits >> nbits);
			if (n == sizeof(buf)) {
				pack_raw(out, buf, n);
				n = 0;
			}
		}
	}
	d->bits = bits;
	d->nbits = nbits;
	if (n > 0)
		pack_raw(out, buf, n);
}

/* RFC 2045 6.8, lenient: anything outside the alphabet is skipped. */
void
mime_decode_base64(struct pack *out, const uint8_t *p, size_t len)
{
	struct mime_decoder	 d;

	memset(&d, 0, sizeof(d));
	decode_base64_run(&d, out, p, len);
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
mime_decoder_init_transfer(struct mime_decoder *d, int enc)
{
	memset(d, 0, sizeof(*d));
	pack_init(&d->qp_wait);
	pack_init(&d->cs_wait);
	pack_init(&d->tmp);
	pack_init(&d->cs_tmp);
	pack_init(&d->raw);
	d->enc = enc;
	d->cd = (iconv_t)-1;
}

void
mime_decoder_init(struct mime_decoder *d, const struct mime_content *c)
{
	char	*charset;
	size_t	 clen;
	int	 enc = MIME_DECODER_RAW;

	if (c->encoding != NULL && strcasecmp(c->encoding, "base64") == 0)
		enc = MIME_DECODER_BASE64;
	else if (c->encoding != NULL &&
	    strcasecmp(c->encoding, "quoted-printable") == 0)
		enc = MIME_DECODER_QP;
	mime_decoder_init_transfer(d, enc);
	charset = mime_param_get(c->params, c->nparams, "charset", NULL, &clen);
	decode_charset_open(d, charset);
	free(charset);
}

void
mime_decoder_feed(struct mime_decoder *d, struct pack *out, const uint8_t *p,
    size_t len)
{
	size_t	 used;

	switch (d->enc) {
	case MIME_DECODER_BASE64:
		d->raw.len = 0;
		decode_base64_run(d, &d->raw, p, len);
		break;
	case MIME_DECODER_QP:
		p = pack_join(&d->qp_wait, &d->tmp, p, &len);
		d->raw.len = 0;
		used = decode_qp_run(&d->raw, p, len, 0, 0);
		if (used < len)
			pack_raw(&d->qp_wait, p + used, len - used);
		break;
	default:
		decode_charset_run(d, out, p, len, 0);
		return;
	}
	decode_charset_run(d, out, d->raw.buf, d->raw.len, 0);
}

void
mime_decoder_finish(struct mime_decoder *d, struct pack *out)
{
	d->raw.len = 0;
	if (d->qp_wait.len > 0) {
		(void)decode_qp_run(&d->raw, d->qp_wait.buf, d->qp_wait.len,
		    0, 1);
		d->qp_wait.len = 0;
	}
	decode_charset_run(d, out, d->raw.buf, d->raw.len, 1);
}

void
mime_decoder_clear(struct mime_decoder *d)
{
	if (d->cd != (iconv_t)-1)
		iconv_close(d->cd);
	d->cd = (iconv_t)-1;
	pack_free(&d->qp_wait);
	pack_free(&d->cs_wait);
	pack_free(&d->tmp);
	pack_free(&d->cs_tmp);
	pack_free(&d->raw);
}

void
mime_decode_part_text(struct pack *out, const uint8_t *msg,
    const struct mime_part *p, const struct mime_content *c)
{
	struct mime_decoder	 d;

	mime_decoder_init(&d, c);
	mime_decoder_feed(&d, out, msg + p->body_off, (size_t)p->body_len);
	mime_decoder_finish(&d, out);
	mime_decoder_clear(&d);
}
