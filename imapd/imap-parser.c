/*
 * imap-parser.c: the streaming, bounded IMAP command parser.
 *
 * A byte-at-a-time state machine (the states below), so that a command
 * may arrive in pieces of any size and every limit is checked before
 * memory is spent on it.  Arguments are built into a stack of frames,
 * one per open parenthesis; closing one hands its array to the LIST
 * argument of the frame below.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap-parser.h"
#include "xmalloc.h"

enum parser_state {
	PS_START,		/* before a command or a bare line */
	PS_TAG,
	PS_NAME,
	PS_ARG_START,		/* an argument, blanks or the end may follow */
	PS_ARG_END,		/* after an argument: SP, ")" or the end */
	PS_ATOM,
	PS_ATOM_BRACKET_SP,	/* blanks inside an unclosed "[" of an atom */
	PS_SECTION_END,		/* after the list of such an atom: "]" */
	PS_QUOTED,
	PS_QUOTED_ESC,
	PS_TILDE,		/* "~": literal8 or an atom */
	PS_LIT_OPEN,		/* "{" */
	PS_LIT_DIGITS,
	PS_LIT_PLUS,		/* "{N+" */
	PS_LIT_CR,		/* "{N}" */
	PS_LIT_LF,		/* "{N}" CR */
	PS_LIT_DATA,
	PS_EOL_LF,		/* CR at the end of the command */
	PS_LINE,		/* imap_parser_read_line() */
	PS_DONE,
	PS_ERROR,
	PS_SKIP,		/* discarding the rest of a failed line */
	PS_SKIP_LITERAL,	/* discarding a failed {N+} literal's data */
};

/* What handling one byte leads to. */
enum step {
	STEP_NEXT,		/* consumed; go on */
	STEP_AGAIN,		/* not consumed; dispatch it in the new state */
	STEP_DONE,		/* consumed; a command or line is complete */
	STEP_CONTINUE,		/* consumed; ask for the literal with "+" */
	STEP_ERROR,		/* consumed; p->err is set */
};

/* Bytes looked at per pass over the evbuffer. */
#define PARSER_PIECE	16384

enum parser_mode {
	MODE_COMMAND,
	MODE_LINE,
};

/* Skip mode: recognising "{N+}" CRLF at the end of a discarded line. */
enum skip_lit {
	SKIP_LIT_NONE,
	SKIP_LIT_DIGITS,
	SKIP_LIT_PLUS,
	SKIP_LIT_SYNC,		/* "{N}" */
	SKIP_LIT_NONSYNC,	/* "{N+}" */
};

struct frame {
	struct imap_arg		*args;	/* args[count] is the EOL */
	size_t			 count;
	size_t			 cap;
	int			 section; /* the list of a BODY[...] atom */
};

struct imap_parser {
	struct imap_parser_limits	 limits;
	struct imap_parser_limits	 next_limits;
	imap_literal_hook		 hook;
	void				*hook_arg;

	enum parser_state		 state;
	enum parser_mode		 mode;

	char				*tag;
	char				*name;
	struct frame			*frames;	/* depth_max + 1 */
	unsigned int			 nframes;	/* allocated */
	unsigned int			 depth;
	size_t				 nargs;		/* all of them */
	size_t				 line_bytes;
	uint64_t			 mem_bytes;	/* literals in memory */
	int				 line_ended;	/* its LF consumed */

	/* The token being read. */
	char				*tok;
	size_t				 tok_len;
	size_t				 tok_cap;
	int				 atom_bracket;	/* 0, 1: "[" open, 2: closed */
	int				 in_section;	/* a section's list is open */
	char				*sect_atom;	/* atom before the list */
	size_t				 sect_atom_len;
	struct imap_arg			 sect_list;	/* LIST, type EOL if none */

	/* The literal being read. */
	uint64_t			 lit_size;	/* UINT64_MAX: invalid */
	uint64_t			 lit_left;
	int				 lit_nonsync;
	int				 lit_literal8;
	int				 lit_stream;
	char				*lit_buf;
	struct imap_literal_sink	 sink;
	int				 sink_open;
	int				 sink_failed;

	/* Skipping after an error. */
	uint64_t			 skip_left;
	enum skip_lit			 skip_lit;
	uint64_t			 skip_num;

	struct imap_command		 cmd;
	struct imap_parse_error		 err;
	char				*err_text;
};

static enum step	 parser_fail(struct imap_parser *, enum imap_parse_errcode,
			    int, const char *, ...) printflike(4, 5);
static void		 parser_clear(struct imap_parser *);
static void		 parser_free_args(struct imap_arg *, size_t);
static void		 parser_tok_add(struct imap_parser *, char);
static char		*parser_tok_take(struct imap_parser *);
static struct frame	*parser_frame(struct imap_parser *);
static enum step	 parser_add_arg(struct imap_parser *, struct imap_arg *);
static enum step	 parser_finish_atom(struct imap_parser *);
static enum step	 parser_open_list(struct imap_parser *, int);
static enum step	 parser_close_list(struct imap_parser *);
static enum step	 parser_end_line(struct imap_parser *);
static enum step	 parser_literal_begin(struct imap_parser *);
static enum step	 parser_literal_fail(struct imap_parser *,
			    enum imap_parse_errcode, const char *, ...)
			    printflike(3, 4);
