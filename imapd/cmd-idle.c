/*
 * cmd-idle.c: IDLE (RFC 2177): untagged updates go out as they happen
 * (the row's CMD_F_LIVE) until the client's DONE line.
 */
#include "config.h"

#include <stdlib.h>
#include <strings.h>

#include <event2/event.h>

#include "imapd.h"
#include "log.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_idle;
imap_cmd_line_fn cmd_idle_line;

struct idle_state {
	struct imap_session	*s;
	struct event		*poll;
};

static void
idle_poll(evutil_socket_t fd, short what, void *arg)
{
	struct idle_state	*is = arg;

	/* A lost datagram must not leave a client in the dark for long. */
	imap_session_sync(is->s, 1);
	/* Idle for a while: the opened message keys can go. */
	if (is->s->key != NULL)
		vault_seckey_cache_drop(is->s->key);
}

static void
idle_state_free(void *arg)
{
	struct idle_state	*is = arg;

	event_free(is->poll);
	conn_set_timeout(is->s->conn,
	    (int)is->s->imapd->daemon.conf->imap_timeout);
	free(is);
}

enum imap_cmd_status
cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	struct timeval		 tv = { IMAP_IDLE_POLL, 0 };
	struct idle_state	*is;

	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "IDLE takes no arguments");
		return CMD_DONE;
	}
	imap_session_sync(s, 1);
	imap_printf(s, "+ idling\r\n");
	is = xcalloc(1, sizeof(*is));
	is->s = s;
	is->poll = event_new(s->conn->base, -1, EV_PERSIST, idle_poll, is);
	if (is->poll == NULL)
		fatal("event_new");
	s->cmd_state = is;
	s->cmd_state_free = idle_state_free;
	conn_set_timeout(s->conn, (int)s->imapd->daemon.conf->imap_timeout +
	    IMAP_TIMEOUT_IDLE_EXTRA);
	evtimer_add(is->poll, &tv);
	return CMD_LINE;
}

enum imap_cmd_status
cmd_idle_line(struct imap_session *s, const char *line, size_t len)
{
	/* RFC 2177 3: the client ends IDLE with DONE. */
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_tagged(s, "OK", "Idle completed");
	else
		imap_tagged(s, "BAD", "Expected DONE to end IDLE");
	return CMD_DONE;
}
