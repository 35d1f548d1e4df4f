/*
 * smtp-parser.h: the SMTP and LMTP command grammar of guestbox-submitd.
 *
 * Pure code: it never touches a socket and keeps no session state.  The
 * engine feeds it bytes and sends the replies it returns.  Two dialects
 * share one grammar: submission (RFC 6409 on RFC 5321) and LMTP (RFC 2033).
 *
 * Three layers, used in this order by the engine:
 *
 *   smtp_line_read()   cuts one line out of a libevent evbuffer, bounded:
 *                      an overlong line is drained and dropped while it
 *                      arrives, so a 1 MiB "command" never costs more than
 *                      SMTP_LINE_MAX bytes of memory.
 *   smtp_cmd_parse()   turns one line into a struct smtp_cmd (verb,
 *                      normalized address, ESMTP parameters), or into the
 *                      reply that refuses it.
 *   smtp_sasl_*()      the replies of the AUTH exchange to what daemon/sasl.c
 *                      (strict base64, the RFC 4616 PLAIN split) finds.
 *
 * Errors are (code, enhanced code, text) triples in struct smtp_reply; the
 * engine sends "<code> <enhanced> <text>\r\n" (RFC 2034 / RFC 3463).
 * Nothing here calls fatal() on input.
 */
#ifndef GUESTBOX_SMTP_PARSER_H
#define GUESTBOX_SMTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "sasl.h"
#include "util.h"

struct evbuffer;

/*
 * RFC 5321 4.5.3.1.4 sets 512 octets (with CRLF) for a command line; ESMTP
 * parameters and AUTH initial responses push real clients past it, so we
 * accept 4096 and answer longer lines with 500 5.5.2.
 */
#define SMTP_LINE_MAX		4096
/* RFC 4954 4: a line of an AUTH exchange may be up to 12288 octets. */
#define SMTP_SASL_LINE_MAX	12288
/*
 * RFC 5321 4.5.3.1.8: at least 100 recipients per transaction.  More get
 * "452 4.5.3 Too many recipients" (4.5.3.1.10) from the engine, and the
 * client sends the rest in another transaction.
 */
#define SMTP_RCPT_MAX		100
/* RFC 5321 4.5.3.1.2: a domain has at most 255 octets. */
#define SMTP_DOMAIN_MAX		255
/* RFC 4422 3.1: a SASL mechanism name has 1 to 20 characters. */
#define SMTP_MECH_MAX		20
/* The decoded value of MAIL FROM's AUTH= parameter (RFC 4954 5). */
#define SMTP_AUTH_PARAM_MAX	512
/* User names longer than any address are refused before any lookup. */
#define SMTP_SASL_USER_MAX	SASL_USER_MAX
/* RFC 4616 2 asks for 255 octets; longer passwords than this are refused. */
#define SMTP_SASL_PASS_MAX	SASL_PASS_MAX
#define SMTP_REPLY_TEXT_MAX	256

/*
 * A reply to send.  code 0 means "no error".  enhanced points to a static
 * string; text is ours.  close asks the engine to close the connection
 * after sending it (a cross-protocol request, a BDAT chunk we cannot
 * frame, DATA that ended in a way only a smuggling attack would use).
 */
struct smtp_reply {
	int		 code;
	const char	*enhanced;
	char		 text[SMTP_REPLY_TEXT_MAX];
	int		 close;
};