static enum step	 parser_literal_data(struct imap_parser *,
			    const unsigned char *, size_t, size_t *);
static enum step	 parser_literal_finish(struct imap_parser *);
static enum step	 parser_byte(struct imap_parser *, unsigned char);
static enum step	 parser_skip_byte(struct imap_parser *, unsigned char);
static int		 parser_run(struct imap_parser *, struct evbuffer *);
static void		 parser_enter(struct imap_parser *, enum parser_mode);
static int		 is_atom_char(unsigned char);
static int		 is_tag_char(unsigned char);
static int		 is_name_char(unsigned char);

void
imap_parser_limits_default(struct imap_parser_limits *l)
{
	l->line_max = IMAP_PARSER_LINE_MAX;
	l->literal_max = IMAP_PARSER_LITERAL_MAX;
	l->stream_max = IMAP_PARSER_STREAM_MAX;
	l->command_max = IMAP_PARSER_COMMAND_MAX;
	l->depth_max = IMAP_PARSER_DEPTH_MAX;
	l->args_max = IMAP_PARSER_ARGS_MAX;
	l->nonsync_max = IMAP_PARSER_NONSYNC_ANY;
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser	*p;

	p = xcalloc(1, sizeof(*p));
	if (limits != NULL)
		p->next_limits = *limits;
	else
		imap_parser_limits_default(&p->next_limits);
	p->limits = p->next_limits;
	p->state = PS_START;
	return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser	*p = *pp;
	unsigned int		 i;

	if (p == NULL)
		return;
	parser_clear(p);
	for (i = 0; i < p->nframes; i++)
		free(p->frames[i].args);
	free(p->frames);
	free(p->tok);
	free(p);
	*pp = NULL;
}

void
imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *limits)
{
	p->next_limits = *limits;
	if (p->state == PS_START && p->line_bytes == 0)
		p->limits = p->next_limits;
}

void
imap_parser_set_literal_hook(struct imap_parser *p, imap_literal_hook hook,
    void *arg)
{
	p->hook = hook;
	p->hook_arg = arg;
}

int
imap_parser_input_pending(const struct imap_parser *p, struct evbuffer *in)
{
	(void)p;
	return evbuffer_get_length(in) != 0;
}

/* ---------------------------------------------------------------- */
/* Command state                                                      */
/* ---------------------------------------------------------------- */

static void
parser_free_args(struct imap_arg *args, size_t count)
{
	size_t	 i;

	if (args == NULL)
		return;
	/* Bounded by depth_max: lists are never deeper than that. */
	for (i = 0; i < count; i++) {
		free(args[i].str);
		if (args[i].list != NULL)
			parser_free_args(args[i].list, args[i].list_count);
	}
	free(args);
}

/* Forgets the command; frame 0 keeps its array for the next one. */
static void
parser_clear(struct imap_parser *p)
{
	struct frame	*f;
	unsigned int	 i;
	size_t		 j;

	if (p->sink_open) {
		p->sink_open = 0;
		if (p->sink.abort != NULL)
			p->sink.abort(p->sink.ctx);
	}
	for (i = 0; i < p->nframes; i++) {
		f = &p->frames[i];
		if (i == 0) {
			for (j = 0; j < f->count; j++) {
				free(f->args[j].str);
				parser_free_args(f->args[j].list,
				    f->args[j].list_count);
			}
			if (f->args != NULL)
				memset(&f->args[0], 0, sizeof(f->args[0]));
		} else {
			parser_free_args(f->args, f->count);
			f->args = NULL;
			f->cap = 0;
		}
		f->count = 0;
		f->section = 0;
	}
	parser_free_args(p->sect_list.list, p->sect_list.list_count);
	memset(&p->sect_list, 0, sizeof(p->sect_list));
	free(p->sect_atom);
	p->sect_atom = NULL;
	p->sect_atom_len = 0;
	free(p->tag);
	free(p->name);
	free(p->lit_buf);
	free(p->err_text);
	p->tag = p->name = p->lit_buf = p->err_text = NULL;
	p->depth = 0;
	p->nargs = 0;
	p->line_bytes = 0;
	p->mem_bytes = 0;
	p->line_ended = 0;
	p->tok_len = 0;
	if (p->tok != NULL)
		p->tok[0] = '\0';
	p->atom_bracket = 0;
	p->in_section = 0;
	p->lit_size = p->lit_left = 0;
	p->lit_nonsync = p->lit_literal8 = p->lit_stream = 0;
	p->sink_failed = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->err, 0, sizeof(p->err));
}

void
imap_parser_reset(struct imap_parser *p)
{
	int	 failed;
	int	 line_ended = p->line_ended;

	switch (p->state) {
	case PS_SKIP:
	case PS_SKIP_LITERAL:
		return;		/* still discarding a failed command */
	case PS_START:
	case PS_DONE:
		failed = 0;
		break;
	case PS_ERROR:
		/* After a fatal error nothing can follow. */
		if (p->err.fatal)
			return;
		failed = 1;
		break;
	case PS_LIT_DATA:
		/* Abandoned mid-literal: its data is still coming. */
		p->skip_left = p->lit_left;
		failed = 1;
		break;
	default:
		/* Abandoned mid-line: discard the rest as after an error. */
		failed = 1;
		break;
	}
	parser_clear(p);
	p->limits = p->next_limits;
	if (failed && (!line_ended || p->skip_left > 0)) {
		p->skip_lit = SKIP_LIT_NONE;
		p->state = p->skip_left > 0 ? PS_SKIP_LITERAL : PS_SKIP;
	} else
		p->state = PS_START;
}

