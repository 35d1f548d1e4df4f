/*
 * imap-outbuf.h: output of many short pieces (the numbers of SEARCH,
 * SORT and THREAD answers), staged a few KiB at a time.
 */
#ifndef GUESTBOX_IMAP_OUTBUF_H
#define GUESTBOX_IMAP_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

/*
 * Output staged in a small buffer, for answers of many short pieces
 * (a THREAD of 100,000 numbers); flush before anything else writes.
 */
struct imap_outbuf {
	struct evbuffer	*out;
	size_t		 len;
	char		 buf[4096];
};
void	 imap_outbuf_init(struct imap_outbuf *, struct evbuffer *);
void	 imap_outbuf_char(struct imap_outbuf *, char);
void	 imap_outbuf_u32(struct imap_outbuf *, uint32_t);
void	 imap_outbuf_flush(struct imap_outbuf *);
/* " n" for each number: the list of SEARCH and SORT. */
void	 imap_write_numbers(struct evbuffer *, const uint32_t *, size_t);

#endif
