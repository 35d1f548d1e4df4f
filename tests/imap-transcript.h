/*
 * imap-transcript.h: runs the IMAP parser over an input in pieces of a
 * given size and writes down everything it answered, so that tests and
 * fuzzers can compare a byte-by-byte run with a run over the whole input.
 */
#ifndef GUESTBOX_TESTS_IMAP_TRANSCRIPT_H
#define GUESTBOX_TESTS_IMAP_TRANSCRIPT_H

#include <stddef.h>

#include "imap-parser.h"

/* Appends a readable form of args to buf (a growing string). */
struct transcript {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

void	 transcript_init(struct transcript *);
void	 transcript_free(struct transcript *);
void	 transcript_printf(struct transcript *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 transcript_args(struct transcript *, const struct imap_arg *);

/*
 * Feeds input to a new parser chunk bytes at a time (0: all at once) and
 * returns the transcript: one line per command, "+" per continuation,
 * "ERR ..." per error (stopping at a fatal one).  If stream_min is not 0,
 * literals of at least that size are streamed into a sink that records
 * their length and a checksum.  The caller frees the result.
 */
char	*transcript_run(const struct imap_parser_limits *, const void *input,
	    size_t len, size_t chunk, size_t stream_min);

#endif