static enum step
parser_fail(struct imap_parser *p, enum imap_parse_errcode code, int fatal,
    const char *fmt, ...)
{
	va_list	 ap;

	if (p->sink_open) {
		p->sink_open = 0;
		if (p->sink.abort != NULL)
			p->sink.abort(p->sink.ctx);
	}
	free(p->err_text);
	va_start(ap, fmt);
	xvasprintf(&p->err_text, fmt, ap);
	va_end(ap);
	p->err.code = code;
	p->err.text = p->err_text;
	p->err.tag = p->tag;
	p->err.command = p->name;
	p->err.fatal = fatal;
	p->state = PS_ERROR;
	return STEP_ERROR;
}

static void
parser_tok_add(struct imap_parser *p, char c)
{
	if (p->tok_len + 1 >= p->tok_cap) {
		p->tok_cap = p->tok_cap == 0 ? 64 : p->tok_cap * 2;
		p->tok = xrealloc(p->tok, p->tok_cap);
	}
	p->tok[p->tok_len++] = c;
	p->tok[p->tok_len] = '\0';
}

/* The token as a new string; the token buffer is emptied. */
static char *
parser_tok_take(struct imap_parser *p)
{
	char	*s;

	s = xmalloc(p->tok_len + 1);
	if (p->tok_len != 0)
		memcpy(s, p->tok, p->tok_len);
	s[p->tok_len] = '\0';
	p->tok_len = 0;
	if (p->tok != NULL)
		p->tok[0] = '\0';
	return s;
}

static struct frame *
parser_frame(struct imap_parser *p)
{
	return &p->frames[p->depth];
}

/* Appends to the current frame, keeping its EOL; takes arg's contents. */
static enum step
parser_add_arg(struct imap_parser *p, struct imap_arg *arg)
{
	struct frame	*f;

	if (p->frames == NULL) {
		p->nframes = 1;
		p->frames = xcalloc(1, sizeof(*p->frames));
	}
	f = parser_frame(p);
	if (++p->nargs > p->limits.args_max) {
		free(arg->str);
		parser_free_args(arg->list, arg->list_count);
		return parser_fail(p, IMAP_PERR_TOO_MANY_ARGS, 0,
		    "Too many arguments (limit %zu)", p->limits.args_max);
	}
	if (f->count + 2 > f->cap) {
		f->cap = f->cap == 0 ? 8 : f->cap * 2;
		f->args = xreallocarray(f->args, f->cap, sizeof(*f->args));
	}
	f->args[f->count++] = *arg;
	memset(&f->args[f->count], 0, sizeof(f->args[0]));
	return STEP_NEXT;
}

static enum step
parser_finish_atom(struct imap_parser *p)
{
	struct imap_arg	 arg;

	memset(&arg, 0, sizeof(arg));
	arg.len = p->tok_len;
	arg.str = parser_tok_take(p);
	if (p->sect_list.type == IMAP_ARG_LIST) {
		arg.type = IMAP_ARG_ATOM;
		arg.flags = IMAP_ARG_F_SECTION;
		arg.list = p->sect_list.list;
		arg.list_count = p->sect_list.list_count;
		memset(&p->sect_list, 0, sizeof(p->sect_list));
	} else if (strcasecmp(arg.str, "NIL") == 0)
		arg.type = IMAP_ARG_NIL;
	else
		arg.type = IMAP_ARG_ATOM;
	p->atom_bracket = 0;
	p->state = PS_ARG_END;
	return parser_add_arg(p, &arg);
}

/* The token ends in "HEADER.FIELDS" or "HEADER.FIELDS.NOT". */
static int
parser_tok_header_fields(const struct imap_parser *p)
{
	static const char *const names[] = { "HEADER.FIELDS",
	    "HEADER.FIELDS.NOT" };
	size_t	 i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (p->tok_len >= n &&
		    strncasecmp(p->tok + p->tok_len - n, names[i], n) == 0)
			return 1;
	}
	return 0;
}

static enum step
parser_open_list(struct imap_parser *p, int section)
{
	if (p->depth + 1 > p->limits.depth_max)
		return parser_fail(p, IMAP_PERR_TOO_DEEP, 0,
		    "Too deeply nested lists (limit %u)", p->limits.depth_max);
	if (p->frames == NULL || p->depth + 1 >= p->nframes) {
		p->frames = xreallocarray(p->frames, p->depth + 2,
		    sizeof(*p->frames));
		memset(&p->frames[p->nframes], 0,
		    (p->depth + 2 - p->nframes) * sizeof(*p->frames));
		p->nframes = p->depth + 2;
	}
	p->depth++;
	parser_frame(p)->section = section;
	if (section)
		p->in_section = 1;
	p->state = PS_ARG_START;
	return STEP_NEXT;
}

