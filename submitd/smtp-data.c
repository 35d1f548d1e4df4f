/*
 * smtp-data.c: DATA as a byte-at-a-time state machine (see smtp-data.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "smtp-data.h"
#include "xmalloc.h"

enum smtp_data_state {
	DS_BOL,		/* at the start of a line (after CRLF) */
	DS_DOT,		/* "." at the start of a line, not yet passed on */
	DS_DOTCR,	/* ".\r" at the start of a line */
	DS_TEXT,	/* inside a line */
	DS_CR,		/* a CR inside a line */
	DS_LAXBOL,	/* after a bare CR or LF */
	DS_LAXDOT,	/* "." after a bare CR or LF */
	DS_DONE,
};

struct smtp_data {
	enum smtp_data_state	 state;
	uint64_t		 size_max;
	uint64_t		 size;
	size_t			 linelen;
	unsigned int		 flags;
	int			 lax_end;
	smtp_data_sink_fn	 sink;
	void			*arg;
};

/* After any of these the sink hears nothing more. */
#define SMTP_DATA_STOP	(SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR | \
	SMTP_DATA_TOOBIG | SMTP_DATA_SINKFAIL)

static void	smtp_data_emit(struct smtp_data *, const unsigned char *,
		    size_t);
static void	smtp_data_reply(struct smtp_data *, struct smtp_reply *);

struct smtp_data *
smtp_data_new(uint64_t size_max, smtp_data_sink_fn sink, void *arg)
{
	struct smtp_data	*d;

	d = xcalloc(1, sizeof(*d));
	d->state = DS_BOL;
	d->size_max = size_max;
	d->sink = sink;
	d->arg = arg;
	return d;
}

void
smtp_data_free(struct smtp_data **dp)
{
	free(*dp);
	*dp = NULL;
}

uint64_t
smtp_data_size(const struct smtp_data *d)
{
	return d->size;
}

unsigned int
smtp_data_flags(const struct smtp_data *d)
{
	return d->flags;
}

static void
smtp_data_emit(struct smtp_data *d, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	d->size += n;
	if (d->size_max != 0 && d->size > d->size_max)
		d->flags |= SMTP_DATA_TOOBIG;
	if ((d->flags & SMTP_DATA_STOP) || d->sink == NULL)
		return;
	if (d->sink(d->arg, p, n) == -1)
		d->flags |= SMTP_DATA_SINKFAIL;
}

static void
smtp_data_reply(struct smtp_data *d, struct smtp_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	if (d->lax_end) {
		smtp_reply_set(reply, 554, "5.6.0", "Bare LF or CR around the "
		    "end of data: lines must end with CRLF (RFC 5321 2.3.8); "
		    "closing the connection");
		reply->close = 1;
	} else if (d->flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR))
		smtp_reply_set(reply, 550, "5.6.0", "Message refused: it holds "
		    "a bare %s; lines must end with CRLF (RFC 5321 2.3.8)",
		    (d->flags & SMTP_DATA_BARE_LF) ? "LF" : "CR");
	else if (d->flags & SMTP_DATA_TOOBIG)
		smtp_reply_set(reply, 552, "5.3.4", "Message size exceeds the "
		    "limit of %llu octets", (unsigned long long)d->size_max);
	else if (d->flags & SMTP_DATA_SINKFAIL)
		smtp_reply_set(reply, 451, "4.3.0",
		    "Local error while storing the message; try again later");
}

