/*
 * imap-commands.c: the command table.  A row says everything the session
 * core needs to know of a command: where it is allowed, its flags (its
 * UID form among them), its handler and continuation hooks, and the
 * words it adds to CAPABILITY.  A new command is a new cmd-*.c file,
 * one row here (with its handler's declaration above the table) and its
 * line in Makefile.am.
 */
#include "config.h"

#include <stdlib.h>
#include <strings.h>

#include "imapd.h"
#include "xmalloc.h"

/*
 * The rows' handlers and hooks, by the file that holds them; each file
 * declares its own with the same types (imapd.h).
 */
/* cmd-any.c */
imap_cmd_fn	cmd_capability, cmd_noop, cmd_logout;
/* cmd-id.c */
imap_cmd_fn	cmd_id;
/* cmd-login.c */
imap_cmd_fn	cmd_starttls, cmd_login, cmd_authenticate;
imap_cmd_line_fn cmd_authenticate_line;
/* cmd-list.c */
imap_cmd_fn	cmd_enable, cmd_namespace, cmd_list, cmd_lsub;
/* cmd-select.c */
imap_cmd_fn	cmd_select, cmd_close, cmd_unselect;
/* cmd-compress.c */
imap_cmd_fn	cmd_compress;
/* cmd-idle.c */
imap_cmd_fn	cmd_idle;
imap_cmd_line_fn cmd_idle_line;
/* cmd-mailbox.c */
imap_cmd_fn	cmd_create, cmd_delete, cmd_rename, cmd_subscribe,
		cmd_unsubscribe;
/* cmd-status.c */
imap_cmd_fn	cmd_status;
/* cmd-append.c */
imap_cmd_fn	cmd_append;
imap_cmd_literal_fn cmd_append_literal;
/* cmd-quota.c */
imap_cmd_fn	cmd_getquotaroot, cmd_getquota, cmd_setquota;
/* cmd-sort.c, cmd-thread.c */
imap_cmd_fn	cmd_sort, cmd_thread;
/* cmd-expunge.c, cmd-fetch.c, cmd-store.c, cmd-search.c, cmd-copy.c */
imap_cmd_fn	cmd_expunge, cmd_fetch, cmd_store, cmd_search, cmd_copy,
		cmd_move;

