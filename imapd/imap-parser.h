/*
 * imap-parser.h: the streaming, bounded IMAP command parser.
 *
 * The parser is fed from a libevent evbuffer and never assumes that a
 * whole command has arrived: imap_parser_read() consumes what it can and
 * answers "need more", "continue" (a synchronizing literal wants "+"),
 * "error" or "done".  It drains exactly the bytes it has consumed and
 * keeps none of the client's bytes buffered on its own, so that after
 * "done" every byte still in the evbuffer came after the command's final
 * LF: imap_parser_input_pending() tells STARTTLS whether the client
 * pipelined something behind it (RFC 3501 6.2.1, the CVE-2011-0411
 * class of plaintext injection).
 *
 * Grammar (RFC 3501 9, RFC 7888, RFC 3516), leniencies as Dovecot's:
 *   command  = tag SP name [SP args] CRLF      (a bare LF is accepted)
 *   tag      = 1*<ASTRING-CHAR except "+">
 *   name     = 1*(ALPHA / DIGIT / "-" / "_" / ".")
 *   args     = arg *(1*SP arg) *SP             (extra blanks are accepted)
 *   arg      = atom / NIL / quoted / literal / "(" [args] ")"
 *   literal  = ["~"] "{" number ["+"] "}" CRLF *OCTET
 * Atoms may hold "[", "]", "%", "*" and a leading "\" (flags, LIST
 * patterns, sequence sets).  An atom with an unclosed "[" followed by
 * blanks and "(" reads the list as part of itself up to the "]" that
 * must follow it: FETCH BODY[HEADER.FIELDS (A B)]<0.100> is one ATOM
 * argument with IMAP_ARG_F_SECTION (see imap-arg.h).  Quoted strings
 * take "\\" and "\"" as their only escapes, may hold 8-bit bytes (clients
 * send UTF-8 in SEARCH without asking), never NUL, CR or LF.  Literals
 * hold no NUL either (RFC 3501 CHAR8), except literal8 and streamed ones,
 * whose sink sees the raw bytes.
 *
 * Ownership: the parser owns the command and its argument tree until
 * imap_parser_reset() or imap_parser_free(); so the error it returns.
 */
#ifndef GUESTBOX_IMAP_PARSER_H
#define GUESTBOX_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "imap-arg.h"

struct evbuffer;
struct imap_parser;

/* Defaults of struct imap_parser_limits. */
#define IMAP_PARSER_LINE_MAX		(64 * 1024)
#define IMAP_PARSER_LITERAL_MAX		(64 * 1024)
#define IMAP_PARSER_STREAM_MAX		(50 * 1024 * 1024)
#define IMAP_PARSER_COMMAND_MAX		(1024 * 1024)
#define IMAP_PARSER_DEPTH_MAX		100
#define IMAP_PARSER_ARGS_MAX		10000

struct imap_parser_limits {
	/*
	 * Bytes of the command outside literal data: the line and the
	 * lines that continue it after each literal, CRLFs included.
	 */
	size_t		 line_max;
	/* Size of one literal held in memory. */
	uint64_t	 literal_max;
	/*
	 * Size of one literal the caller streams into a sink (an APPEND
	 * message: set it to the APPENDLIMIT).  A non-synchronizing literal
	 * that fails for any reason is skipped if it is no larger than
	 * this; a larger one cannot be skipped and closes the connection.
	 */
	uint64_t	 stream_max;
	/* Bytes held in memory by one command: line plus literals. */
	size_t		 command_max;
	/* Open parentheses (a section's list included). */
	unsigned int	 depth_max;
	/* Arguments of one command, the elements of every list included. */
	size_t		 args_max;
	/*
	 * Size of one non-synchronizing literal {N+}: above it the literal
	 * fails with BAD [TOOBIG].  IMAP_PARSER_NONSYNC_ANY (the default)
	 * is LITERAL+; IMAP_PARSER_NONSYNC_MINUS is LITERAL- (RFC 7888 5).
	 */
	uint64_t	 nonsync_max;
};

#define IMAP_PARSER_NONSYNC_ANY		UINT64_MAX
#define IMAP_PARSER_NONSYNC_MINUS	4096

/* Why a command failed (struct imap_parse_error). */
enum imap_parse_errcode {
	IMAP_PERR_SYNTAX = 1,		/* malformed: BAD */
	IMAP_PERR_LINE_TOO_LONG,	/* line_max: BAD */
	IMAP_PERR_LITERAL_TOO_BIG,	/* literal_max or stream_max: BAD [TOOBIG] */
	IMAP_PERR_TOO_DEEP,		/* depth_max: BAD */
	IMAP_PERR_TOO_MANY_ARGS,	/* args_max: BAD */
	IMAP_PERR_COMMAND_TOO_BIG,	/* command_max: BAD */
	IMAP_PERR_NUL,			/* NUL in a string or literal: BAD */
	IMAP_PERR_REFUSED,		/* the literal hook refused: NO (its text) */
};

struct imap_parse_error {
	enum imap_parse_errcode	 code;
	/*
	 * What went wrong, for the human part of "TAG BAD <text>" (or NO
	 * for IMAP_PERR_REFUSED, whose text is the hook's, response code
	 * included).  A response code such as "[TOOBIG] " leads the text
	 * where one applies.
	 */
	const char		*text;
	/* The tag and command name if they had been read, else NULL. */
	const char		*tag;
	const char		*command;
	/*
	 * The connection must be closed after answering ("* BYE"): the
	 * parser cannot find the start of the next command, e.g. a
	 * non-synchronizing literal too large to skip (RFC 7888 4: the
	 * server may then close).
	 */
	int			 fatal;
};