static enum step
parser_close_list(struct imap_parser *p)
{
	struct frame	*f;
	struct imap_arg	 arg;
	int		 section;

	if (p->depth == 0)
		return parser_fail(p, IMAP_PERR_SYNTAX, 0, "Unexpected ')'");
	f = parser_frame(p);
	memset(&arg, 0, sizeof(arg));
	arg.type = IMAP_ARG_LIST;
	if (f->args == NULL) {
		/* "()": still an EOL-terminated array. */
		f->args = xcalloc(1, sizeof(*f->args));
	}
	arg.list = f->args;
	arg.list_count = f->count;
	section = f->section;
	f->args = NULL;
	f->count = f->cap = 0;
	f->section = 0;
	p->depth--;
	if (section) {
		p->in_section = 0;
		p->sect_list = arg;
		p->state = PS_SECTION_END;
		return STEP_NEXT;
	}
	p->state = PS_ARG_END;
	return parser_add_arg(p, &arg);
}

static enum step
parser_end_line(struct imap_parser *p)
{
	struct frame	*f;

	p->line_ended = 1;
	if (p->depth > 0) {
		if (parser_frame(p)->section)
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    "Missing ')' and ']' in section");
		return parser_fail(p, IMAP_PERR_SYNTAX, 0, "Missing ')'");
	}
	if (p->frames == NULL) {
		p->nframes = 1;
		p->frames = xcalloc(1, sizeof(*p->frames));
	}
	f = &p->frames[0];
	if (f->args == NULL) {
		f->cap = 8;
		f->args = xcalloc(f->cap, sizeof(*f->args));
	}
	p->cmd.tag = p->tag;
	p->cmd.name = p->name;
	p->cmd.args = f->args;
	p->cmd.nargs = f->count;
	p->state = PS_DONE;
	return STEP_DONE;
}

/* ---------------------------------------------------------------- */
/* Literals                                                           */
/* ---------------------------------------------------------------- */

/*
 * A literal failed before its data: a synchronizing one never gets its
 * data (the client waits for "+"), a non-synchronizing one's data is on
 * its way and is skipped if that is affordable.
 */
static enum step
parser_literal_fail(struct imap_parser *p, enum imap_parse_errcode code,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*text;
	int	 must_close = 0;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	if (p->lit_nonsync) {
		/* RFC 7888 4: "{N+}" too large to take: the server may close. */
		if (p->lit_size > p->limits.stream_max)
			must_close = 1;
		else
			p->skip_left = p->lit_size;
		p->line_ended = 0;
	} else
		p->line_ended = 1;
	parser_fail(p, code, must_close, "%s", text);
	free(text);
	return STEP_ERROR;
}

static enum step
parser_literal_begin(struct imap_parser *p)
{
	struct imap_literal_info	 info;
	enum imap_literal_action	 action = IMAP_LITERAL_MEMORY;
	struct frame			*f;
	const char			*text = NULL;

	p->lit_left = p->lit_size;
	p->lit_stream = 0;
	p->sink_failed = 0;
	if (p->lit_size > UINT32_MAX)
		return parser_literal_fail(p, IMAP_PERR_SYNTAX,
		    "Invalid literal size");
	if (p->nargs + 1 > p->limits.args_max)
		return parser_literal_fail(p, IMAP_PERR_TOO_MANY_ARGS,
		    "Too many arguments (limit %zu)", p->limits.args_max);
	/* RFC 7888 5: LITERAL- takes {N+} up to 4096 octets only. */
	if (p->lit_nonsync && p->lit_size > p->limits.nonsync_max)
		return parser_literal_fail(p, IMAP_PERR_LITERAL_TOO_BIG,
		    "[TOOBIG] Non-synchronizing literal too large (limit %llu "
		    "bytes; use {%llu})", (unsigned long long)p->limits.nonsync_max,
		    (unsigned long long)p->lit_size);

	if (p->hook != NULL) {
		memset(&info, 0, sizeof(info));
		info.size = p->lit_size;
		info.nonsync = p->lit_nonsync;
		info.literal8 = p->lit_literal8;
		info.depth = p->depth;
		info.tag = p->tag;
		info.command = p->name;
		if (p->frames != NULL) {
			info.index = parser_frame(p)->count;
			f = &p->frames[0];
			info.args = f->args;
			info.nargs = f->count;
		}
		if (info.args == NULL) {
			static const struct imap_arg eol;

			info.args = &eol;
		}
		memset(&p->sink, 0, sizeof(p->sink));
		action = p->hook(p->hook_arg, &info, &p->sink, &text);
	}

	switch (action) {
	case IMAP_LITERAL_REFUSE:
		return parser_literal_fail(p, IMAP_PERR_REFUSED, "%s",
		    text != NULL ? text : "Literal refused");
	case IMAP_LITERAL_STREAM:
		if (p->sink.write == NULL)
			fatalx("imap parser: literal hook gave a sink without write");
		/* From here on the sink gets exactly one done() or abort(). */
		p->sink_open = 1;
		if (p->lit_size > p->limits.stream_max)
			return parser_literal_fail(p, IMAP_PERR_LITERAL_TOO_BIG,
			    "[TOOBIG] Literal too large (limit %llu bytes)",
			    (unsigned long long)p->limits.stream_max);
		p->lit_stream = 1;
		break;
	case IMAP_LITERAL_MEMORY:
	default:
		if (p->lit_size > p->limits.literal_max)
			return parser_literal_fail(p, IMAP_PERR_LITERAL_TOO_BIG,
			    "[TOOBIG] Literal too large (limit %llu bytes)",
			    (unsigned long long)p->limits.literal_max);
		if (p->line_bytes + p->mem_bytes + p->lit_size >
		    p->limits.command_max)
			return parser_literal_fail(p, IMAP_PERR_COMMAND_TOO_BIG,
			    "[TOOBIG] Command too large (limit %zu bytes)",
			    p->limits.command_max);
		p->mem_bytes += p->lit_size;
		p->lit_buf = xmalloc(p->lit_size + 1);
		break;
	}

	p->state = PS_LIT_DATA;
	/* RFC 3501 7.5: a synchronizing literal waits for "+". */
	return p->lit_nonsync ? STEP_NEXT : STEP_CONTINUE;
}

