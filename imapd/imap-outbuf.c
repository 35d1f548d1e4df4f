/*
 * imap-outbuf.c: numbers and punctuation staged a few KiB at a time.
 * 100,000 numbers cost 25 ms as one evbuffer_add_printf() each; SEARCH,
 * SORT and THREAD write that many in one answer.
 */
#include "config.h"

#include "imap-outbuf.h"

void
imap_outbuf_init(struct imap_outbuf *ob, struct evbuffer *out)
{
	ob->out = out;
	ob->len = 0;
}

void
imap_outbuf_flush(struct imap_outbuf *ob)
{
	if (ob->len > 0)
		evbuffer_add(ob->out, ob->buf, ob->len);
	ob->len = 0;
}

void
imap_outbuf_char(struct imap_outbuf *ob, char c)
{
	if (ob->len == sizeof(ob->buf))
		imap_outbuf_flush(ob);
	ob->buf[ob->len++] = c;
}

void
imap_outbuf_u32(struct imap_outbuf *ob, uint32_t x)
{
	char	 digits[10];
	size_t	 d = 0;

	do {
		digits[d++] = (char)('0' + x % 10);
		x /= 10;
	} while (x != 0);
	if (ob->len > sizeof(ob->buf) - d)
		imap_outbuf_flush(ob);
	while (d > 0)
		ob->buf[ob->len++] = digits[--d];
}

void
imap_write_numbers(struct evbuffer *out, const uint32_t *v, size_t n)
{
	struct imap_outbuf	 ob;
	size_t			 i;

	imap_outbuf_init(&ob, out);
	for (i = 0; i < n; i++) {
		imap_outbuf_char(&ob, ' ');
		imap_outbuf_u32(&ob, v[i]);
	}
	imap_outbuf_flush(&ob);
}

