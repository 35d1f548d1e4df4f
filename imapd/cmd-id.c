/*
 * cmd-id.c: ID (RFC 2971): the client says who it is, in any state, and
 * the server answers the same.  What the client sends is only logged.
 */
#include "config.h"

#include <string.h>

#include "imapd.h"
#include "log.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_id;

/* RFC 2971 3.3: the limits a client must keep to. */
#define ID_PAIRS_MAX	30
#define ID_FIELD_MAX	30
#define ID_VALUE_MAX	1024

enum imap_cmd_status
cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg	*list;
	const char		*name, *value;
	size_t			 n, i;

	/* RFC 2971 3.1: NIL or a parenthesised list of field-value pairs. */
	if (cmd->nargs != 1 || (cmd->args[0].type != IMAP_ARG_NIL &&
	    !imap_arg_get_list(&cmd->args[0], &list, &n))) {
		imap_tagged(s, "BAD", "ID takes NIL or a parenthesised list");
		return CMD_DONE;
	}
	if (cmd->args[0].type == IMAP_ARG_LIST) {
		if (n % 2 != 0 || n > 2 * ID_PAIRS_MAX) {
			imap_tagged(s, "BAD", "ID takes at most %d field-value "
			    "pairs", ID_PAIRS_MAX);
			return CMD_DONE;
		}
		for (i = 0; i < n; i += 2) {
			if (!imap_arg_get_string(&list[i], &name) ||
			    !imap_arg_get_nstring(&list[i + 1], &value)) {
				imap_tagged(s, "BAD", "ID fields are strings");
				return CMD_DONE;
			}
			/* RFC 2971 3.3; issue 17: beyond them is BAD. */
			if (strlen(name) > ID_FIELD_MAX || (value != NULL &&
			    strlen(value) > ID_VALUE_MAX)) {
				imap_tagged(s, "BAD", "ID fields take at most "
				    "%d octets, values %d", ID_FIELD_MAX,
				    ID_VALUE_MAX);
				return CMD_DONE;
			}
		}
		for (i = 0; i < n; i += 2) {
			imap_arg_get_string(&list[i], &name);
			imap_arg_get_nstring(&list[i + 1], &value);
			log_debug("%s: ID %s=%s", s->conn->peer, name,
			    value != NULL ? value : "NIL");
		}
	}
	imap_printf(s, "* ID (\"name\" \"guestbox\" \"version\" \"%s\")\r\n",
	    PACKAGE_VERSION);
	imap_tagged(s, "OK", "ID completed");
	return CMD_DONE;
}