/* Takes up to len bytes of literal data; *usedp gets how many. */
static enum step
parser_literal_data(struct imap_parser *p, const unsigned char *data,
    size_t len, size_t *usedp)
{
	size_t	 n, off;

	n = len < p->lit_left ? len : (size_t)p->lit_left;
	*usedp = n;
	if (p->lit_stream) {
		if (!p->sink_failed && n > 0 &&
		    p->sink.write(p->sink.ctx, data, n) == -1)
			p->sink_failed = 1;
	} else {
		if (!p->lit_literal8 && memchr(data, '\0', n) != NULL) {
			/* RFC 3501 9: CHAR8 excludes NUL. */
			p->lit_left -= n;
			p->skip_left = p->lit_left;
			p->line_ended = 0;
			return parser_fail(p, IMAP_PERR_NUL, 0,
			    "NUL in literal");
		}
		off = p->lit_size - p->lit_left;
		memcpy(p->lit_buf + off, data, n);
	}
	p->lit_left -= n;
	if (p->lit_left == 0)
		return parser_literal_finish(p);
	return STEP_NEXT;
}

static enum step
parser_literal_finish(struct imap_parser *p)
{
	struct imap_arg	 arg;

	memset(&arg, 0, sizeof(arg));
	arg.type = IMAP_ARG_LITERAL;
	arg.len = p->lit_size;
	if (p->lit_nonsync)
		arg.flags |= IMAP_ARG_F_NONSYNC;
	if (p->lit_literal8)
		arg.flags |= IMAP_ARG_F_LITERAL8;
	if (p->lit_stream) {
		arg.flags |= IMAP_ARG_F_STREAMED;
		p->sink_open = 0;
		if (p->sink.done != NULL)
			p->sink.done(p->sink.ctx);
	} else {
		p->lit_buf[p->lit_size] = '\0';
		arg.str = p->lit_buf;
		p->lit_buf = NULL;
	}
	p->state = PS_ARG_END;
	return parser_add_arg(p, &arg);
}

/* ---------------------------------------------------------------- */
/* The byte machine                                                   */
/* ---------------------------------------------------------------- */

/*
 * RFC 3501 9: ATOM-CHAR is any CHAR but atom-specials; we also take
 * list-wildcards ("%" "*", LIST patterns, sequence sets) and "]" (LIST
 * patterns, sections), as Dovecot does.
 */
static int
is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){\"\\", c) == NULL;
}

/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">. */
static int
is_tag_char(unsigned char c)
{
	return is_atom_char(c) && c != '+' && c != '%' && c != '*';
}

