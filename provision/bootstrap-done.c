/*
 * bootstrap-done.c: the success page: the settings a mail program needs,
 * and short steps for the programs people use.
 *
 * Ports and security come from the listeners in the config, the host from
 * hostname, so the page says what the daemons really offer.  Implicit TLS
 * is preferred over STARTTLS (RFC 8314 3.3).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activate.h"
#include "bootstrap.h"
#include "log.h"

static void
client_settings_pick(const struct listen_list *ll, const char *def_port,
    char *port, size_t portlen, int *tlsp)
{
	size_t	 i;

	for (i = 0; i < ll->n; i++)
		if (ll->v[i].host != NULL && ll->v[i].security == LISTEN_TLS) {
			snprintf(port, portlen, "%s", ll->v[i].port);
			*tlsp = 1;
			return;
		}
	for (i = 0; i < ll->n; i++)
		if (ll->v[i].host != NULL &&
		    ll->v[i].security == LISTEN_STARTTLS) {
			snprintf(port, portlen, "%s", ll->v[i].port);
			*tlsp = 0;
			return;
		}
	snprintf(port, portlen, "%s", def_port);
	*tlsp = 1;
}

void
client_settings_get(const struct conf *cf, struct client_settings *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->host = cf->hostname;
	/* RFC 8314 3.3 and 7.3: 993 and 465 when nothing is configured. */
	client_settings_pick(&cf->imap_listen, "993", cs->imap_port,
	    sizeof(cs->imap_port), &cs->imap_tls);
	client_settings_pick(&cf->submission_listen, "465", cs->smtp_port,
	    sizeof(cs->smtp_port), &cs->smtp_tls);
}

static void
done_row(struct evbuffer *b, struct bs_req *r, enum text_id label,
    const char *value, const char *id)
{
	evbuffer_add_printf(b, "<tr><th scope=\"row\">");
	html_text(b, r, label, NULL, 0);
	evbuffer_add_printf(b, "</th><td id=\"%s\">", id);
	html_escape(b, value);
	evbuffer_add_printf(b, "</td></tr>\n");
}

static void
done_table(struct evbuffer *b, struct bs_req *r, enum text_id caption,
    const char *prefix, const char *host, const char *port, int tls)
{
	char	 id[32];

	evbuffer_add_printf(b, "<table class=\"settings\">\n<caption>");
	html_text(b, r, caption, NULL, 0);
	evbuffer_add_printf(b, "</caption>\n");
	snprintf(id, sizeof(id), "%s-host", prefix);
	done_row(b, r, T_DONE_SERVER, host, id);
	snprintf(id, sizeof(id), "%s-port", prefix);
	done_row(b, r, T_DONE_PORT, port, id);
	snprintf(id, sizeof(id), "%s-security", prefix);
	done_row(b, r, T_DONE_SECURITY, text_get(r->lang, tls ?
	    T_DONE_SEC_TLS : T_DONE_SEC_STARTTLS), id);
	snprintf(id, sizeof(id), "%s-user", prefix);
	done_row(b, r, T_DONE_USER, r->sess->address, id);
	snprintf(id, sizeof(id), "%s-auth", prefix);
	done_row(b, r, T_DONE_AUTH, text_get(r->lang, T_DONE_AUTH_NORMAL), id);
	evbuffer_add_printf(b, "</table>\n");
}

static void
done_steps(struct evbuffer *b, struct bs_req *r, enum text_id head,
    const enum text_id *steps, size_t n)
{
	const char	*args[1] = { r->sess->address };
	size_t		 i;

	evbuffer_add_printf(b, "<h3>");
	html_text(b, r, head, NULL, 0);
	evbuffer_add_printf(b, "</h3>\n<ol>\n");
	for (i = 0; i < n; i++) {
		evbuffer_add_printf(b, "<li>");
		html_text(b, r, steps[i], args, 1);
		evbuffer_add_printf(b, "</li>\n");
	}
	evbuffer_add_printf(b, "</ol>\n");
}