static const struct imap_cmd_def imap_commands[] = {
	/* Any state (RFC 3501 6.1); IMAP4rev1 leads CAPABILITY (7.2.1). */
	/* RFC 7888 3: LITERAL- before login, LITERAL+ after, never both. */
	{ .name = "CAPABILITY", .states = ST_ANY, .handler = cmd_capability,
	    .capa = { { "IMAP4rev1", CAPA_ANY },
		{ "LITERAL-", CAPA_PLAIN | CAPA_TLS },
		{ "LITERAL+", CAPA_LOGGEDIN } } },
	{ .name = "NOOP", .states = ST_ANY, .handler = cmd_noop },
	{ .name = "LOGOUT", .states = ST_ANY, .handler = cmd_logout },
	/* RFC 2971 */
	{ .name = "ID", .states = ST_ANY, .handler = cmd_id,
	    .capa = { { "ID", CAPA_ANY } } },
	/* Not authenticated (RFC 3501 6.2) */
	{ .name = "STARTTLS", .states = ST_NOTAUTH, .handler = cmd_starttls,
	    .capa = { { "STARTTLS", CAPA_PLAIN } } },
	{ .name = "LOGIN", .states = ST_NOTAUTH, .handler = cmd_login,
	    .capa = { { "LOGINDISABLED", CAPA_PLAIN } } },	/* RFC 8314 */
	{ .name = "AUTHENTICATE", .states = ST_NOTAUTH,
	    .handler = cmd_authenticate, .line = cmd_authenticate_line,
	    .capa = { { "SASL-IR", CAPA_ANY },			/* RFC 4959 */
		{ "AUTH=PLAIN", CAPA_TLS } } },			/* RFC 4616 */
	/* Authenticated (RFC 3501 6.3) */
	/* RFC 5161, RFC 7162 */
	{ .name = "ENABLE", .states = ST_LOGGEDIN, .handler = cmd_enable,
	    .capa = { { "ENABLE", CAPA_ANY },
		{ "CONDSTORE QRESYNC", CAPA_LOGGEDIN } } },
	/* RFC 4978 */
	{ .name = "COMPRESS", .states = ST_LOGGEDIN, .handler = cmd_compress,
	    .capa = { { "COMPRESS=DEFLATE", CAPA_LOGGEDIN } } },
	/* RFC 2177 */
	{ .name = "IDLE", .states = ST_LOGGEDIN, .flags = CMD_F_LIVE,
	    .handler = cmd_idle, .line = cmd_idle_line,
	    .capa = { { "IDLE", CAPA_ANY } } },
	/* RFC 2342 */
	{ .name = "NAMESPACE", .states = ST_LOGGEDIN, .handler = cmd_namespace,
	    .capa = { { "NAMESPACE", CAPA_LOGGEDIN } } },
	{ .name = "SELECT", .states = ST_LOGGEDIN, .handler = cmd_select },
	{ .name = "EXAMINE", .states = ST_LOGGEDIN, .handler = cmd_select },
	{ .name = "CREATE", .states = ST_LOGGEDIN, .handler = cmd_create },
	{ .name = "DELETE", .states = ST_LOGGEDIN, .handler = cmd_delete },
	{ .name = "RENAME", .states = ST_LOGGEDIN, .handler = cmd_rename },
	{ .name = "SUBSCRIBE", .states = ST_LOGGEDIN, .handler = cmd_subscribe },
	{ .name = "UNSUBSCRIBE", .states = ST_LOGGEDIN,
	    .handler = cmd_unsubscribe },
	/* RFC 3348, RFC 6154, RFC 5258, RFC 5819 */
	{ .name = "LIST", .states = ST_LOGGEDIN, .handler = cmd_list,
	    .capa = { { "CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS",
		CAPA_LOGGEDIN } } },
	{ .name = "LSUB", .states = ST_LOGGEDIN, .handler = cmd_lsub },
	{ .name = "STATUS", .states = ST_LOGGEDIN, .handler = cmd_status,
	    .capa = { { "STATUS=SIZE", CAPA_LOGGEDIN } } },	/* RFC 8438 */
	/* RFC 9208: one root over the account, STORAGE only, set by the admin. */
	{ .name = "GETQUOTAROOT", .states = ST_LOGGEDIN,
	    .handler = cmd_getquotaroot,
	    .capa = { { "QUOTA QUOTA=RES-STORAGE", CAPA_LOGGEDIN } } },
	{ .name = "GETQUOTA", .states = ST_LOGGEDIN, .handler = cmd_getquota },
	{ .name = "SETQUOTA", .states = ST_LOGGEDIN, .handler = cmd_setquota },
	{ .name = "APPEND", .states = ST_LOGGEDIN, .flags = CMD_F_CAPA_LIMIT,
	    .handler = cmd_append, .literal = cmd_append_literal,
	    .capa = { { "APPENDLIMIT", CAPA_LOGGEDIN },	/* RFC 7889 */
		{ "MULTIAPPEND", CAPA_LOGGEDIN } } },		/* RFC 3502 */
	/* Selected (RFC 3501 6.4) */
	/* Every change is committed already: CHECK is a NOOP here. */
	{ .name = "CHECK", .states = ST_SELECTED, .handler = cmd_noop },
	{ .name = "CLOSE", .states = ST_SELECTED, .handler = cmd_close },
	/* RFC 3691 */
	{ .name = "UNSELECT", .states = ST_SELECTED, .handler = cmd_unselect,
	    .capa = { { "UNSELECT", CAPA_LOGGEDIN } } },
	/* RFC 4315 */
	{ .name = "EXPUNGE", .states = ST_SELECTED, .flags = CMD_F_UID,
	    .handler = cmd_expunge,
	    .capa = { { "UIDPLUS", CAPA_LOGGEDIN } } },
	/* RFC 4731, RFC 5182 */
	{ .name = "SEARCH", .states = ST_SELECTED,
	    .flags = CMD_F_NO_EXPUNGE | CMD_F_UID, .handler = cmd_search,
	    .capa = { { "ESEARCH SEARCHRES", CAPA_LOGGEDIN } } },
	/* RFC 5256, RFC 5267, RFC 5957 */
	{ .name = "SORT", .states = ST_SELECTED,
	    .flags = CMD_F_NO_EXPUNGE | CMD_F_UID, .handler = cmd_sort,
	    .capa = { { "SORT SORT=DISPLAY ESORT", CAPA_LOGGEDIN } } },
	{ .name = "THREAD", .states = ST_SELECTED,
	    .flags = CMD_F_NO_EXPUNGE | CMD_F_UID, .handler = cmd_thread,
	    .capa = { { "THREAD=ORDEREDSUBJECT THREAD=REFERENCES",
		CAPA_LOGGEDIN } } },
	/* RFC 3516: BINARY[], BINARY.SIZE[] and APPEND's literal8. */
	{ .name = "FETCH", .states = ST_SELECTED,
	    .flags = CMD_F_NO_EXPUNGE | CMD_F_UID, .handler = cmd_fetch,
	    .capa = { { "BINARY", CAPA_LOGGEDIN } } },
	{ .name = "STORE", .states = ST_SELECTED,
	    .flags = CMD_F_NO_EXPUNGE | CMD_F_UID, .handler = cmd_store },
	{ .name = "COPY", .states = ST_SELECTED,
	    .flags = CMD_F_NO_EXPUNGE | CMD_F_UID, .handler = cmd_copy },
	/* RFC 6851 */
	{ .name = "MOVE", .states = ST_SELECTED, .flags = CMD_F_UID,
	    .handler = cmd_move,
	    .capa = { { "MOVE", CAPA_LOGGEDIN } } },
};