static int
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static enum step
parser_byte(struct imap_parser *p, unsigned char c)
{
	struct imap_arg	 arg;

	switch (p->state) {
	case PS_START:
		p->state = p->mode == MODE_LINE ? PS_LINE : PS_TAG;
		return STEP_AGAIN;

	case PS_LINE:
		if (c == '\n') {
			p->line_ended = 1;
			if (p->tok_len > 0 && p->tok[p->tok_len - 1] == '\r')
				p->tok[--p->tok_len] = '\0';
			p->state = PS_DONE;
			return STEP_DONE;
		}
		if (c == '\0')
			return parser_fail(p, IMAP_PERR_NUL, 0, "NUL in line");
		parser_tok_add(p, (char)c);
		return STEP_NEXT;

	case PS_TAG:
		if (is_tag_char(c)) {
			parser_tok_add(p, (char)c);
			return STEP_NEXT;
		}
		if (c == ' ' && p->tok_len > 0) {
			p->tag = parser_tok_take(p);
			p->state = PS_NAME;
			return STEP_NEXT;
		}
		if (c == '\n')
			p->line_ended = 1;
		if ((c == '\n' || c == '\r') && p->tok_len == 0)
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    "Empty command line");
		if (c == '\n' || c == '\r') {
			p->tag = parser_tok_take(p);
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    "Missing command name");
		}
		return parser_fail(p, IMAP_PERR_SYNTAX, 0, "Invalid tag");

	case PS_NAME:
		if (is_name_char(c)) {
			parser_tok_add(p, (char)c);
			return STEP_NEXT;
		}
		if (p->tok_len == 0 || (c != ' ' && c != '\r' && c != '\n')) {
			if (c == '\n')
				p->line_ended = 1;
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    p->tok_len == 0 ? "Missing command name" :
			    "Invalid command name");
		}
		p->name = parser_tok_take(p);
		p->state = PS_ARG_START;
		if (p->frames == NULL) {
			p->nframes = 1;
			p->frames = xcalloc(1, sizeof(*p->frames));
		}
		return c == ' ' ? STEP_NEXT : STEP_AGAIN;

	case PS_ARG_END:
		switch (c) {
		case ' ':
			p->state = PS_ARG_START;
			return STEP_NEXT;
		case ')':
			return parser_close_list(p);
		case '\r':
			p->state = PS_EOL_LF;
			return STEP_NEXT;
		case '\n':
			return parser_end_line(p);
		default:
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    "Missing space after an argument");
		}

	case PS_ARG_START:
		switch (c) {
		case ' ':
			return STEP_NEXT;
		case '(':
			return parser_open_list(p, 0);
		case ')':
			return parser_close_list(p);
		case '"':
			p->state = PS_QUOTED;
			return STEP_NEXT;
		case '{':
			p->lit_literal8 = 0;
			p->state = PS_LIT_OPEN;
			return STEP_NEXT;
		case '~':
			p->state = PS_TILDE;
			return STEP_NEXT;
		case '\r':
			p->state = PS_EOL_LF;
			return STEP_NEXT;
		case '\n':
			return parser_end_line(p);
		case '\\':
			/* RFC 3501 2.3.2: system flags start with "\". */
			parser_tok_add(p, '\\');
			p->state = PS_ATOM;
			return STEP_NEXT;
		case '\0':
			return parser_fail(p, IMAP_PERR_NUL, 0,
			    "NUL in command");
		default:
			if (!is_atom_char(c))
				return parser_fail(p, IMAP_PERR_SYNTAX, 0,
				    (c & 0x80) ? "8-bit data in atom" :
				    "Invalid character in atom");
			p->state = PS_ATOM;
			return STEP_AGAIN;
		}

	case PS_TILDE:
		if (c == '{') {
			/* RFC 3516 4.2: literal8. */
			p->lit_literal8 = 1;
			p->state = PS_LIT_OPEN;
			return STEP_NEXT;
		}
		parser_tok_add(p, '~');
		p->state = PS_ATOM;
		return STEP_AGAIN;

	case PS_ATOM:
		if (c == '[' && p->atom_bracket == 0) {
			p->atom_bracket = 1;
			parser_tok_add(p, (char)c);
			return STEP_NEXT;
		}
		if (c == ']' && p->atom_bracket == 1) {
			p->atom_bracket = 2;
			parser_tok_add(p, (char)c);
			return STEP_NEXT;
		}
		/*
		 * Sections do not nest: BODY[...] holds no BODY[...].  Only
		 * HEADER.FIELDS takes a list (RFC 3501 9 section-msgtext):
		 * any other "[" is an ATOM-CHAR like the rest, as in a
		 * mailbox name "a[b" before " (MESSAGES)".
		 */
		if (c == ' ' && p->atom_bracket == 1 && !p->in_section &&
		    parser_tok_header_fields(p)) {
			p->state = PS_ATOM_BRACKET_SP;
			return STEP_NEXT;
		}
		if (is_atom_char(c)) {
			parser_tok_add(p, (char)c);
			return STEP_NEXT;
		}
		if (c == ' ' || c == '\r' || c == '\n' || c == ')') {
			if (parser_finish_atom(p) == STEP_ERROR)
				return STEP_ERROR;
			return STEP_AGAIN;
		}
		if (c == '\0')
			return parser_fail(p, IMAP_PERR_NUL, 0, "NUL in atom");
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    (c & 0x80) ? "8-bit data in atom" :
		    "Invalid character in atom");

	case PS_ATOM_BRACKET_SP:
		if (c == ' ')
			return STEP_NEXT;
		if (c == '(') {
			/*
			 * RFC 3501 6.4.5: BODY[HEADER.FIELDS (A B)]; the
			 * list becomes part of the atom.
			 */
			p->sect_atom_len = p->tok_len;
			p->sect_atom = parser_tok_take(p);
			return parser_open_list(p, 1);
		}
		/* Blanks ended the atom after all. */
		if (parser_finish_atom(p) == STEP_ERROR)
			return STEP_ERROR;
		p->state = PS_ARG_START;
		return STEP_AGAIN;

	case PS_SECTION_END:
		if (c == ' ')
			return STEP_NEXT;
		if (c != ']') {
			if (c == '\n')
				p->line_ended = 1;
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    "Missing ']' after the section's list");
		}
		free(p->tok);
		p->tok = p->sect_atom;
		p->tok_len = p->sect_atom_len;
		p->tok_cap = p->sect_atom_len + 1;
		p->sect_atom = NULL;
		p->sect_atom_len = 0;
		parser_tok_add(p, ']');
		p->atom_bracket = 2;
		p->state = PS_ATOM;
		return STEP_NEXT;

	case PS_QUOTED:
		switch (c) {
		case '"':
			memset(&arg, 0, sizeof(arg));
			arg.type = IMAP_ARG_STRING;
			arg.len = p->tok_len;
			arg.str = parser_tok_take(p);
			p->state = PS_ARG_END;
			return parser_add_arg(p, &arg);
		case '\\':
			p->state = PS_QUOTED_ESC;
			return STEP_NEXT;
		case '\0':
			return parser_fail(p, IMAP_PERR_NUL, 0,
			    "NUL in quoted string");
		case '\r':
		case '\n':
			if (c == '\n')
				p->line_ended = 1;
			return parser_fail(p, IMAP_PERR_SYNTAX, 0,
			    "Missing '\"' at the end of a quoted string");
		default:
			parser_tok_add(p, (char)c);
			return STEP_NEXT;
		}

	case PS_QUOTED_ESC:
		/* RFC 3501 9: quoted-specials are the only escapes. */
		if (c == '"' || c == '\\') {
			parser_tok_add(p, (char)c);
			p->state = PS_QUOTED;
			return STEP_NEXT;
		}
		if (c == '\n')
			p->line_ended = 1;
		if (c == '\0')
			return parser_fail(p, IMAP_PERR_NUL, 0,
			    "NUL in quoted string");
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "Invalid escape in quoted string");

	case PS_LIT_OPEN:
		if (c >= '0' && c <= '9') {
			p->lit_size = c - '0';
			p->lit_nonsync = 0;
			p->state = PS_LIT_DIGITS;
			return STEP_NEXT;
		}
		if (c == '\n')
			p->line_ended = 1;
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "Invalid literal size");

	case PS_LIT_DIGITS:
		if (c >= '0' && c <= '9') {
			/* RFC 3501 9: number is 32-bit; saturate above. */
			if (p->lit_size <= UINT32_MAX)
				p->lit_size = p->lit_size * 10 + (c - '0');
			return STEP_NEXT;
		}
		if (c == '+') {
			p->lit_nonsync = 1;
			p->state = PS_LIT_PLUS;
			return STEP_NEXT;
		}
		if (c == '}') {
			p->state = PS_LIT_CR;
			return STEP_NEXT;
		}
		if (c == '\n')
			p->line_ended = 1;
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "Invalid literal size");

	case PS_LIT_PLUS:
		if (c == '}') {
			p->state = PS_LIT_CR;
			return STEP_NEXT;
		}
		if (c == '\n')
			p->line_ended = 1;
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "Invalid literal size");

	case PS_LIT_CR:
		if (c == '\r') {
			p->state = PS_LIT_LF;
			return STEP_NEXT;
		}
		if (c == '\n')
			return parser_literal_begin(p);
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "Missing CRLF after the literal's size");

	case PS_LIT_LF:
		if (c == '\n')
			return parser_literal_begin(p);
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "Missing CRLF after the literal's size");

	case PS_EOL_LF:
		if (c == '\n')
			return parser_end_line(p);
		return parser_fail(p, IMAP_PERR_SYNTAX, 0,
		    "CR without LF in command");

	case PS_LIT_DATA:
	case PS_DONE:
	case PS_ERROR:
	case PS_SKIP:
	case PS_SKIP_LITERAL:
		break;
	}
	fatalx("imap parser: byte in state %d", p->state);
}

