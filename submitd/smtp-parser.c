/*
 * smtp-parser.c: SMTP/LMTP command lines, bounded and table-driven.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "rfc822-lex.h"
#include "smtp-parser.h"
#include "util.h"
#include "xmalloc.h"

struct smtp_line_reader {
	char	*buf;		/* max + 1 bytes: the last line returned */
	size_t	 size;
	size_t	 scanned;	/* leading octets known to hold no LF */
	int	 skipping;	/* draining an overlong line up to its LF */
};

typedef int (*smtp_parse_fn)(char *, const struct smtp_parse_conf *,
    struct smtp_cmd *, struct smtp_reply *);

/* Row flags beyond the SMTP_VF_* ones the engine sees. */
#define SMTP_DF_NOARGS		0x100	/* RFC 5321: no parameters allowed */
#define SMTP_DF_HTTP		0x200	/* an HTTP method: hang up */
#define SMTP_DF_NEVER		0x400	/* recognised, never offered */

/* The gateway speaks plain SMTP (RFC 5321): HELO and EHLO as submission. */
#define D_SUB	(1U << SMTP_DIALECT_SUBMISSION | 1U << SMTP_DIALECT_GATEWAY)
#define D_LMTP	(1U << SMTP_DIALECT_LMTP)
#define D_ALL	(D_SUB | D_LMTP)

struct smtp_cmd_def {
	const char	*name;
	enum smtp_verb	 verb;
	unsigned int	 dialects;
	unsigned int	 flags;
	smtp_parse_fn	 parse;		/* NULL: no arguments to look at */
};