enum smtp_data_status
smtp_data_feed(struct smtp_data *d, const void *buf, size_t len,
    size_t *usedp, struct smtp_reply *reply)
{
	const unsigned char	*p = buf;
	size_t			 i, span = 0, consumed = 0;
	int			 c;

	*usedp = 0;
	if (d->state == DS_DONE) {
		smtp_data_reply(d, reply);
		return SMTP_DATA_DONE;
	}
	memset(reply, 0, sizeof(*reply));
	for (i = 0; i < len; i++) {
		c = p[i];
		consumed = i + 1;
again:
		switch (d->state) {
		case DS_BOL:
			d->linelen = 0;
			if (c == '.') {
				/* RFC 5321 4.5.2: drop the first dot. */
				smtp_data_emit(d, p + span, i - span);
				span = i + 1;
				d->state = DS_DOT;
				continue;
			}
			break;
		case DS_DOT:
			if (c == '\r') {
				/* Maybe the end: hold the CR back. */
				span = i + 1;
				d->state = DS_DOTCR;
				continue;
			}
			if (c == '\n') {
				/* CRLF "." LF: the smuggler's end. */
				d->flags |= SMTP_DATA_BARE_LF;
				d->lax_end = 1;
				goto done;
			}
			break;
		case DS_DOTCR:
			if (c == '\n') {
				span = i;
				goto done;
			}
			/* CRLF "." CR: likewise; c stays unread. */
			d->flags |= SMTP_DATA_BARE_CR;
			d->lax_end = 1;
			consumed = i;
			goto done;
		case DS_TEXT:
			break;
		case DS_CR:
			if (c == '\n') {
				d->state = DS_BOL;
				continue;
			}
			d->flags |= SMTP_DATA_BARE_CR;
			d->state = DS_LAXBOL;
			goto again;
		case DS_LAXBOL:
			if (c == '.') {
				d->state = DS_LAXDOT;
				continue;
			}
			break;
		case DS_LAXDOT:
			if (c == '\r' || c == '\n') {
				/* "\n.\n", "\r.\r", "\n.\r\n" and kin */
				d->lax_end = 1;
				goto done;
			}
			break;
		case DS_DONE:
			break;
		}
		/* Text of a line. */
		if (c == '\r') {
			d->state = DS_CR;
			continue;
		}
		if (c == '\n') {
			d->flags |= SMTP_DATA_BARE_LF;
			d->state = DS_LAXBOL;
			continue;
		}
		if (c == '\0')
			d->flags |= SMTP_DATA_NUL;
		else if (c & 0x80)
			d->flags |= SMTP_DATA_8BIT;
		/* RFC 5321 4.5.3.1.6: 998 octets and CRLF. */
		if (++d->linelen > SMTP_DATA_LINE_MAX - 2)
			d->flags |= SMTP_DATA_LONGLINE;
		d->state = DS_TEXT;
	}
	smtp_data_emit(d, p + span, len - span);
	*usedp = len;
	return SMTP_DATA_MORE;

done:
	/*
	 * The text before the end (none after a held-back "." or ".\r"); in
	 * a refused message it is only counted, so that the size does not
	 * depend on how the input was cut.
	 */
	smtp_data_emit(d, p + span, i - span);
	d->state = DS_DONE;
	*usedp = consumed;
	smtp_data_reply(d, reply);
	return SMTP_DATA_DONE;
}

enum smtp_data_status
smtp_data_read(struct smtp_data *d, struct evbuffer *in,
    struct smtp_reply *reply)
{
	struct evbuffer_iovec	 v[16];
	enum smtp_data_status	 st;
	size_t			 used, total;
	int			 n, k;

	memset(reply, 0, sizeof(*reply));
	if (d->state == DS_DONE) {
		smtp_data_reply(d, reply);
		return SMTP_DATA_DONE;
	}
	for (;;) {
		/* Look at the chains in place: no copy of the message. */
		n = evbuffer_peek(in, -1, NULL, v, 16);
		if (n <= 0)
			return SMTP_DATA_MORE;
		if (n > 16)
			n = 16;
		total = 0;
		for (k = 0; k < n; k++) {
			st = smtp_data_feed(d, v[k].iov_base, v[k].iov_len,
			    &used, reply);
			total += used;
			if (st == SMTP_DATA_DONE) {
				evbuffer_drain(in, total);
				return SMTP_DATA_DONE;
			}
		}
		evbuffer_drain(in, total);
	}
}
