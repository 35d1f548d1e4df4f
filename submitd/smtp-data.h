/*
 * smtp-data.h: the streaming reader of an SMTP/LMTP DATA section.
 *
 * RFC 5321 4.5.2 and 4.1.1.4: the message ends at CRLF "." CRLF, and a
 * line beginning with "." has that dot removed.  The reader looks at each
 * octet once, keeps no line in memory, and hands the unstuffed message to
 * a caller's sink in pieces as they arrive, so a 50 MiB message never has
 * to be in one buffer here.
 *
 * SMTP smuggling (the 2023 class, and RFC 5321 2.3.8): a receiver that
 * took "\n.\n", "\r.\r" or "\n.\r\n" for the end of DATA, while the server
 * before it did not, would read the rest as new commands.  This reader
 * only ever ends at CRLF.CRLF.  A message holding a bare LF or bare CR is
 * refused (550 5.6.0) after its proper end; a "." line framed by a bare LF
 * or CR, which only such an attack or a broken client sends, ends the
 * reading at once with 554 5.6.0 and close set: the engine hangs up, so
 * nothing after it is ever read as a command and a broken client is not
 * left waiting for a reply that would never come.
 */
#ifndef GUESTBOX_SMTP_DATA_H
#define GUESTBOX_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smtp-parser.h"

struct evbuffer;

/*
 * RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF.
 * Real mail breaks this (long HTML lines), so longer lines are only noted
 * (SMTP_DATA_LONGLINE); the reader's memory does not depend on it.
 */
#define SMTP_DATA_LINE_MAX	1000

/* What the reader noticed; smtp_data_flags(). */
#define SMTP_DATA_NUL		0x01	/* NUL octets: passed through */
#define SMTP_DATA_8BIT		0x02	/* octets over 127 */
#define SMTP_DATA_LONGLINE	0x04	/* a line over SMTP_DATA_LINE_MAX */
#define SMTP_DATA_BARE_LF	0x08	/* refused */
#define SMTP_DATA_BARE_CR	0x10	/* refused */
#define SMTP_DATA_TOOBIG	0x20	/* refused: over size_max */
#define SMTP_DATA_SINKFAIL	0x40	/* the sink returned -1 */

/*
 * Receives the next piece of the unstuffed message (CRLF line ends, the
 * final CRLF included, the terminating ".CRLF" not).  data is valid only
 * during the call.  Returns 0, or -1 to say it failed (a write error): the
 * reader then stops calling it, reads on to the end of DATA and answers
 * 451 4.3.0.  After any refusal the sink is not called again, so it never
 * sees more than size_max octets.
 */
typedef int (*smtp_data_sink_fn)(void *arg, const void *data, size_t len);

enum smtp_data_status {
	SMTP_DATA_MORE,		/* feed more bytes */
	SMTP_DATA_DONE,		/* the end of DATA; see the reply */
};

struct smtp_data;

/*
 * A reader for one message.  size_max is the message size limit in
 * octets of the unstuffed message (0: none).  sink may be NULL (the
 * message is only counted).  Free with smtp_data_free().
 */
struct smtp_data *smtp_data_new(uint64_t size_max, smtp_data_sink_fn sink,
	    void *arg);
void	smtp_data_free(struct smtp_data **);

/*
 * Reads from in as much as is there, up to the end of DATA and no further:
 * pipelined commands behind the end stay in in.  On SMTP_DATA_DONE the
 * reply says what to answer: code 0 when the message was read whole and
 * is acceptable (the engine commits it and answers 250 itself), or
 *
 *   554 5.6.0 + close  a "." line framed by a bare LF/CR (see above)
 *   550 5.6.0          a bare LF or bare CR somewhere in the message
 *   552 5.3.4          the message is larger than size_max
 *   451 4.3.0          the sink failed
 *
 * in that order of precedence.  Once DONE, later calls return DONE again
 * and consume nothing.
 */
enum smtp_data_status smtp_data_read(struct smtp_data *, struct evbuffer *in,
	    struct smtp_reply *);

/* The same on a plain buffer; *usedp is how much of it was consumed. */
enum smtp_data_status smtp_data_feed(struct smtp_data *, const void *buf,
	    size_t len, size_t *usedp, struct smtp_reply *);

/* Octets of the unstuffed message so far (also past size_max). */
uint64_t	smtp_data_size(const struct smtp_data *);
unsigned int	smtp_data_flags(const struct smtp_data *);

#endif