void
done_get(struct bs_req *r)
{
	static const enum text_id tb[] = { T_DONE_TB_1, T_DONE_TB_2,
	    T_DONE_TB_3, T_DONE_TB_4 };
	static const enum text_id apple[] = { T_DONE_APPLE_1, T_DONE_APPLE_2,
	    T_DONE_APPLE_3 };
	static const enum text_id k9[] = { T_DONE_K9_1, T_DONE_K9_2,
	    T_DONE_K9_3 };
	static const enum text_id fair[] = { T_DONE_FAIR_1, T_DONE_FAIR_2,
	    T_DONE_FAIR_3 };
	struct client_settings	 cs;
	struct evbuffer		*b;
	const char		*args[1], *folders[5];
	char			*corr;
	enum text_id		 error;

	if (r->sess->state != SESSION_DONE) {
		bs_redirect(r, "/");
		return;
	}
	/* A phone link refused (a wrong password): said once, on top. */
	error = bs_flash_take(r);
	client_settings_get(r->conf, &cs);
	args[0] = r->sess->address;
	b = html_begin(r, T_DONE_TITLE);
	html_form_error(b, r, error, NULL, 0);
	evbuffer_add_printf(b, "<p class=\"success\" role=\"status\">");
	html_text(b, r, T_DONE_INTRO, args, 1);
	/*
	 * Clients show their own "Encrypt" greyed out (no key of their own):
	 * say that guestbox encrypts, and to whom one can write.
	 */
	corr = activate_correspondents(r->bd->d.store, r->sess->address);
	args[0] = corr != NULL && corr[0] != '\0' ? corr :
	    text_get(r->lang, T_DONE_CORR_UNKNOWN);
	evbuffer_add_printf(b, "</p>\n<p id=\"encrypted\">");
	html_text(b, r, T_DONE_ENCRYPTED, args, 1);
	free(corr);
	evbuffer_add_printf(b, "</p>\n<h2>");
	html_text(b, r, T_DONE_SETTINGS, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n");
	done_table(b, r, T_DONE_INCOMING, "imap", cs.host, cs.imap_port,
	    cs.imap_tls);
	done_table(b, r, T_DONE_OUTGOING, "smtp", cs.host, cs.smtp_port,
	    cs.smtp_tls);
	/* The folder names are the config's (mailbox_sent and so on). */
	folders[0] = r->conf->mailbox_sent;
	folders[1] = r->conf->mailbox_drafts;
	folders[2] = r->conf->mailbox_trash;
	folders[3] = r->conf->mailbox_archive;
	folders[4] = r->conf->mailbox_junk;
	evbuffer_add_printf(b, "<p>");
	html_text(b, r, T_DONE_PASSWORD_NOTE, folders, 1);
	evbuffer_add_printf(b, "</p>\n<p>");
	html_text(b, r, T_DONE_FOLDERS, folders, 5);
	evbuffer_add_printf(b, "</p>\n");
	done_steps(b, r, T_DONE_TB_HEAD, tb, sizeof(tb) / sizeof(tb[0]));
	done_steps(b, r, T_DONE_APPLE_HEAD, apple,
	    sizeof(apple) / sizeof(apple[0]));
	evbuffer_add_printf(b, "<p><a class=\"button\" id=\"profile\" "
	    "href=\"/profile.mobileconfig\" download=\"guestbox.mobileconfig\">");
	html_text(b, r, T_DONE_APPLE_LINK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_para(b, r, T_DONE_APPLE_LATER, "hint");
	/* Another device than this browser's: a one-time link and QR code. */
	phone_section(b, r, r->sess->address, "/phone", "phone");
	done_steps(b, r, T_DONE_K9_HEAD, k9, sizeof(k9) / sizeof(k9[0]));
	done_steps(b, r, T_DONE_FAIR_HEAD, fair, sizeof(fair) / sizeof(fair[0]));
	html_para(b, r, T_DONE_OTHER, NULL);
	evbuffer_add_printf(b, "<p class=\"hint\">");
	html_text(b, r, T_DONE_LOST, NULL, 0);
	evbuffer_add_printf(b, " <a href=\"/lost\" id=\"lost\">");
	html_text(b, r, T_LOST_LINK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_end(r, b, 200, "OK");
}