struct imap_command {
	const char		*tag;
	const char		*name;		/* compare case-insensitively */
	const struct imap_arg	*args;		/* EOL-terminated */
	size_t			 nargs;
};

/* imap_parser_read() and imap_parser_read_line() return one of these. */
enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,		/* *error_r says why */
	IMAP_PARSE_NEED_MORE = 0,	/* all input consumed; call again */
	IMAP_PARSE_DONE = 1,		/* *cmd_r (or the line) is complete */
	IMAP_PARSE_CONTINUE = 2,	/* send "+ ..." then call again */
};

/*
 * The literal hook: how a literal's data is received.  The parser calls
 * it once per literal, after "{N}" CRLF and before any of its data, and
 * before any "+" continuation is asked for, so a handler can refuse an
 * APPEND (NO [TRYCREATE], NO [TOOBIG]) without the client sending the
 * message.
 */
enum imap_literal_action {
	IMAP_LITERAL_MEMORY = 0,	/* the parser keeps it (literal_max) */
	IMAP_LITERAL_STREAM,		/* into *sink_r (stream_max) */
	IMAP_LITERAL_REFUSE,		/* fail with IMAP_PERR_REFUSED */
};

/*
 * A sink takes a streamed literal's data as it arrives.  The parser calls
 * write() with consecutive pieces of the literal, then exactly one of
 * done() (all bytes seen) or abort() (the command failed or the parser
 * was reset or freed first).  A write() that returns -1 gets no more
 * data: the parser discards the rest of the literal, goes on parsing
 * the command and still calls done() at its end, so the command
 * completes and the handler answers from what its sink knows (NO
 * [OVERQUOTA], NO [UNAVAILABLE]).  The caller owns ctx.
 */
struct imap_literal_sink {
	int	 (*write)(void *ctx, const void *data, size_t len);
	void	 (*done)(void *ctx);
	void	 (*abort)(void *ctx);
	void	*ctx;
};

struct imap_literal_info {
	uint64_t		 size;
	int			 nonsync;	/* {N+}: data follows unasked */
	int			 literal8;	/* ~{N} */
	unsigned int		 depth;		/* 0: a top-level argument */
	size_t			 index;		/* its position in its array */
	const char		*tag;
	const char		*command;
	/*
	 * The top-level arguments before this literal (or before the list
	 * holding it), EOL-terminated; valid during the call only.
	 */
	const struct imap_arg	*args;
	size_t			 nargs;
};

/*
 * Returns the action; for IMAP_LITERAL_STREAM fills *sink_r, for
 * IMAP_LITERAL_REFUSE sets *text_r (copied by the parser).
 */
typedef enum imap_literal_action (*imap_literal_hook)(void *arg,
    const struct imap_literal_info *, struct imap_literal_sink *sink_r,
    const char **text_r);

void		 imap_parser_limits_default(struct imap_parser_limits *);

/* A new parser; limits NULL means the defaults. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *);
/* Aborts a sink still open, frees everything; *pp becomes NULL. */
void		 imap_parser_free(struct imap_parser **pp);
/*
 * Limits take effect from the next command (e.g. smaller ones before
 * login).  The hook (NULL: every literal in memory) stays until changed.
 */
void		 imap_parser_set_limits(struct imap_parser *,
		    const struct imap_parser_limits *);
void		 imap_parser_set_literal_hook(struct imap_parser *,
		    imap_literal_hook, void *arg);

/*
 * Reads a command.
 * - IMAP_PARSE_DONE: *cmd_r is the command, valid until reset.  The LF
 *   that ended it was the last byte drained from in.
 * - IMAP_PARSE_CONTINUE: a synchronizing literal was announced and
 *   accepted: send "+ ..." to the client and call again (RFC 3501 7.5).
 * - IMAP_PARSE_NEED_MORE: in is empty; call again when data arrives.
 * - IMAP_PARSE_ERROR: *error_r is set; answer it, then call
 *   imap_parser_reset() (or close if error->fatal).  Every later call
 *   until then returns the same error.
 * After DONE or ERROR, call imap_parser_reset() before the next command.
 */
int		 imap_parser_read(struct imap_parser *, struct evbuffer *in,
		    const struct imap_command **cmd_r,
		    const struct imap_parse_error **error_r);

/*
 * Reads one bare line (the client's AUTHENTICATE responses, IDLE's DONE)
 * bounded by line_max, without its CRLF; NUL refused.  *line_r is valid
 * until reset.  Same results and reset rule as imap_parser_read(),
 * except CONTINUE, which it never returns.
 */
int		 imap_parser_read_line(struct imap_parser *, struct evbuffer *in,
		    const char **line_r, size_t *len_r,
		    const struct imap_parse_error **error_r);

/*
 * Forgets the command (aborting a sink still open) and prepares for the
 * next one.  After an error, or when a command is abandoned half read,
 * the next reads first discard what remains of it: the rest of its line
 * and the data of literals announced on it that the client is sending
 * anyway ({N+}, or {N} once "+" was asked for), so that mbsync's APPEND
 * {N+} to a missing mailbox resynchronizes after NO [TRYCREATE].  After a
 * fatal error it does nothing.
 */
void		 imap_parser_reset(struct imap_parser *);

/*
 * True when bytes after the last complete command are waiting in in.
 * STARTTLS must be refused (and the connection closed) if so.
 */
int		 imap_parser_input_pending(const struct imap_parser *,
		    struct evbuffer *in);

#endif