/* Fills a reply; the text is printf-formatted and truncated to fit. */
void	smtp_reply_set(struct smtp_reply *, int code, const char *enhanced,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* The bounded line reader                                            */
/* ------------------------------------------------------------------ */

enum smtp_line_status {
	SMTP_LINE_MORE,		/* no complete line buffered yet */
	SMTP_LINE_OK,		/* *linep and *lenp hold one line */
	SMTP_LINE_TOOLONG,	/* a line over max was read and dropped */
};

struct smtp_line_reader;

struct smtp_line_reader *smtp_line_reader_new(void);
void	smtp_line_reader_free(struct smtp_line_reader **);
/* Forgets a half-read or half-skipped line (after STARTTLS, say). */
void	smtp_line_reader_reset(struct smtp_line_reader *);

/*
 * Takes one line from in.  max counts the line with its CRLF
 * (SMTP_LINE_MAX for commands, SMTP_SASL_LINE_MAX inside AUTH).  The line
 * ends at LF; a CR right before it is removed too, so clients that end
 * commands with a bare LF still work (commands are not where smuggling
 * happens; DATA is, see smtp-data.h).
 *
 * SMTP_LINE_OK: *linep is NUL-terminated, owned by the reader and valid
 * until the next call; it may be modified by the caller (smtp_cmd_parse
 * does).  *lenp excludes the line end; the line may hold NUL bytes, so
 * *lenp and not strlen() is its length.
 *
 * SMTP_LINE_TOOLONG: the whole overlong line, up to and including its LF,
 * has been consumed; the engine answers once (500 5.5.2, or 500 5.5.6
 * inside AUTH) and goes on with the next line, so pipelined replies stay
 * in step.  While such a line is still arriving the reader drains it and
 * returns SMTP_LINE_MORE: memory stays bounded by max.
 *
 * SMTP_LINE_MORE: nothing to do until more bytes arrive.  The reader
 * remembers how far it has searched the incomplete line; a caller that
 * takes bytes out of in by other means meanwhile (STARTTLS, DATA) calls
 * smtp_line_reader_reset() first.
 */
enum smtp_line_status smtp_line_read(struct smtp_line_reader *,
	    struct evbuffer *in, size_t max, char **linep, size_t *lenp);

/* ------------------------------------------------------------------ */
/* Commands                                                           */
/* ------------------------------------------------------------------ */

enum smtp_dialect {
	SMTP_DIALECT_SUBMISSION,	/* RFC 6409: HELO, EHLO */
	SMTP_DIALECT_LMTP,		/* RFC 2033: LHLO only */
	SMTP_DIALECT_GATEWAY,		/* RFC 5321, from the home MTA */
};

/* Service extensions the engine offers right now (its EHLO reply). */
#define SMTP_EXT_PIPELINING	0x01	/* RFC 2920 */
#define SMTP_EXT_SIZE		0x02	/* RFC 1870 */
#define SMTP_EXT_8BITMIME	0x04	/* RFC 6152 */
#define SMTP_EXT_ENHANCEDSTATUSCODES 0x08 /* RFC 2034 */
#define SMTP_EXT_STARTTLS	0x10	/* RFC 3207 */
#define SMTP_EXT_AUTH		0x20	/* RFC 4954 */
#define SMTP_EXT_CHUNKING	0x40	/* RFC 3030; guestbox never offers it */
#define SMTP_EXT_SMTPUTF8	0x80	/* RFC 6531; the gateway only */

enum smtp_verb {
	SMTP_CMD_NONE = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_LHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_COUNT
};

/* Flags of a verb, for the engine's pipelining logic. */
/* RFC 2920 3.1: the command ends a group; flush replies after it. */
#define SMTP_VF_ENDS_GROUP	0x01
/* RFC 3207 4 / RFC 4954 4: nothing may be pipelined after it. */
#define SMTP_VF_BARRIER		0x02

enum smtp_body {
	SMTP_BODY_NONE = 0,	/* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

struct smtp_parse_conf {
	enum smtp_dialect	 dialect;
	unsigned int		 ext;		/* SMTP_EXT_* offered now */
	uint64_t		 size_max;	/* size limit; 0: none */
	int			 smtputf8;	/* this MAIL had SMTPUTF8 */
};

/*
 * One parsed command.  Pointers borrow from the line given to
 * smtp_cmd_parse() (valid until the next smtp_line_read()); arrays are
 * the command's own.
 */
struct smtp_cmd {
	enum smtp_verb	 verb;
	const char	*name;		/* canonical verb, static */
	/*
	 * HELO/EHLO/LHLO: the domain or address literal as sent (one token,
	 * printable ASCII).  VRFY, EXPN, HELP, NOOP: the argument or NULL.
	 */
	const char	*arg;
	/*
	 * MAIL, RCPT: the address in addr_normalize() form (lower case), ""
	 * for MAIL FROM:<>.  A quoted local part that is a plain dot-atom
	 * ("bob"@x.test) is unquoted; source routes are dropped (RFC 5321
	 * 4.1.2, appendix C).  The gateway also takes what has no such form
	 * (a quoted local part, an address literal, UTF-8 after SMTPUTF8):
	 * then addr is "" and only path says who it is.
	 */
	char		 addr[ADDR_MAX + 1];
	/* The mailbox byte for byte as sent, without "<>" and route. */
	char		 path[ADDR_MAX + 1];
	int		 utf8;		/* path has non-ASCII (RFC 6531) */
	int		 smtputf8;	/* MAIL: the SMTPUTF8 parameter */
	/* MAIL: ESMTP parameters */
	int		 has_size;
	uint64_t	 size;		/* SIZE= (RFC 1870) */
	enum smtp_body	 body;		/* BODY= (RFC 6152) */
	int		 has_auth;
	/* AUTH= (RFC 4954 5), xtext-decoded: "<>" or a mailbox */
	char		 auth[SMTP_AUTH_PARAM_MAX + 1];
	/* AUTH */
	char		 mech[SMTP_MECH_MAX + 1];	/* upper case */
	const char	*initial;	/* initial response as sent, or NULL */
	/* BDAT (parsed, though refused unless CHUNKING is offered) */
	uint64_t	 chunk_size;
	int		 last;
};

/*
 * Parses one command line (from smtp_line_read, without CRLF): len
 * octets, NUL-terminated at len.  The line is modified in place.  Verbs
 * are matched case-insensitively and exactly against a table, never by
 * prefix.  Returns 0, or -1 with the refusal in *reply:
 *
 *   500 5.5.2  unknown verb, NUL or bare CR in the line; HELO/EHLO in
 *              LMTP, LHLO in submission (RFC 2033 4.1)
 *   500 5.5.2  + close: an HTTP request line (cross-protocol attack)
 *   501 5.5.4  arguments where none belong, missing or malformed ones
 *   501 5.1.3 / 553 5.1.3 / 553 5.1.7   bad forward / reverse path
 *   553 5.6.7  non-ASCII address without SMTPUTF8 (RFC 6531 3.4)
 *   555 5.5.4  unknown or not offered MAIL/RCPT parameter (RFC 5321 4.1.1.11)
 *   552 5.3.4  SIZE= above conf->size_max (RFC 1870 6)
 *   502 5.5.1  EXPN, and BDAT unless CHUNKING is offered (BDAT also sets
 *              close: its chunk would otherwise be read as commands)
 *
 * It does not check the session state (MAIL before EHLO, AUTH before TLS,
 * STARTTLS twice): that is the engine's, with 503 5.5.1 and 530 5.7.0.
 */
int	smtp_cmd_parse(char *line, size_t len, const struct smtp_parse_conf *,
	    struct smtp_cmd *, struct smtp_reply *);

const char *smtp_verb_name(enum smtp_verb);
unsigned int smtp_verb_flags(enum smtp_verb);

/* ------------------------------------------------------------------ */
/* AUTH (RFC 4954) helpers                                            */
/* ------------------------------------------------------------------ */

/*
 * Decodes one client response of an AUTH exchange: an initial response
 * (RFC 4954 4: "=" is the empty one) or a continuation line.  out should
 * be secret memory (xsecret_alloc) of outmax bytes.  Returns 0, or -1
 * with *reply: "*" cancels (501 5.7.0, RFC 4954 4), bad base64 gets
 * 501 5.5.2 (RFC 4954 4), a response over outmax gets 500 5.5.6.
 */
int	smtp_sasl_decode(const char *line, size_t len, void *out,
	    size_t outmax, size_t *outlenp, struct smtp_reply *);

/*
 * Splits a decoded PLAIN message; the pointers borrow from msg (not
 * NUL-terminated).  Returns 0, or -1 with *reply: a malformed message
 * gets 501 5.5.2; an empty, overlong (a 64 KiB user name) or otherwise
 * unacceptable identity or password gets 535 5.7.8, the same reply as a
 * wrong password so that nothing is learnt from it (RFC 4954 6).
 */
int	smtp_sasl_plain_split(const void *msg, size_t len,
	    struct sasl_plain *, struct smtp_reply *);

#endif
