/*
 * imap-commands.c: the command table.  A new command is a new row here
 * and a handler in the cmd-*.c file of its family.
 */
#include "config.h"

#include <strings.h>

#include "imapd.h"

static const struct imap_cmd_def imap_commands[] = {
	/* Any state (RFC 3501 6.1) */
	{ .name = "CAPABILITY", .states = ST_ANY, .handler = cmd_capability },
	{ .name = "NOOP", .states = ST_ANY, .handler = cmd_noop },
	{ .name = "LOGOUT", .states = ST_ANY, .handler = cmd_logout },
	{ .name = "ID", .states = ST_ANY, .handler = cmd_id },			/* RFC 2971 */
	/* Not authenticated (RFC 3501 6.2) */
	{ .name = "STARTTLS", .states = ST_NOTAUTH, .handler = cmd_starttls },
	{ .name = "LOGIN", .states = ST_NOTAUTH, .handler = cmd_login },
	{ .name = "AUTHENTICATE", .states = ST_NOTAUTH, .handler = cmd_authenticate },
	/* Authenticated (RFC 3501 6.3) */
	{ .name = "ENABLE", .states = ST_LOGGEDIN, .handler = cmd_enable },	/* RFC 5161 */
	{ .name = "NAMESPACE", .states = ST_LOGGEDIN, .handler = cmd_namespace }, /* RFC 2342 */
	{ .name = "SELECT", .states = ST_LOGGEDIN, .handler = cmd_select },
	{ .name = "EXAMINE", .states = ST_LOGGEDIN, .handler = cmd_select },
	{ .name = "CREATE", .states = ST_LOGGEDIN, .handler = cmd_create },
	{ .name = "DELETE", .states = ST_LOGGEDIN, .handler = cmd_delete },
	{ .name = "RENAME", .states = ST_LOGGEDIN, .handler = cmd_rename },
	{ .name = "SUBSCRIBE", .states = ST_LOGGEDIN, .handler = cmd_subscribe },
	{ .name = "UNSUBSCRIBE", .states = ST_LOGGEDIN, .handler = cmd_unsubscribe },
	{ .name = "LIST", .states = ST_LOGGEDIN, .handler = cmd_list },
	{ .name = "LSUB", .states = ST_LOGGEDIN, .handler = cmd_lsub },
	{ .name = "STATUS", .states = ST_LOGGEDIN, .handler = cmd_status },
	{ .name = "APPEND", .states = ST_LOGGEDIN, .handler = cmd_append },
	{ .name = "IDLE", .states = ST_LOGGEDIN, .handler = cmd_idle },		/* RFC 2177 */
	/* Selected (RFC 3501 6.4) */
	{ .name = "CHECK", .states = ST_SELECTED, .handler = cmd_check },
	{ .name = "CLOSE", .states = ST_SELECTED, .handler = cmd_close },
	{ .name = "UNSELECT", .states = ST_SELECTED, .handler = cmd_unselect },	/* RFC 3691 */
	{ .name = "EXPUNGE", .states = ST_SELECTED, .handler = cmd_expunge },
	{ .name = "SEARCH", .states = ST_SELECTED, .flags = CMD_F_NO_EXPUNGE,
	    .handler = cmd_search },
	{ .name = "FETCH", .states = ST_SELECTED, .flags = CMD_F_NO_EXPUNGE,
	    .handler = cmd_fetch },
	{ .name = "STORE", .states = ST_SELECTED, .flags = CMD_F_NO_EXPUNGE,
	    .handler = cmd_store },
	{ .name = "COPY", .states = ST_SELECTED, .flags = CMD_F_NO_EXPUNGE,
	    .handler = cmd_copy },
	{ .name = "MOVE", .states = ST_SELECTED, .handler = cmd_move },		/* RFC 6851 */
	{ .name = "UID", .states = ST_SELECTED, .handler = cmd_uid },
};

const struct imap_cmd_def *
imap_command_find(const char *name)
{
	size_t	 i;

	/* Exact names, case-insensitive (RFC 3501 9), never prefixes. */
	for (i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++)
		if (strcasecmp(imap_commands[i].name, name) == 0)
			return &imap_commands[i];
	return NULL;
}
