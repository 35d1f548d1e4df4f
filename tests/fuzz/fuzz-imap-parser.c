/*
 * fuzz-imap-parser.c: libFuzzer target for the IMAP command parser.
 *
 * The first byte picks small or default limits and whether big literals
 * stream into a sink; the rest is the client's input.  The input is run
 * whole, byte by byte and in pieces, and the three transcripts must be
 * equal: the parser may not depend on how the network cut the bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-parser.h"
#include "imap-transcript.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits	 l;
	char				*a, *b, *c;
	size_t				 stream_min, piece;

	if (size < 1)
		return 0;
	imap_parser_limits_default(&l);
	if (data[0] & 1) {
		/* Small limits, so the fuzzer reaches each of them. */
		l.line_max = 512;
		l.literal_max = 64;
		l.stream_max = 1024;
		l.command_max = 768;
		l.depth_max = 8;
		l.args_max = 40;
	}
	stream_min = (data[0] & 2) ? 16 : 0;
	piece = 2 + (data[0] >> 4);
	data++;
	size--;

	a = transcript_run(&l, data, size, 0, stream_min);
	b = transcript_run(&l, data, size, 1, stream_min);
	c = transcript_run(&l, data, size, piece, stream_min);
	if (strcmp(a, b) != 0 || strcmp(a, c) != 0)
		abort();
	free(a);
	free(b);
	free(c);
	return 0;
}