/*
 * Discards the rest of a failed line.  A "{N+}" at its end announces
 * data the client sends anyway (RFC 7888), which is discarded too; a
 * "{N}" does not, since the client waits for a "+" that never comes.
 */
static enum step
parser_skip_byte(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case '{':
		p->skip_lit = SKIP_LIT_DIGITS;
		p->skip_num = UINT64_MAX;
		return STEP_NEXT;
	case '\r':
		if (p->skip_lit != SKIP_LIT_SYNC &&
		    p->skip_lit != SKIP_LIT_NONSYNC)
			p->skip_lit = SKIP_LIT_NONE;
		return STEP_NEXT;
	case '\n':
		if (p->skip_lit == SKIP_LIT_NONSYNC) {
			p->skip_lit = SKIP_LIT_NONE;
			if (p->skip_num > p->limits.stream_max)
				return parser_fail(p,
				    IMAP_PERR_LITERAL_TOO_BIG, 1,
				    "[TOOBIG] Literal too large to skip "
				    "(limit %llu bytes)",
				    (unsigned long long)p->limits.stream_max);
			p->skip_left = p->skip_num;
			p->state = PS_SKIP_LITERAL;
			return STEP_NEXT;
		}
		p->skip_lit = SKIP_LIT_NONE;
		p->skip_left = 0;
		p->state = PS_START;
		return STEP_NEXT;
	case '+':
		p->skip_lit = p->skip_lit == SKIP_LIT_DIGITS &&
		    p->skip_num != UINT64_MAX ? SKIP_LIT_PLUS : SKIP_LIT_NONE;
		return STEP_NEXT;
	case '}':
		if (p->skip_lit == SKIP_LIT_DIGITS && p->skip_num != UINT64_MAX)
			p->skip_lit = SKIP_LIT_SYNC;
		else if (p->skip_lit == SKIP_LIT_PLUS)
			p->skip_lit = SKIP_LIT_NONSYNC;
		else
			p->skip_lit = SKIP_LIT_NONE;
		return STEP_NEXT;
	default:
		if (c >= '0' && c <= '9' && p->skip_lit == SKIP_LIT_DIGITS) {
			if (p->skip_num == UINT64_MAX)
				p->skip_num = 0;
			/* Saturate: anything above 2^32 is too big anyway. */
			if (p->skip_num <= UINT32_MAX)
				p->skip_num = p->skip_num * 10 + (c - '0');
			return STEP_NEXT;
		}
		p->skip_lit = SKIP_LIT_NONE;
		return STEP_NEXT;
	}
}

