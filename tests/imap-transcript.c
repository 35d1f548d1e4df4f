/*
 * imap-transcript.c: a parser run written down; see imap-transcript.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-transcript.h"
#include "xmalloc.h"

struct sink_state {
	struct transcript	*t;
	uint64_t		 bytes;
	uint32_t		 sum;
	int			 open;
};

static int	sink_write(void *, const void *, size_t);
static void	sink_done(void *);
static void	sink_abort(void *);
static enum imap_literal_action	hook(void *, const struct imap_literal_info *,
		    struct imap_literal_sink *, const char **);

struct hook_state {
	struct sink_state	 sink;
	size_t			 stream_min;
};

void
transcript_init(struct transcript *t)
{
	t->cap = 256;
	t->buf = xmalloc(t->cap);
	t->buf[0] = '\0';
	t->len = 0;
}

void
transcript_free(struct transcript *t)
{
	free(t->buf);
	t->buf = NULL;
}

void
transcript_printf(struct transcript *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	while (t->len + (size_t)n + 1 > t->cap) {
		t->cap *= 2;
		t->buf = xrealloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, s, (size_t)n + 1);
	t->len += (size_t)n;
	free(s);
}

static void
transcript_bytes(struct transcript *t, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			transcript_printf(t, "\\x%02x", c);
		else
			transcript_printf(t, "%c", c);
	}
}

void
transcript_args(struct transcript *t, const struct imap_arg *args)
{
	const struct imap_arg	*a;

	for (a = args; a->type != IMAP_ARG_EOL; a++) {
		if (a != args)
			transcript_printf(t, " ");
		switch (a->type) {
		case IMAP_ARG_ATOM:
			transcript_printf(t, "A:");
			transcript_bytes(t, a->str, a->len);
			if (a->flags & IMAP_ARG_F_SECTION) {
				transcript_printf(t, "[(");
				transcript_args(t, a->list);
				transcript_printf(t, ")]");
			}
			break;
		case IMAP_ARG_NIL:
			transcript_printf(t, "NIL");
			break;
		case IMAP_ARG_STRING:
			transcript_printf(t, "S:\"");
			transcript_bytes(t, a->str, a->len);
			transcript_printf(t, "\"");
			break;
		case IMAP_ARG_LITERAL:
			transcript_printf(t, "L%s%s%s{%zu}",
			    (a->flags & IMAP_ARG_F_LITERAL8) ? "8" : "",
			    (a->flags & IMAP_ARG_F_NONSYNC) ? "+" : "",
			    (a->flags & IMAP_ARG_F_STREAMED) ? "s" : "",
			    a->len);
			if (a->str != NULL) {
				transcript_printf(t, ":\"");
				transcript_bytes(t, a->str, a->len);
				transcript_printf(t, "\"");
			}
			break;
		case IMAP_ARG_LIST:
			transcript_printf(t, "(");
			transcript_args(t, a->list);
			transcript_printf(t, ")");
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
}

static int
sink_write(void *ctx, const void *data, size_t len)
{
	struct sink_state	*s = ctx;
	const unsigned char	*p = data;
	size_t			 i;

	if (!s->open)
		abort();
	for (i = 0; i < len; i++)
		s->sum = s->sum * 31 + p[i];
	s->bytes += len;
	return 0;
}

static void
sink_done(void *ctx)
{
	struct sink_state	*s = ctx;

	if (!s->open)
		abort();
	s->open = 0;
	transcript_printf(s->t, "[sink %llu %08x] ",
	    (unsigned long long)s->bytes, s->sum);
}

static void
sink_abort(void *ctx)
{
	struct sink_state	*s = ctx;

	if (!s->open)
		abort();
	s->open = 0;
	transcript_printf(s->t, "[sink aborted] ");
}

static enum imap_literal_action
hook(void *arg, const struct imap_literal_info *info,
    struct imap_literal_sink *sink, const char **text)
{
	struct hook_state	*h = arg;

	if (h->stream_min == 0 || info->size < h->stream_min)
		return IMAP_LITERAL_MEMORY;
	if (h->sink.open)
		abort();
	h->sink.open = 1;
	h->sink.bytes = 0;
	h->sink.sum = 0;
	sink->write = sink_write;
	sink->done = sink_done;
	sink->abort = sink_abort;
	sink->ctx = &h->sink;
	return IMAP_LITERAL_STREAM;
}

char *
transcript_run(const struct imap_parser_limits *limits, const void *input,
    size_t len, size_t chunk, size_t stream_min)
{
	struct imap_parser		*p;
	struct evbuffer			*in;
	struct transcript		 t;
	struct hook_state		 h;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	const char			*data = input;
	size_t				 off = 0, n;
	int				 r, stop = 0;

	transcript_init(&t);
	memset(&h, 0, sizeof(h));
	h.sink.t = &t;
	h.stream_min = stream_min;
	p = imap_parser_new(limits);
	imap_parser_set_literal_hook(p, hook, &h);
	if ((in = evbuffer_new()) == NULL)
		abort();
	while (!stop) {
		n = chunk == 0 ? len - off : chunk;
		if (n > len - off)
			n = len - off;
		if (n > 0)
			evbuffer_add(in, data + off, n);
		off += n;
		for (;;) {
			r = imap_parser_read(p, in, &cmd, &err);
			if (r == IMAP_PARSE_NEED_MORE)
				break;
			if (r == IMAP_PARSE_CONTINUE) {
				transcript_printf(&t, "+ ");
				continue;
			}
			if (r == IMAP_PARSE_DONE) {
				transcript_printf(&t, "%s %s", cmd->tag,
				    cmd->name);
				if (cmd->nargs > 0) {
					transcript_printf(&t, " ");
					transcript_args(&t, cmd->args);
				}
				transcript_printf(&t, "\n");
			} else {
				transcript_printf(&t, "ERR %d%s %s %s: %s\n",
				    err->code, err->fatal ? " fatal" : "",
				    err->tag != NULL ? err->tag : "*",
				    err->command != NULL ? err->command : "-",
				    err->text);
				if (err->fatal) {
					stop = 1;
					break;
				}
			}
			imap_parser_reset(p);
		}
		if (off == len)
			break;
	}
	imap_parser_free(&p);
	evbuffer_free(in);
	if (h.sink.open)
		abort();
	return t.buf;
}
