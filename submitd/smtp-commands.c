/*
 * smtp-commands.c: the command table of the two protocols of the
 * listening side (for which protocols a verb is, in which states it is
 * allowed, its handler), and what the session core does differently for
 * each.  A verb a protocol has no row for is not implemented there.
 */
#include "config.h"

#include "submitd.h"

#define ST_ANYTIME	(ST(S_GREETED) | ST(S_READY) | ST(S_MAIL) | ST(S_RCPT))

/* The protocols a row is for. */
#define P_SUB		(1U << SMTP_DIALECT_SUBMISSION)
#define P_LMTP		(1U << SMTP_DIALECT_LMTP)
#define P_GW		(1U << SMTP_DIALECT_GATEWAY)
#define P_ALL		(P_SUB | P_LMTP | P_GW)

/*
 * Submission (RFC 6409): authenticated senders, OpenPGP recipients;
 * LMTP (RFC 2033): local delivery into mailboxes, no AUTH; the gateway
 * (RFC 5321, after-queue content filter of the home MTA, on loopback):
 * no AUTH, no STARTTLS, every envelope taken.  A verb that differs has a
 * row per protocol.
 */
static const struct smtp_cmd_def smtp_commands[] = {
	{ .verb = SMTP_CMD_EHLO, .protocols = P_SUB | P_GW,
	    .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_HELO, .protocols = P_SUB | P_GW,
	    .states = ST_ANYTIME, .handler = cmd_hello },
	{ .verb = SMTP_CMD_LHLO, .protocols = P_LMTP, .states = ST_ANYTIME,
	    .handler = cmd_hello },
	{ .verb = SMTP_CMD_STARTTLS, .protocols = P_SUB | P_LMTP,
	    .states = ST(S_READY), .handler = cmd_starttls },
	{ .verb = SMTP_CMD_AUTH, .protocols = P_SUB, .states = ST(S_READY),
	    .handler = cmd_auth },
	{ .verb = SMTP_CMD_MAIL, .protocols = P_SUB, .states = ST(S_READY),
	    .handler = cmd_mail_submission },
	{ .verb = SMTP_CMD_MAIL, .protocols = P_LMTP | P_GW,
	    .states = ST(S_READY), .handler = cmd_mail },
	{ .verb = SMTP_CMD_RCPT, .protocols = P_SUB,
	    .states = ST(S_MAIL) | ST(S_RCPT), .handler = cmd_rcpt },
	{ .verb = SMTP_CMD_RCPT, .protocols = P_LMTP,
	    .states = ST(S_MAIL) | ST(S_RCPT), .handler = cmd_rcpt_lmtp },
	{ .verb = SMTP_CMD_RCPT, .protocols = P_GW,
	    .states = ST(S_MAIL) | ST(S_RCPT), .handler = cmd_rcpt_gateway },
	{ .verb = SMTP_CMD_DATA, .protocols = P_ALL, .states = ST(S_RCPT),
	    .handler = cmd_data },
	{ .verb = SMTP_CMD_RSET, .protocols = P_ALL, .states = ST_ANYTIME,
	    .handler = cmd_rset },
	{ .verb = SMTP_CMD_NOOP, .protocols = P_ALL, .states = ST_ANYTIME,
	    .handler = cmd_noop },
	{ .verb = SMTP_CMD_QUIT, .protocols = P_ALL, .states = ST_ANYTIME,
	    .handler = cmd_quit },
	{ .verb = SMTP_CMD_VRFY, .protocols = P_ALL, .states = ST_ANYTIME,
	    .handler = cmd_vrfy },
	{ .verb = SMTP_CMD_HELP, .protocols = P_ALL, .states = ST_ANYTIME,
	    .handler = cmd_help },
};

#define SMTP_EXT_BASE	(SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | \
			SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCEDSTATUSCODES)

static const struct smtp_protocol smtp_protocols[] = {
	[SMTP_DIALECT_SUBMISSION] = {
		.name = "ESMTP",
		.hello = "EHLO",
		.dialect = SMTP_DIALECT_SUBMISSION,
		/* RFC 8314, SPEC: STARTTLS, then AUTH. */
		.ext = SMTP_EXT_BASE | SMTP_EXT_STARTTLS | SMTP_EXT_AUTH,
		.message = submit_message,
	},
	[SMTP_DIALECT_LMTP] = {
		.name = "LMTP",
		.hello = "LHLO",
		.dialect = SMTP_DIALECT_LMTP,
		.ext = SMTP_EXT_BASE,
		.message = lmtp_deliver,
		/* RFC 2033 4.2: one reply per recipient after DATA. */
		.reply_per_rcpt = 1,
	},
	[SMTP_DIALECT_GATEWAY] = {
		.name = "ESMTP",
		.hello = "EHLO",
		.dialect = SMTP_DIALECT_GATEWAY,
		/*
		 * RFC 6531: the home MTA bounces what needs SMTPUTF8 when
		 * its content filter does not offer it.
		 */
		.ext = SMTP_EXT_BASE | SMTP_EXT_SMTPUTF8,
		.message = gateway_message,
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

	for (i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++)
		if (smtp_commands[i].verb == verb &&
		    (smtp_commands[i].protocols & (1U << p->dialect)))
			return &smtp_commands[i];
	return NULL;
}
