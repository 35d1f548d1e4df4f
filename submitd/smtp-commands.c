/*
 * smtp-commands.c: the two protocols of the listening side, each a
 * command table of the same row shape (which verbs are allowed in which
 * states, and their handlers) and what the session core does differently
 * for it.  A verb a protocol has no row for is not implemented there.
 */
#include "config.h"

#include "submitd.h"

#define ST_ANYTIME	(ST(S_GREETED) | ST(S_READY) | ST(S_MAIL) | ST(S_RCPT))

/* Submission (RFC 6409): authenticated senders, OpenPGP recipients. */
static const struct smtp_cmd_def submission_commands[] = {
	{ .verb = SMTP_CMD_EHLO, .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_HELO, .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_STARTTLS, .states = ST(S_READY), .handler = cmd_starttls },
	{ .verb = SMTP_CMD_AUTH, .states = ST(S_READY), .handler = cmd_auth },
	{ .verb = SMTP_CMD_MAIL, .states = ST(S_READY), .handler = cmd_mail_submission },
	{ .verb = SMTP_CMD_RCPT, .states = ST(S_MAIL) | ST(S_RCPT), .handler = cmd_rcpt },
	{ .verb = SMTP_CMD_DATA, .states = ST(S_RCPT), .handler = cmd_data },
	{ .verb = SMTP_CMD_RSET, .states = ST_ANYTIME, .handler = cmd_rset },
	{ .verb = SMTP_CMD_NOOP, .states = ST_ANYTIME, .handler = cmd_noop },
	{ .verb = SMTP_CMD_QUIT, .states = ST_ANYTIME, .handler = cmd_quit },
	{ .verb = SMTP_CMD_VRFY, .states = ST_ANYTIME, .handler = cmd_vrfy },
	{ .verb = SMTP_CMD_HELP, .states = ST_ANYTIME, .handler = cmd_help },
};

/* LMTP (RFC 2033): local delivery into mailboxes; no AUTH, no TLS. */
static const struct smtp_cmd_def lmtp_commands[] = {
	{ .verb = SMTP_CMD_LHLO, .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_STARTTLS, .states = ST(S_READY), .handler = cmd_starttls },
	{ .verb = SMTP_CMD_MAIL, .states = ST(S_READY), .handler = cmd_mail },
	{ .verb = SMTP_CMD_RCPT, .states = ST(S_MAIL) | ST(S_RCPT), .handler = cmd_rcpt_lmtp },
	{ .verb = SMTP_CMD_DATA, .states = ST(S_RCPT), .handler = cmd_data },
	{ .verb = SMTP_CMD_RSET, .states = ST_ANYTIME, .handler = cmd_rset },
	{ .verb = SMTP_CMD_NOOP, .states = ST_ANYTIME, .handler = cmd_noop },
	{ .verb = SMTP_CMD_QUIT, .states = ST_ANYTIME, .handler = cmd_quit },
	{ .verb = SMTP_CMD_VRFY, .states = ST_ANYTIME, .handler = cmd_vrfy },
	{ .verb = SMTP_CMD_HELP, .states = ST_ANYTIME, .handler = cmd_help },
};

#define SMTP_EXT_BASE	(SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | \
			SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCEDSTATUSCODES)

static const struct smtp_protocol smtp_protocols[] = {
	[SMTP_DIALECT_SUBMISSION] = {
		.name = "ESMTP",
		.hello = "EHLO",
		.commands = submission_commands,
		.ncommands = sizeof(submission_commands) /
		    sizeof(submission_commands[0]),
		/* RFC 8314, SPEC: STARTTLS, then AUTH. */
		.ext = SMTP_EXT_BASE | SMTP_EXT_STARTTLS | SMTP_EXT_AUTH,
		.message = submit_message,
	},
	[SMTP_DIALECT_LMTP] = {
		.name = "LMTP",
		.hello = "LHLO",
		.commands = lmtp_commands,
		.ncommands = sizeof(lmtp_commands) / sizeof(lmtp_commands[0]),
		.ext = SMTP_EXT_BASE,
		.message = lmtp_deliver,
		/* RFC 2033 4.2: one reply per recipient after DATA. */
		.reply_per_rcpt = 1,
	},
};

const struct smtp_protocol *
smtp_protocol_get(enum smtp_dialect dialect)
{
	return &smtp_protocols[dialect];
}

const struct smtp_cmd_def *
smtp_command_find(const struct smtp_protocol *p, enum smtp_verb verb)
{
	size_t	 i;

	for (i = 0; i < p->ncommands; i++)
		if (p->commands[i].verb == verb)
			return &p->commands[i];
	return NULL;
}