#define IMAP_NCOMMANDS	(sizeof(imap_commands) / sizeof(imap_commands[0]))

const struct imap_cmd_def *
imap_command_find(const char *name, const struct imap_arg **argsp, int *uidp)
{
	const char	*sub;
	size_t		 i;
	int		 uid = 0;

	/* RFC 3501 6.4.8: UID prefixes the commands that take UIDs. */
	if (strcasecmp(name, "UID") == 0) {
		*uidp = uid = 1;
		if (!imap_arg_get_atom(*argsp, &sub))
			return NULL;
		name = sub;
	}
	/* Exact names, case-insensitive (RFC 3501 9), never prefixes. */
	for (i = 0; i < IMAP_NCOMMANDS; i++) {
		if (strcasecmp(imap_commands[i].name, name) != 0)
			continue;
		if (uid && !(imap_commands[i].flags & CMD_F_UID))
			return NULL;
		if (uid)
			(*argsp)++;
		*uidp = uid;
		return &imap_commands[i];
	}
	return NULL;
}

char *
imap_commands_capability(unsigned int when, uint64_t limit)
{
	const struct imap_cmd_def *def;
	char		*capa = xstrdup(""), *more;
	size_t		 i, j;

	for (i = 0; i < IMAP_NCOMMANDS; i++) {
		def = &imap_commands[i];
		for (j = 0; j < sizeof(def->capa) / sizeof(def->capa[0]); j++) {
			if (def->capa[j].words == NULL ||
			    !(def->capa[j].when & when))
				continue;
			if ((def->flags & CMD_F_CAPA_LIMIT) && j == 0)
				xasprintf(&more, "%s%s%s=%llu", capa,
				    capa[0] != '\0' ? " " : "",
				    def->capa[j].words,
				    (unsigned long long)limit);
			else
				xasprintf(&more, "%s%s%s", capa,
				    capa[0] != '\0' ? " " : "",
				    def->capa[j].words);
			free(capa);
			capa = more;
		}
	}
	return capa;
}
