/*
 * fuzz-smtp-data.c: the DATA reader, differentially.
 *
 * The input is read twice, whole and in pieces (sizes from the first
 * byte); both runs must agree on everything.  When a message is accepted
 * the input consumed must be exactly the output with a dot put back
 * before each line that lost one, and ".\r\n": nothing lost, nothing
 * invented, and no end of data but CRLF.CRLF.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp-data.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_out {
	unsigned char	*buf;
	size_t		 len;
	size_t		 cap;
};

struct fuzz_run {
	struct fuzz_out		 out;
	enum smtp_data_status	 st;
	struct smtp_reply	 reply;
	size_t			 used;
	unsigned int		 flags;
	uint64_t		 size;
};

static int
fuzz_sink(void *arg, const void *data, size_t len)
{
	struct fuzz_out	*o = arg;

	if (len == 0)
		abort();
	if (o->cap - o->len < len) {
		o->cap = (o->len + len) * 2;
		o->buf = realloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

static void
fuzz_read(const uint8_t *data, size_t size, size_t step, uint64_t max,
    struct fuzz_run *run)
{
	struct smtp_data	*d;
	size_t			 off = 0, n, used;

	memset(run, 0, sizeof(*run));
	d = smtp_data_new(max, fuzz_sink, &run->out);
	run->st = SMTP_DATA_MORE;
	while (off < size) {
		n = size - off < step ? size - off : step;
		run->st = smtp_data_feed(d, data + off, n, &used, &run->reply);
		if (used > n)
			abort();
		off += used;
		if (run->st == SMTP_DATA_DONE)
			break;
		if (used != n)
			abort();
	}
	run->used = off;
	run->flags = smtp_data_flags(d);
	run->size = smtp_data_size(d);
	smtp_data_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run	 a, b;
	uint64_t	 max;
	size_t		 i, o, step;
	int		 bol;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] & 0x3f) + 1;
	max = (data[0] & 0x40) ? 64 : 0;
	data++;
	size--;

	fuzz_read(data, size, size + 1, max, &a);
	fuzz_read(data, size, step, max, &b);
	if (a.st != b.st || a.used != b.used || a.flags != b.flags ||
	    a.size != b.size || a.reply.code != b.reply.code ||
	    a.reply.close != b.reply.close)
		abort();
	/*
	 * The output must agree too, unless the message was refused: then
	 * the sink may have seen a prefix, longer when the input came in
	 * smaller pieces.
	 */
	if ((a.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR |
	    SMTP_DATA_TOOBIG)) == 0 && (a.out.len != b.out.len ||
	    (a.out.len > 0 && memcmp(a.out.buf, b.out.buf, a.out.len) != 0)))
		abort();
	if (b.out.len > a.size)
		abort();
	if (max != 0 && a.out.len > max)
		abort();
	if (a.st == SMTP_DATA_DONE && a.reply.code == 0) {
		/* Unstuff what was consumed, compare with the output. */
		if (a.out.len != a.size)
			abort();
		for (i = 0, o = 0, bol = 1; o < a.out.len; o++) {
			if (bol && i < a.used && data[i] == '.')
				i++;
			if (i >= a.used || data[i] != a.out.buf[o])
				abort();
			i++;
			bol = a.out.buf[o] == '\n';
		}
		if (a.used - i != 3 || memcmp(data + i, ".\r\n", 3) != 0)
			abort();
		if (a.out.len > 0 && (a.out.len < 2 ||
		    memcmp(a.out.buf + a.out.len - 2, "\r\n", 2) != 0))
			abort();
		if (a.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR))
			abort();
	}
	free(a.out.buf);
	free(b.out.buf);
	return 0;
}
