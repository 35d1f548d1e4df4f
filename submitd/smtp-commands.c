/*
 * smtp-commands.c: the command table: which verbs are allowed in which
 * states, and their handlers.
 */
#include "config.h"

#include "submitd.h"

#define ST_ANYTIME	(ST(S_GREETED) | ST(S_READY) | ST(S_MAIL) | ST(S_RCPT))
#define ST_SESSION	(ST(S_READY) | ST(S_MAIL) | ST(S_RCPT))

static const struct smtp_cmd_def smtp_commands[] = {
	{ .verb = SMTP_CMD_EHLO, .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_HELO, .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_LHLO, .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_STARTTLS, .states = ST(S_READY), .handler = cmd_starttls },
	{ .verb = SMTP_CMD_AUTH, .states = ST(S_READY), .handler = cmd_auth },
	{ .verb = SMTP_CMD_MAIL, .states = ST(S_READY), .handler = cmd_mail },
	{ .verb = SMTP_CMD_RCPT, .states = ST(S_MAIL) | ST(S_RCPT), .handler = cmd_rcpt },
	{ .verb = SMTP_CMD_DATA, .states = ST(S_RCPT), .handler = cmd_data },
	{ .verb = SMTP_CMD_RSET, .states = ST_ANYTIME, .handler = cmd_rset },
	{ .verb = SMTP_CMD_NOOP, .states = ST_ANYTIME, .handler = cmd_noop },
	{ .verb = SMTP_CMD_QUIT, .states = ST_ANYTIME, .handler = cmd_quit },
	{ .verb = SMTP_CMD_VRFY, .states = ST_ANYTIME, .handler = cmd_vrfy },
	{ .verb = SMTP_CMD_HELP, .states = ST_ANYTIME, .handler = cmd_help },
};

const struct smtp_cmd_def *
smtp_command_find(enum smtp_verb verb)
{
	size_t	 i;

	for (i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++)
		if (smtp_commands[i].verb == verb)
			return &smtp_commands[i];
	return NULL;
}