static int	smtp_parse_hello(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_parse_mail(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_parse_rcpt(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_parse_bdat(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_parse_vrfy(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_parse_optarg(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_parse_auth(char *, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static const struct smtp_cmd_def *smtp_cmd_lookup(const char *);
static int	smtp_path_parse(char **, int, const struct smtp_parse_conf *,
		    struct smtp_cmd *, struct smtp_reply *);
static int	smtp_route_skip(char **);
static char	*smtp_param_next(char **, char **);
static int	smtp_param_check(const char *, const char *);
static int	smtp_xtext_decode(const char *, char *, size_t);

/*
 * RFC 2920 3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP (and HELO,
 * LHLO) may only be the last command of a pipelined group.  STARTTLS (RFC
 * 3207 4.2) and AUTH (RFC 4954 4) end the group, and nothing may follow
 * STARTTLS in the same packet: what does was sent in clear and must not be
 * read as if it had come over TLS.
 */
static const struct smtp_cmd_def smtp_cmds[] = {
	{ .name = "HELO", .verb = SMTP_CMD_HELO, .dialects = D_SUB,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_hello },
	{ .name = "EHLO", .verb = SMTP_CMD_EHLO, .dialects = D_SUB,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_hello },
	{ .name = "LHLO", .verb = SMTP_CMD_LHLO, .dialects = D_LMTP,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_hello },
	{ .name = "MAIL", .verb = SMTP_CMD_MAIL, .dialects = D_ALL,
	  .parse = smtp_parse_mail },
	{ .name = "RCPT", .verb = SMTP_CMD_RCPT, .dialects = D_ALL,
	  .parse = smtp_parse_rcpt },
	{ .name = "DATA", .verb = SMTP_CMD_DATA, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP | SMTP_DF_NOARGS },
	{ .name = "BDAT", .verb = SMTP_CMD_BDAT, .dialects = D_ALL,
	  .parse = smtp_parse_bdat },
	{ .name = "RSET", .verb = SMTP_CMD_RSET, .dialects = D_ALL,
	  .flags = SMTP_DF_NOARGS },
	{ .name = "NOOP", .verb = SMTP_CMD_NOOP, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_optarg },
	{ .name = "QUIT", .verb = SMTP_CMD_QUIT, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP | SMTP_DF_NOARGS },
	{ .name = "VRFY", .verb = SMTP_CMD_VRFY, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_vrfy },
	/* RFC 5321 3.5.2: EXPN may be left out; lists are no business here. */
	{ .name = "EXPN", .verb = SMTP_CMD_EXPN, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP | SMTP_DF_NEVER },
	{ .name = "HELP", .verb = SMTP_CMD_HELP, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_optarg },
	{ .name = "STARTTLS", .verb = SMTP_CMD_STARTTLS, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP | SMTP_VF_BARRIER | SMTP_DF_NOARGS },
	{ .name = "AUTH", .verb = SMTP_CMD_AUTH, .dialects = D_ALL,
	  .flags = SMTP_VF_ENDS_GROUP, .parse = smtp_parse_auth },
	/*
	 * A browser made to post to our port (the cross-protocol attacks of
	 * ALPACA and their elders) sends HTTP; Postfix hangs up on these
	 * verbs, and so do we, before a header line can pass for a command.
	 */
	{ .name = "GET", .flags = SMTP_DF_HTTP, .dialects = D_ALL },
	{ .name = "POST", .flags = SMTP_DF_HTTP, .dialects = D_ALL },
	{ .name = "PUT", .flags = SMTP_DF_HTTP, .dialects = D_ALL },
	{ .name = "HEAD", .flags = SMTP_DF_HTTP, .dialects = D_ALL },
	{ .name = "CONNECT", .flags = SMTP_DF_HTTP, .dialects = D_ALL },
	{ .name = "OPTIONS", .flags = SMTP_DF_HTTP, .dialects = D_ALL },
};

void
smtp_reply_set(struct smtp_reply *reply, int code, const char *enhanced,
    const char *fmt, ...)
{
	va_list	 ap;

	reply->code = code;
	reply->enhanced = enhanced;
	reply->close = 0;
	va_start(ap, fmt);
	vsnprintf(reply->text, sizeof(reply->text), fmt, ap);
	va_end(ap);
}

struct smtp_line_reader *
smtp_line_reader_new(void)
{
	return xcalloc(1, sizeof(struct smtp_line_reader));
}

void
smtp_line_reader_free(struct smtp_line_reader **rp)
{
	if (*rp == NULL)
		return;
	free((*rp)->buf);
	free(*rp);
	*rp = NULL;
}

void
smtp_line_reader_reset(struct smtp_line_reader *r)
{
	r->skipping = 0;
	r->scanned = 0;
}

enum smtp_line_status
smtp_line_read(struct smtp_line_reader *r, struct evbuffer *in, size_t max,
    char **linep, size_t *lenp)
{
	struct evbuffer_ptr	 start, end, lf;
	size_t			 avail, n;

	*linep = NULL;
	*lenp = 0;
	avail = evbuffer_get_length(in);
	if (r->scanned > avail)
		r->scanned = 0;		/* the caller drained the buffer */
	if (avail == 0)
		return SMTP_LINE_MORE;
	if (r->skipping) {
		lf = evbuffer_search(in, "\n", 1, NULL);
		if (lf.pos == -1) {
			evbuffer_drain(in, avail);
			return SMTP_LINE_MORE;
		}
		evbuffer_drain(in, (size_t)lf.pos + 1);
		r->skipping = 0;
		return SMTP_LINE_TOOLONG;
	}
	/*
	 * Look only at the first max bytes: the LF must be among them.  A
	 * line that trickles in is not searched again from its start each
	 * time (that would be quadratic in max).
	 */
	n = avail < max ? avail : max;
	if (r->scanned > n)
		r->scanned = 0;
	if (evbuffer_ptr_set(in, &start, r->scanned, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_ptr_set(in, &end, n, EVBUFFER_PTR_SET) == -1)
		return SMTP_LINE_MORE;
	lf = evbuffer_search_range(in, "\n", 1, &start, &end);
	if (lf.pos == -1) {
		r->scanned = n;
		if (avail < max)
			return SMTP_LINE_MORE;
		r->scanned = 0;
		/* Too long: drop what is here and the rest as it comes. */
		lf = evbuffer_search(in, "\n", 1, NULL);
		if (lf.pos == -1) {
			evbuffer_drain(in, avail);
			r->skipping = 1;
			return SMTP_LINE_MORE;
		}
		evbuffer_drain(in, (size_t)lf.pos + 1);
		return SMTP_LINE_TOOLONG;
	}
	r->scanned = 0;
	n = (size_t)lf.pos + 1;
	if (r->size < max + 1) {
		r->buf = xrealloc(r->buf, max + 1);
		r->size = max + 1;
	}
	if (evbuffer_remove(in, r->buf, n) != (int)n)
		fatalx("smtp_line_read: evbuffer_remove short");
	n--;				/* the LF */
	if (n > 0 && r->buf[n - 1] == '\r')
		n--;
	r->buf[n] = '\0';
	*linep = r->buf;
	*lenp = n;
	return SMTP_LINE_OK;
}

static const struct smtp_cmd_def *
smtp_cmd_lookup(const char *verb)
{
	size_t	 i;

	for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++)
		if (strcasecmp(smtp_cmds[i].name, verb) == 0)
			return &smtp_cmds[i];
	return NULL;
}

const char *
smtp_verb_name(enum smtp_verb verb)
{
	size_t	 i;

	for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++)
		if (smtp_cmds[i].verb == verb && verb != SMTP_CMD_NONE)
			return smtp_cmds[i].name;
	return "?";
}

unsigned int
smtp_verb_flags(enum smtp_verb verb)
{
	size_t	 i;

	for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++)
		if (smtp_cmds[i].verb == verb && verb != SMTP_CMD_NONE)
			return smtp_cmds[i].flags &
			    (SMTP_VF_ENDS_GROUP | SMTP_VF_BARRIER);
	return 0;
}

int
smtp_cmd_parse(char *line, size_t len, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	const struct smtp_cmd_def	*def;
	char				*p, *arg;

	memset(cmd, 0, sizeof(*cmd));
	memset(reply, 0, sizeof(*reply));
	/*
	 * A NUL would cut the line short for every str* function below and
	 * let the tail pass unseen; a bare CR is the start of the smuggling
	 * tricks.  RFC 5321 2.3.8 allows neither in commands.
	 */
	if (memchr(line, '\0', len) != NULL) {
		smtp_reply_set(reply, 500, "5.5.2",
		    "NUL character in command line");
		return -1;
	}
	if (memchr(line, '\r', len) != NULL) {
		smtp_reply_set(reply, 500, "5.5.2",
		    "Bare CR in command line; end lines with CRLF");
		return -1;
	}
	/* Trailing blanks are a common client slip and harmless. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';

	arg = NULL;
	if ((p = strchr(line, ' ')) != NULL) {
		*p++ = '\0';
		arg = p;
	}
	if ((def = smtp_cmd_lookup(line)) == NULL) {
		smtp_reply_set(reply, 500, "5.5.2", "Command not recognised");
		return -1;
	}
	if (def->flags & SMTP_DF_HTTP) {
		smtp_reply_set(reply, 500, "5.5.2",
		    "This is a mail server, not a web server; goodbye");
		reply->close = 1;
		return -1;
	}
	if ((def->dialects & (1U << conf->dialect)) == 0) {
		if (conf->dialect == SMTP_DIALECT_LMTP)
			/* RFC 2033 4.1: LMTP greets with LHLO. */
			smtp_reply_set(reply, 500, "5.5.1",
			    "This is LMTP: greet with LHLO");
		else
			smtp_reply_set(reply, 500, "5.5.2",
			    "Command not recognised");
		return -1;
	}
	cmd->verb = def->verb;
	cmd->name = def->name;
	if (def->flags & SMTP_DF_NEVER) {
		smtp_reply_set(reply, 502, "5.5.1", "%s is not offered",
		    def->name);
		return -1;
	}
	if (arg != NULL) {
		/* "VERB  arg": several blanks are tolerated, like Postfix. */
		while (*arg == ' ')
			arg++;
		if (*arg == '\0')
			arg = NULL;
	}
	if (def->flags & SMTP_DF_NOARGS) {
		if (arg != NULL) {
			smtp_reply_set(reply, 501, "5.5.4",
			    "%s takes no arguments", def->name);
			return -1;
		}
		return 0;
	}
	if (def->parse == NULL)
		return 0;
	return def->parse(arg, conf, cmd, reply);
}

/*
 * RFC 5321 4.1.1.1: "EHLO" SP ( Domain / address-literal ).  Clients send
 * bare host names, names with underscores and literals; we take any one
 * printable token and leave the judging of it to nobody: submission
 * clients authenticate, and LMTP clients are local.
 */
static int
smtp_parse_hello(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	const char	*p;

	if (arg == NULL) {
		smtp_reply_set(reply, 501, "5.5.4",
		    "Syntax: %s <domain or address literal>", cmd->name);
		return -1;
	}
	for (p = arg; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			break;
	if (*p != '\0' || p - arg > SMTP_DOMAIN_MAX) {
		smtp_reply_set(reply, 501, "5.5.4",
		    "Syntax: %s <domain or address literal>", cmd->name);
		return -1;
	}
	cmd->arg = arg;
	return 0;
}

/*
 * RFC 5321 4.1.2: A-d-l = At-domain *( "," At-domain ) ":".  Source routes
 * are obsolete; appendix C says to accept and ignore them.  Returns 0 with
 * *pp past the ':'.
 */
static int
smtp_route_skip(char **pp)
{
	char	*p = *pp;

	for (;;) {
		if (*p++ != '@')
			return -1;
		if (*p == '[') {
			while (*p != '\0' && *p != ']')
				p++;
			if (*p++ != ']')
				return -1;
		} else {
			if (!isalnum((unsigned char)*p))
				return -1;
			while (isalnum((unsigned char)*p) || *p == '-' ||
			    *p == '.')
				p++;
		}
		if (*p == ':')
			break;
		if (*p++ != ',')
			return -1;
	}
	*pp = p + 1;
	return 0;
}

/* RFC 5321 4.1.3: "[" IPv4 "]" or "[IPv6:" IPv6 "]"; lit without "[]". */
static int
smtp_literal_valid(const char *lit, size_t len)
{
	char		 buf[64];
	unsigned char	 a[16];

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, lit, len);
	buf[len] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, a) == 1;
	return inet_pton(AF_INET, buf, a) == 1;
}

/*
 * RFC 5321 4.1.2: Path = "<" [ A-d-l ":" ] Mailbox ">", and "<>" as a
 * reverse path.  Fills cmd->addr, cmd->path and cmd->utf8; leaves *pp
 * after the '>'.  mail selects MAIL's codes (X.1.7, the sender) over
 * RCPT's (X.1.3, the recipient).
 *
 * Submission and LMTP take only what a mailbox here can be: every
 * account and correspondent address in the store is a dot-atom at a
 * domain name, and a quoted local part that needs its quotes would be
 * one mailbox to some systems and another to others.  The gateway
 * relays the home MTA's mail to the whole world, so it takes any
 * Mailbox of RFC 5321 4.1.2 (and of RFC 6531 3.3 after SMTPUTF8) and
 * leaves cmd->addr "" for what has no plain form.
 */
static const char smtp_utf8_needs_param[] =
    "Non-ASCII addresses need MAIL FROM's SMTPUTF8 parameter";

static int
smtp_path_parse(char **pp, int mail, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	const char	*enh = mail ? "5.1.7" : "5.1.3";
	const char	*why;
	char		*p = *pp, *mb, *lit;
	char		 local[ADDR_LOCAL_MAX + 1], dom[SMTP_DOMAIN_MAX + 1];
	char		 full[ADDR_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX + 1];
	size_t		 n;
	int		 gw, utf8_ok, plain = 1, c;

	gw = conf->dialect == SMTP_DIALECT_GATEWAY;
	/* RFC 6531 3.4: UTF-8 only in a transaction that asked for it. */
	utf8_ok = gw && (conf->ext & SMTP_EXT_SMTPUTF8) &&
	    (mail || conf->smtputf8);
	cmd->addr[0] = cmd->path[0] = '\0';
	cmd->utf8 = 0;
	if (*p != '<')
		goto syntax;
	p++;
	if (*p == '>') {
		if (!mail) {
			smtp_reply_set(reply, 501, "5.1.3",
			    "The null path <> is not a recipient");
			return -1;
		}
		*pp = p + 1;
		return 0;
	}
	if (*p == '@' && smtp_route_skip(&p) == -1)
		goto syntax;

	mb = p;
	n = 0;
	if (*p == '"') {
		/* RFC 5321 4.1.2 Quoted-string; RFC 6531 3.3 adds UTF-8. */
		for (p++; *p != '"'; p++) {
			c = (unsigned char)*p;
			if (c == '\\') {
				c = (unsigned char)*++p;
				if (c == '\0')
					goto syntax;
			}
			if (c >= 0x80) {
				if (!utf8_ok)
					goto utf8;
				cmd->utf8 = 1;
			} else if (c < ' ' || c > '~')
				goto syntax;
			if (n >= ADDR_LOCAL_MAX)
				goto toolong;
			local[n++] = (char)c;
		}
		p++;
		local[n] = '\0';
		if (!rfc822_is_dot_atom_text(local, 0)) {
			if (!gw) {
				smtp_reply_set(reply, 553, enh, "Quoted local "
				    "parts are not supported; use an address "
				    "without quotes");
				return -1;
			}
			plain = 0;
		}
	} else {
		for (; *p != '@' && *p != '>' && *p != '\0' && *p != ' '; p++) {
			c = (unsigned char)*p;
			if (c >= 0x80) {
				if (!utf8_ok)
					goto utf8;
				cmd->utf8 = 1;
			}
			if (n >= ADDR_LOCAL_MAX)
				goto toolong;
			local[n++] = (char)c;
		}
		local[n] = '\0';
	}
	if (*p != '@') {
		if (*p == '>') {
			smtp_reply_set(reply, 553, enh,
			    "An address needs a local part, '@' and a domain");
			return -1;
		}
		goto syntax;
	}
	p++;
	if (*p == '[') {
		lit = ++p;
		while (*p != '\0' && *p != ']' && *p != '>')
			p++;
		if (*p != ']' || p[1] != '>')
			goto syntax;
		if (!gw) {
			smtp_reply_set(reply, 553, enh, "Address literals are "
			    "not accepted; use a domain name");
			return -1;
		}
		if (!smtp_literal_valid(lit, (size_t)(p - lit))) {
			smtp_reply_set(reply, 553, enh, "Bad address literal: "
			    "use [IPv4] or [IPv6:address]");
			return -1;
		}
		plain = 0;
		p++;
	} else {
		n = 0;
		for (; *p != '>' && *p != '\0' && *p != ' '; p++) {
			c = (unsigned char)*p;
			if (c >= 0x80) {
				if (!utf8_ok)
					goto utf8;
				cmd->utf8 = 1;
			}
			if (n >= SMTP_DOMAIN_MAX) {
				smtp_reply_set(reply, 553, enh, "The domain is "
				    "longer than %d octets", SMTP_DOMAIN_MAX);
				return -1;
			}
			dom[n++] = (char)c;
		}
		dom[n] = '\0';
	}
	if (*p != '>')
		goto syntax;
	if ((n = (size_t)(p - mb)) > ADDR_MAX) {
		smtp_reply_set(reply, 553, enh, "The address is longer than %d "
		    "octets", ADDR_MAX);
		return -1;
	}
	memcpy(cmd->path, mb, n);
	cmd->path[n] = '\0';
	p++;
	if (cmd->utf8) {
		if (!utf8_is_valid(cmd->path, n)) {
			smtp_reply_set(reply, 553, "5.6.7",
			    "The address is not valid UTF-8");
			return -1;
		}
		plain = 0;
	}
	if (plain) {
		snprintf(full, sizeof(full), "%s@%s", local, dom);
		if (addr_normalize(full, cmd->addr, &why) == -1) {
			smtp_reply_set(reply, 553, enh, "Bad address: %s", why);
			return -1;
		}
	}
	*pp = p;
	return 0;

syntax:
	smtp_reply_set(reply, 501, "5.5.4", "Syntax: %s",
	    mail ? "MAIL FROM:<address>" : "RCPT TO:<address>");
	return -1;
utf8:
	/* RFC 6531 3.4: non-ASCII addresses need SMTPUTF8. */
	smtp_reply_set(reply, 553, "5.6.7", "%s", gw ? smtp_utf8_needs_param :
	    "Non-ASCII addresses are not supported (no SMTPUTF8)");
	return -1;
toolong:
	smtp_reply_set(reply, 553, enh,
	    "The local part is longer than %d octets", ADDR_LOCAL_MAX);
	return -1;
}

/*
 * Cuts the next "keyword[=value]" off *pp (blank-separated).  Returns the
 * keyword, or NULL at the end; the value or NULL in *valp.
 */
static char *
smtp_param_next(char **pp, char **valp)
{
	char	*p = *pp, *kw;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	kw = p;
	*valp = NULL;
	while (*p != '\0' && *p != ' ' && *p != '=')
		p++;
	if (*p == '=') {
		*p++ = '\0';
		*valp = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return kw;
}

/*
 * RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126).
 */
static int
smtp_param_check(const char *kw, const char *val)
{
	const char	*p;

	if (!isalnum((unsigned char)kw[0]))
		return -1;
	for (p = kw; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return -1;
	if (val == NULL)
		return 0;
	if (*val == '\0')
		return -1;
	for (p = val; *p != '\0'; p++)
		if (*p < 33 || *p > 126 || *p == '=')
			return -1;
	return 0;
}

/*
 * RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" two upper-case
 * hex digits.  The decoded value must be printable: it names a mailbox.
 */
static int
smtp_xtext_decode(const char *in, char *out, size_t outmax)
{
	const char	*hex = "0123456789ABCDEF", *hi, *lo;
	size_t		 n = 0;
	int		 c;

	for (; *in != '\0'; in++) {
		c = (unsigned char)*in;
		if (c == '+') {
			if (in[1] == '\0' || in[2] == '\0' ||
			    (hi = strchr(hex, in[1])) == NULL ||
			    (lo = strchr(hex, in[2])) == NULL)
				return -1;
			c = (int)((hi - hex) * 16 + (lo - hex));
			in += 2;
		}
		if (c < ' ' || c > '~' || n >= outmax)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* RFC 5321 4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters] */
static int
smtp_parse_mail(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	char	*p, *kw, *val;
	int	 seen_body = 0;

	if (arg == NULL || strncasecmp(arg, "FROM:", 5) != 0) {
		smtp_reply_set(reply, 501, "5.5.4",
		    "Syntax: MAIL FROM:<address>");
		return -1;
	}
	/* "MAIL FROM: <a@b>" breaks the grammar, but clients send it. */
	p = arg + 5;
	while (*p == ' ')
		p++;
	if (smtp_path_parse(&p, 1, conf, cmd, reply) == -1)
		return -1;
	if (*p != '\0' && *p != ' ') {
		smtp_reply_set(reply, 501, "5.5.4",
		    "Syntax: MAIL FROM:<address> [parameters]");
		return -1;
	}
	while ((kw = smtp_param_next(&p, &val)) != NULL) {
		if (smtp_param_check(kw, val) == -1) {
			smtp_reply_set(reply, 501, "5.5.4",
			    "Malformed MAIL FROM parameter");
			return -1;
		}
		if (strcasecmp(kw, "SIZE") == 0 &&
		    (conf->ext & SMTP_EXT_SIZE)) {
			/* RFC 1870 4: size-value = 1*20DIGIT */
			if (cmd->has_size || val == NULL ||
			    strlen(val) > 20 ||
			    parse_u64(val, UINT64_MAX, &cmd->size) == -1) {
				smtp_reply_set(reply, 501, "5.5.4",
				    "Syntax: SIZE=<octets>, once");
				return -1;
			}
			cmd->has_size = 1;
			/* RFC 1870 6.1: refuse early what cannot fit. */
			if (conf->size_max != 0 && cmd->size > conf->size_max) {
				smtp_reply_set(reply, 552, "5.3.4", "Message "
				    "size exceeds the limit of %llu octets",
				    (unsigned long long)conf->size_max);
				return -1;
			}
		} else if (strcasecmp(kw, "BODY") == 0 &&
		    (conf->ext & SMTP_EXT_8BITMIME)) {
			/* RFC 6152 2 */
			if (seen_body || val == NULL) {
				smtp_reply_set(reply, 501, "5.5.4",
				    "Syntax: BODY=7BIT or BODY=8BITMIME, once");
				return -1;
			}
			seen_body = 1;
			if (strcasecmp(val, "7BIT") == 0)
				cmd->body = SMTP_BODY_7BIT;
			else if (strcasecmp(val, "8BITMIME") == 0)
				cmd->body = SMTP_BODY_8BITMIME;
			else if (strcasecmp(val, "BINARYMIME") == 0) {
				/* RFC 3030 3: needs CHUNKING */
				smtp_reply_set(reply, 555, "5.5.4",
				    "BODY=BINARYMIME is not supported");
				return -1;
			} else {
				smtp_reply_set(reply, 501, "5.5.4",
				    "Syntax: BODY=7BIT or BODY=8BITMIME");
				return -1;
			}
		} else if (strcasecmp(kw, "AUTH") == 0 &&
		    (conf->ext & SMTP_EXT_AUTH)) {
			/* RFC 4954 5: AUTH=<> or AUTH=xtext(mailbox) */
			if (cmd->has_auth || val == NULL ||
			    smtp_xtext_decode(val, cmd->auth,
			    sizeof(cmd->auth) - 1) == -1) {
				smtp_reply_set(reply, 501, "5.5.4",
				    "Syntax: AUTH=<> or AUTH=<xtext mailbox>, "
				    "once");
				return -1;
			}
			cmd->has_auth = 1;
		} else if (strcasecmp(kw, "SMTPUTF8") == 0 &&
		    (conf->ext & SMTP_EXT_SMTPUTF8)) {
			/* RFC 6531 3.4: a keyword without a value. */
			if (cmd->smtputf8 || val != NULL) {
				smtp_reply_set(reply, 501, "5.5.4",
				    "Syntax: SMTPUTF8, once, with no value");
				return -1;
			}
			cmd->smtputf8 = 1;
		} else {
			/* RFC 5321 4.1.1.11 */
			smtp_reply_set(reply, 555, "5.5.4",
			    "MAIL FROM parameter %.64s is not supported", kw);
			return -1;
		}
	}
	if (cmd->utf8 && !cmd->smtputf8) {
		smtp_reply_set(reply, 553, "5.6.7", "%s",
		    smtp_utf8_needs_param);
		return -1;
	}
	return 0;
}

/* RFC 5321 4.1.1.3: "RCPT TO:" Forward-path [SP Rcpt-parameters] */
static int
smtp_parse_rcpt(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	char	*p, *kw, *val;

	if (arg == NULL || strncasecmp(arg, "TO:", 3) != 0) {
		smtp_reply_set(reply, 501, "5.5.4",
		    "Syntax: RCPT TO:<address>");
		return -1;
	}
	p = arg + 3;
	while (*p == ' ')
		p++;
	if (smtp_path_parse(&p, 0, conf, cmd, reply) == -1)
		return -1;
	if (*p != '\0' && *p != ' ') {
		smtp_reply_set(reply, 501, "5.5.4",
		    "Syntax: RCPT TO:<address>");
		return -1;
	}
	/* No RCPT parameters are offered (no DSN, RFC 3461). */
	if ((kw = smtp_param_next(&p, &val)) != NULL) {
		if (smtp_param_check(kw, val) == -1) {
			smtp_reply_set(reply, 501, "5.5.4",
			    "Malformed RCPT TO parameter");
			return -1;
		}
		smtp_reply_set(reply, 555, "5.5.4",
		    "RCPT TO parameter %.64s is not supported", kw);
		return -1;
	}
	return 0;
}

/* RFC 3030 2: "BDAT" SP chunk-size [ SP end-marker ] */
static int
smtp_parse_bdat(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	char	*p, *last = NULL;

	if ((conf->ext & SMTP_EXT_CHUNKING) == 0) {
		/*
		 * The client sends the chunk right behind the command; we
		 * would read its bytes as commands.  Refuse and hang up.
		 */
		smtp_reply_set(reply, 502, "5.5.1",
		    "BDAT is not offered (no CHUNKING); use DATA");
		reply->close = 1;
		return -1;
	}
	if (arg == NULL)
		goto syntax;
	if ((p = strchr(arg, ' ')) != NULL) {
		*p++ = '\0';
		while (*p == ' ')
			p++;
		last = p;
	}
	if (strlen(arg) > 20 || parse_u64(arg, UINT64_MAX,
	    &cmd->chunk_size) == -1)
		goto syntax;
	if (last != NULL) {
		if (strcasecmp(last, "LAST") != 0)
			goto syntax;
		cmd->last = 1;
	}
	return 0;
syntax:
	smtp_reply_set(reply, 501, "5.5.4", "Syntax: BDAT <size> [LAST]");
	reply->close = 1;
	return -1;
}

/* RFC 5321 4.1.1.6: "VRFY" SP String */
static int
smtp_parse_vrfy(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	if (arg == NULL) {
		smtp_reply_set(reply, 501, "5.5.4", "Syntax: VRFY <address>");
		return -1;
	}
	cmd->arg = arg;
	return 0;
}

/* RFC 5321 4.1.1.8, 4.1.1.9: HELP and NOOP take an optional string. */
static int
smtp_parse_optarg(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	cmd->arg = arg;
	return 0;
}

/* RFC 4954 4: "AUTH" SP sasl-mech [SP initial-response] */
static int
smtp_parse_auth(char *arg, const struct smtp_parse_conf *conf,
    struct smtp_cmd *cmd, struct smtp_reply *reply)
{
	char	*p, *ir = NULL;
	size_t	 n;

	if (arg == NULL)
		goto syntax;
	if ((p = strchr(arg, ' ')) != NULL) {
		*p++ = '\0';
		while (*p == ' ')
			p++;
		ir = p;
		if (strchr(ir, ' ') != NULL)
			goto syntax;
	}
	/* RFC 4422 3.1: 1*20 of upper-case letters, digits, '-' and '_'. */
	n = strlen(arg);
	if (n == 0 || n > SMTP_MECH_MAX)
		goto syntax;
	for (p = arg; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			goto syntax;
		*p = (char)toupper((unsigned char)*p);
	}
	memcpy(cmd->mech, arg, n + 1);
	cmd->initial = ir;
	return 0;
syntax:
	smtp_reply_set(reply, 501, "5.5.4",
	    "Syntax: AUTH <mechanism> [initial-response]");
	return -1;
}

int
smtp_sasl_decode(const char *line, size_t len, void *out, size_t outmax,
    size_t *outlenp, struct smtp_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	switch (sasl_response_decode(line, len, out, outmax, outlenp)) {
	case SASL_OK:
		return 0;
	case SASL_CANCELLED:
		/* RFC 4954 4: the client cancels; the reply must be 501. */
		smtp_reply_set(reply, 501, "5.7.0", "Authentication cancelled");
		break;
	case SASL_TOO_LONG:
		smtp_reply_set(reply, 500, "5.5.6",
		    "Authentication exchange line is too long");
		break;
	default:
		smtp_reply_set(reply, 501, "5.5.2",
		    "Cannot decode the base64 response");
		break;
	}
	return -1;
}

int
smtp_sasl_plain_split(const void *msg, size_t len, struct sasl_plain *sp,
    struct smtp_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	switch (sasl_plain_split(msg, len, sp)) {
	case SASL_OK:
		return 0;
	case SASL_MALFORMED:
		smtp_reply_set(reply, 501, "5.5.2",
		    "Malformed PLAIN response (RFC 4616)");
		break;
	default:
		smtp_reply_set(reply, 535, "5.7.8",
		    "Authentication credentials invalid");
		break;
	}
	return -1;
}
