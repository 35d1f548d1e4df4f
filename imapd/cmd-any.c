/*
 * cmd-any.c: the commands of any state (RFC 3501 6.1) and ID (RFC 2971).
 */
#include "config.h"

#include <string.h>

#include "imapd.h"
#include "log.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_capability, cmd_noop, cmd_logout, cmd_id;

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

enum imap_cmd_status
cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg	*list;
	const char		*name, *value;
	size_t			 n, i;

	/* RFC 2971 3.3: NIL or a list of at most 30 field-value pairs. */
	if (cmd->nargs != 1 || (cmd->args[0].type != IMAP_ARG_NIL &&
	    !imap_arg_get_list(&cmd->args[0], &list, &n))) {
		imap_tagged(s, "BAD", "ID takes NIL or a parenthesised list");
		return CMD_DONE;
	}
	if (cmd->args[0].type == IMAP_ARG_LIST) {
		if (n % 2 != 0 || n > 60) {
			imap_tagged(s, "BAD", "ID takes at most 30 field-value "
			    "pairs");
			return CMD_DONE;
		}
		for (i = 0; i < n; i += 2) {
			if (!imap_arg_get_string(&list[i], &name) ||
			    !imap_arg_get_nstring(&list[i + 1], &value)) {
				imap_tagged(s, "BAD", "ID fields are strings");
				return CMD_DONE;
			}
			if (strlen(name) <= 30 && (value == NULL ||
			    strlen(value) <= 1024))
				log_debug("%s: ID %s=%s", s->conn->peer, name,
				    value != NULL ? value : "NIL");
		}
	}
	imap_printf(s, "* ID (\"name\" \"guestbox\" \"version\" \"%s\")\r\n",
	    PACKAGE_VERSION);
	imap_tagged(s, "OK", "ID completed");
	return CMD_DONE;
}
