/*
 * cmd-compress.c: COMPRESS DEFLATE (RFC 4978).  Thunderbird, K-9 and
 * mbsync turn it on when offered; it saves a phone most of the bytes of
 * a header download.  The compression itself is daemon/conn.c's.
 */
#include "config.h"

#include <strings.h>

#include "imapd.h"
#include "log.h"

/* Its row's handler (imap-commands.c). */
imap_cmd_fn	cmd_compress;

enum imap_cmd_status
cmd_compress(struct imap_session *s, const struct imap_command *cmd)
{
	const char	*mech;

	if (cmd->nargs != 1 || !imap_arg_get_atom(&cmd->args[0], &mech)) {
		imap_tagged(s, "BAD", "COMPRESS takes a mechanism: DEFLATE");
		return CMD_DONE;
	}
	/* RFC 4978 3: an unknown mechanism is BAD. */
	if (strcasecmp(mech, "DEFLATE") != 0) {
		imap_tagged(s, "BAD", "Unknown compression mechanism; "
		    "DEFLATE is offered");
		return CMD_DONE;
	}
	/* RFC 4978 4: only once per connection. */
	if (s->conn->zlib != NULL) {
		imap_tagged(s, "NO", "[COMPRESSIONACTIVE] DEFLATE is active "
		    "already");
		return CMD_DONE;
	}
	/*
	 * RFC 4978 3: the client starts compressing once it has our OK, so
	 * nothing may follow the command unanswered: bytes already here
	 * would be read as compressed.  Refuse, as STARTTLS does.
	 */
	if (imap_parser_input_pending(s->parser, conn_in(s->conn))) {
		imap_tagged(s, "BAD", "Data after COMPRESS; closing");
		imap_session_enter_state(s, S_LOGOUT);
		return CMD_DONE;
	}
	imap_tagged(s, "OK", "DEFLATE active");
	if (conn_compress(s->conn) == -1) {
		log_warnx("%s: cannot start COMPRESS", s->conn->peer);
		imap_session_enter_state(s, S_LOGOUT);
	}
	return CMD_DONE;
}
