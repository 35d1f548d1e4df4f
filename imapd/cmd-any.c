/*
 * cmd-any.c: the commands of any state (RFC 3501 6.1).
 */
#include "config.h"

#include "imapd.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_capability, cmd_noop, cmd_logout;

enum imap_cmd_status
cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "CAPABILITY takes no arguments");
		return CMD_DONE;
	}
	imap_printf(s, "* CAPABILITY %s\r\n", imap_capabilities(s));
	imap_tagged(s, "OK", "Capability completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "NOOP takes no arguments");
		return CMD_DONE;
	}
	/* RFC 3501 6.1.2: the poll; imap_tagged() reports the updates. */
	imap_tagged(s, "OK", "NOOP completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "LOGOUT takes no arguments");
		return CMD_DONE;
	}
	imap_printf(s, "* BYE Logging out\r\n");
	/* RFC 3501 6.1.3: no untagged updates after BYE. */
	imap_session_enter_state(s, S_LOGOUT);
	imap_tagged(s, "OK", "Logout completed");
	return CMD_DONE;
}
