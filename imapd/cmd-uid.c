/*
 * cmd-uid.c: UID FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE (RFC 3501
 * 6.4.8, RFC 4315, RFC 6851): the same handlers with UIDs for numbers.
 */
#include "config.h"

#include <strings.h>

#include "imapd.h"

static const struct {
	const char	*name;
	enum imap_cmd_status (*fn)(struct imap_session *,
			    const struct imap_command *, int);
} uid_commands[] = {
	{ "FETCH", imap_fetch },
	{ "STORE", imap_store },
	{ "SEARCH", imap_search },
	{ "COPY", imap_copy },
	{ "MOVE", imap_move },
	{ "EXPUNGE", imap_expunge },
};

enum imap_cmd_status
cmd_uid(struct imap_session *s, const struct imap_command *cmd)
{
	const char	*sub;
	size_t		 i;

	if (!imap_arg_get_atom(&cmd->args[0], &sub)) {
		imap_tagged(s, "BAD", "UID takes a command");
		return CMD_DONE;
	}
	for (i = 0; i < sizeof(uid_commands) / sizeof(uid_commands[0]); i++)
		if (strcasecmp(uid_commands[i].name, sub) == 0)
			return uid_commands[i].fn(s, cmd, 1);
	imap_tagged(s, "BAD", "Unknown UID command %s", sub);
	return CMD_DONE;
}
