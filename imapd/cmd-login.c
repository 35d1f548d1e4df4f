/*
 * cmd-login.c: STARTTLS, LOGIN and AUTHENTICATE PLAIN (RFC 3501 6.2,
 * RFC 4959 SASL-IR, RFC 4616 PLAIN).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "log.h"
#include "sasl.h"
#include "workers.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_starttls, cmd_login, cmd_authenticate;
imap_cmd_line_fn cmd_authenticate_line;

/* RFC 4616 2: authzid, authcid and password of at most 255 octets each. */
#define AUTH_PLAIN_MAX		(3 * 256)

enum imap_cmd_status
cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "STARTTLS takes no arguments");
		return CMD_DONE;
	}
	if (s->conn->tls || s->listener->spec.security != LISTEN_STARTTLS) {
		imap_tagged(s, "BAD", "TLS is %s", s->conn->tls ? "active "
		    "already" : "not offered on this port");
		return CMD_DONE;
	}
	/*
	 * RFC 3501 6.2.1, CVE-2011-0411: bytes pipelined behind STARTTLS
	 * were sent in clear and would be read as if protected.  Refuse
	 * and close rather than guess.
	 */
	if (imap_parser_input_pending(s->parser, conn_in(s->conn))) {
		log_info("%s: data pipelined after STARTTLS; closing",
		    s->conn->peer);
		imap_tagged(s, "BAD", "Data after STARTTLS; closing");
		imap_printf(s, "* BYE Plaintext command injection refused\r\n");
		imap_session_enter_state(s, S_LOGOUT);
		return CMD_DONE;
	}
	imap_tagged(s, "OK", "Begin TLS negotiation now");
	if (conn_starttls(s->conn, s->imapd->daemon.tls) == -1)
		imap_session_enter_state(s, S_LOGOUT);
	return CMD_DONE;
}

void
imap_session_account_put(struct imap_session *s)
{
	char	 id[32];

	if (s->counted_account == 0)
		return;
	snprintf(id, sizeof(id), "%llu",
	    (unsigned long long)s->counted_account);
	workers_count_put("account", id);
	s->counted_account = 0;
}

static void
cmd_login_done(struct auth_result *res, void *arg)
{
	struct imap_session	*s = arg;
	char			 id[32];
	int			 ret;

	s->auth = NULL;
	switch (res->status) {
	case AUTH_OK:
		/* Counted across the workers (workers.h). */
		snprintf(id, sizeof(id), "%llu",
		    (unsigned long long)res->account_id);
		if ((ret = workers_count_take("account", id,
		    s->imapd->daemon.conf->max_connections_per_account)) == 0) {
			imap_tagged(s, "NO", "[LIMIT] Too many connections for "
			    "this account");
			break;
		}
		if (ret == 1)
			s->counted_account = res->account_id;
		s->account_id = res->account_id;
		memcpy(s->address, res->address, sizeof(s->address));
		s->key = res->key;
		res->key = NULL;
		vault_seckey_cache_enable(s->key, IMAP_KEY_CACHE);
		log_info("%s: %s logged in%s", s->conn->peer, s->address,
		    s->conn->tls ? " (TLS)" : "");
		imap_session_enter_state(s, S_AUTH);
		/* RFC 3501 7.1: capabilities change at login; say so. */
		imap_tagged(s, "OK", "[CAPABILITY %s] Logged in",
		    imap_capabilities(s));
		break;
	case AUTH_FAILED:
		log_info("%s: login failed", s->conn->peer);
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
		    "failed");
		break;
	case AUTH_UNAVAILABLE:
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary authentication "
		    "failure; try again");
		break;
	}
	imap_session_done(s);
}

/* Refuses a login before TLS (RFC 3501 6.2.3, RFC 8314). */
static int
cmd_login_allowed(struct imap_session *s)
{
	if (s->conn->tls)
		return 1;
	imap_tagged(s, "NO", "[PRIVACYREQUIRED] Use STARTTLS or the TLS port "
	    "first");
	return 0;
}

static enum imap_cmd_status
cmd_login_start(struct imap_session *s, const char *user, const char *pw,
    size_t pwlen)
{
	conn_pause(s->conn, 1);
	s->auth = auth_start(s->imapd->daemon.auth, user, pw, pwlen,
	    s->conn->peer, cmd_login_done, s);
	return CMD_ASYNC;
}

enum imap_cmd_status
cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char	*user, *pw;

	if (cmd->nargs != 2 || !imap_arg_get_astring(&cmd->args[0], &user) ||
	    !imap_arg_get_astring(&cmd->args[1], &pw)) {
		imap_tagged(s, "BAD", "LOGIN takes a user name and a password");
		return CMD_DONE;
	}
	if (!cmd_login_allowed(s))
		return CMD_DONE;
	return cmd_login_start(s, user, pw, strlen(pw));
}

/* RFC 4616: [authzid] NUL authcid NUL passwd, in base64 (daemon/sasl.c). */
static enum imap_cmd_status
cmd_authenticate_plain(struct imap_session *s, const char *b64, size_t len)
{
	struct sasl_plain	 sp;
	unsigned char		*raw;
	size_t			 rawlen;
	enum sasl_status	 st;
	enum imap_cmd_status	 ret;

	raw = xsecret_alloc(AUTH_PLAIN_MAX + 1);
	st = sasl_response_decode(b64, len, raw, AUTH_PLAIN_MAX, &rawlen);
	if (st == SASL_CANCELLED) {
		/* RFC 3501 6.2.2: the client cancelled. */
		xsecret_free(raw);
		imap_tagged(s, "BAD", "Authentication cancelled");
		return CMD_DONE;
	}
	if (st != SASL_OK) {
		xsecret_free(raw);
		imap_tagged(s, "BAD", "Invalid base64 in the SASL response");
		return CMD_DONE;
	}
	raw[rawlen] = '\0';
	/* No proxy logins: the authzid must be empty or the user. */
	if (sasl_plain_split(raw, rawlen, &sp) != SASL_OK ||
	    (sp.authzid_len > 0 && (sp.authzid_len != sp.authcid_len ||
	    strncasecmp(sp.authzid, sp.authcid, sp.authcid_len) != 0))) {
		xsecret_free(raw);
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Invalid PLAIN "
		    "response");
		return CMD_DONE;
	}
	/* sasl_plain_split() leaves authcid NUL-terminated in raw. */
	ret = cmd_login_start(s, sp.authcid, sp.passwd, sp.passwd_len);
	xsecret_free(raw);
	return ret;
}

enum imap_cmd_status
cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	const char	*mech, *ir;

	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    !imap_arg_get_atom(&cmd->args[0], &mech) ||
	    (cmd->nargs == 2 && !imap_arg_get_atom(&cmd->args[1], &ir))) {
		imap_tagged(s, "BAD", "AUTHENTICATE takes a mechanism and an "
		    "optional initial response");
		return CMD_DONE;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		imap_tagged(s, "NO", "Unsupported authentication mechanism");
		return CMD_DONE;
	}
	if (!cmd_login_allowed(s))
		return CMD_DONE;
	if (cmd->nargs == 2) {
		/* RFC 4959: "=" is an empty initial response. */
		if (strcmp(ir, "=") == 0)
			ir = "";
		return cmd_authenticate_plain(s, ir, strlen(ir));
	}
	/* RFC 3501 6.2.2: an empty challenge; the response is a line. */
	imap_printf(s, "+ \r\n");
	return CMD_LINE;
}

enum imap_cmd_status
cmd_authenticate_line(struct imap_session *s, const char *line, size_t len)
{
	return cmd_authenticate_plain(s, line, len);
}