/*
 * Runs the machine over the input until a command or line is complete,
 * a literal wants "+", an error happens or the input runs out.
 */
static int
parser_run(struct imap_parser *p, struct evbuffer *in)
{
	const unsigned char	*buf;
	size_t			 got, i, used, n;
	enum step		 r = STEP_NEXT;
	enum parser_state	 before;

	for (;;) {
		if (p->state == PS_ERROR)
			return IMAP_PARSE_ERROR;
		if (p->state == PS_DONE)
			return IMAP_PARSE_DONE;
		/* An empty literal needs no byte to complete. */
		if (p->state == PS_LIT_DATA && p->lit_left == 0) {
			if (parser_literal_finish(p) == STEP_ERROR)
				return IMAP_PARSE_ERROR;
			continue;
		}
		if ((got = evbuffer_get_length(in)) == 0)
			return IMAP_PARSE_NEED_MORE;
		/*
		 * Work on the buffer in place: pulling up a bounded piece
		 * copies only across chain boundaries, so many pipelined
		 * commands in one read cost no more than one.
		 */
		if (got > PARSER_PIECE)
			got = PARSER_PIECE;
		if ((buf = evbuffer_pullup(in, (ev_ssize_t)got)) == NULL)
			fatalx("imap parser: evbuffer_pullup");

		for (i = 0; i < got; ) {
			if (p->state == PS_LIT_DATA) {
				r = parser_literal_data(p, buf + i, got - i,
				    &used);
				i += used;
			} else if (p->state == PS_SKIP_LITERAL) {
				n = got - i;
				if (n > p->skip_left)
					n = (size_t)p->skip_left;
				p->skip_left -= n;
				i += n;
				if (p->skip_left == 0) {
					p->skip_lit = SKIP_LIT_NONE;
					p->state = PS_SKIP;
				}
				r = STEP_NEXT;
			} else if (p->state == PS_SKIP) {
				r = parser_skip_byte(p, buf[i]);
				i++;
			} else if (p->line_bytes >= p->limits.line_max) {
				/*
				 * Checked before taking the byte, so that no
				 * token ever grows past line_max.
				 */
				if (buf[i] == '\n')
					p->line_ended = 1;
				i++;
				r = parser_fail(p, IMAP_PERR_LINE_TOO_LONG, 0,
				    "Line too long (limit %zu bytes)",
				    p->limits.line_max);
			} else {
				before = p->state;
				r = parser_byte(p, buf[i]);
				if (r == STEP_ERROR && buf[i] == '\n' &&
				    before != PS_LIT_CR && before != PS_LIT_LF)
					p->line_ended = 1;
				if (r != STEP_AGAIN) {
					p->line_bytes++;
					i++;
				}
			}
			if (r == STEP_DONE || r == STEP_CONTINUE ||
			    r == STEP_ERROR)
				break;
		}
		if (evbuffer_drain(in, i) == -1)
			fatalx("imap parser: evbuffer_drain");
		switch (r) {
		case STEP_DONE:
			return IMAP_PARSE_DONE;
		case STEP_CONTINUE:
			return IMAP_PARSE_CONTINUE;
		case STEP_ERROR:
			return IMAP_PARSE_ERROR;
		default:
			break;
		}
	}
}

/* Chooses what the next input is read as; mixing them is our bug. */
static void
parser_enter(struct imap_parser *p, enum parser_mode mode)
{
	switch (p->state) {
	case PS_START:
	case PS_SKIP:
	case PS_SKIP_LITERAL:
		p->mode = mode;
		break;
	default:
		if (p->mode != mode)
			fatalx("imap parser: a %s is being read",
			    p->mode == MODE_LINE ? "line" : "command");
		break;
	}
}

int
imap_parser_read(struct imap_parser *p, struct evbuffer *in,
    const struct imap_command **cmd_r, const struct imap_parse_error **error_r)
{
	int	 r;

	parser_enter(p, MODE_COMMAND);
	r = parser_run(p, in);
	*cmd_r = r == IMAP_PARSE_DONE ? &p->cmd : NULL;
	*error_r = r == IMAP_PARSE_ERROR ? &p->err : NULL;
	return r;
}

int
imap_parser_read_line(struct imap_parser *p, struct evbuffer *in,
    const char **line_r, size_t *len_r, const struct imap_parse_error **error_r)
{
	int	 r;

	parser_enter(p, MODE_LINE);
	r = parser_run(p, in);
	*line_r = NULL;
	*len_r = 0;
	if (r == IMAP_PARSE_DONE) {
		*line_r = p->tok != NULL ? p->tok : "";
		*len_r = p->tok_len;
	}
	*error_r = r == IMAP_PARSE_ERROR ? &p->err : NULL;
	return r;
}
