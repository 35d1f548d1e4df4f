/*
 * bootstrap-profile.c: /profile.mobileconfig, an Apple configuration
 * profile with one com.apple.mail.managed payload for the new account.
 *
 * It is only served to the browser that just set the password, for
 * BS_SESSION_DONE seconds (the sealed session says so), and it holds no
 * password: the device asks for it on installation.  Unsigned, so iOS
 * shows it as "unverified"; signing needs a key guestbox does not have.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

/* RFC 4122 4.4: a random (version 4) UUID, upper case as Apple writes it. */
static void
profile_uuid(char out[37])
{
	uint8_t	 u[16];

	randombytes_buf(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
	    "%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void
profile_key_string(struct evbuffer *b, const char *key, const char *val)
{
	evbuffer_add_printf(b, "\t\t\t<key>%s</key>\n\t\t\t<string>", key);
	xml_escape(b, val);
	evbuffer_add_printf(b, "</string>\n");
}

static void
profile_key_int(struct evbuffer *b, const char *key, const char *val)
{
	evbuffer_add_printf(b, "\t\t\t<key>%s</key>\n\t\t\t<integer>", key);
	xml_escape(b, val);
	evbuffer_add_printf(b, "</integer>\n");
}

static void
profile_key_bool(struct evbuffer *b, const char *key, int val)
{
	evbuffer_add_printf(b, "\t\t\t<key>%s</key>\n\t\t\t<%s/>\n", key,
	    val ? "true" : "false");
}

/* The profile's name in the request's language, {1} the address. */
static char *
profile_text(struct bs_req *r, enum text_id id)
{
	struct evbuffer	*t;
	const char	*args[1] = { r->sess->address };
	char		*s;
	size_t		 n;

	if ((t = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	/* html_text escapes for HTML, which is what XML needs as well. */
	html_text(t, r, id, args, 1);
	n = evbuffer_get_length(t);
	s = xmalloc(n + 1);
	evbuffer_remove(t, s, n);
	s[n] = '\0';
	evbuffer_free(t);
	return s;
}

void
profile_get(struct bs_req *r)
{
	struct client_settings	 cs;
	struct evbuffer		*b;
	char			 uuid1[37], uuid2[37], *name, *desc;

	if (r->sess->state != SESSION_DONE) {
		bs_error(r, 403, "Forbidden", T_ERR_SESSION_TITLE,
		    T_ERR_SESSION_TEXT);
		return;
	}
	client_settings_get(r->conf, &cs);
	profile_uuid(uuid1);
	profile_uuid(uuid2);
	name = profile_text(r, T_PROFILE_NAME);
	desc = profile_text(r, T_PROFILE_DESC);
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n");
	profile_key_string(b, "EmailAccountDescription", r->sess->address);
	profile_key_string(b, "EmailAccountType", "EmailTypeIMAP");
	profile_key_string(b, "EmailAddress", r->sess->address);
	profile_key_string(b, "IncomingMailServerAuthentication",
	    "EmailAuthPassword");
	profile_key_string(b, "IncomingMailServerHostName", cs.host);
	profile_key_int(b, "IncomingMailServerPortNumber", cs.imap_port);
	profile_key_bool(b, "IncomingMailServerUseSSL", cs.imap_tls);
	profile_key_string(b, "IncomingMailServerUsername", r->sess->address);
	profile_key_string(b, "OutgoingMailServerAuthentication",
	    "EmailAuthPassword");
	profile_key_string(b, "OutgoingMailServerHostName", cs.host);
	profile_key_int(b, "OutgoingMailServerPortNumber", cs.smtp_port);
	/* Apple's UseSSL means "TLS", and Mail does STARTTLS on 587 with it. */
	profile_key_bool(b, "OutgoingMailServerUseSSL", 1);
	profile_key_string(b, "OutgoingMailServerUsername", r->sess->address);
	profile_key_bool(b, "OutgoingPasswordSameAsIncomingPassword", 1);
	evbuffer_add_printf(b, "\t\t\t<key>PayloadDisplayName</key>\n"
	    "\t\t\t<string>%s</string>\n", name);
	profile_key_string(b, "PayloadIdentifier", "guestbox.mail.account");
	profile_key_string(b, "PayloadType", "com.apple.mail.managed");
	profile_key_string(b, "PayloadUUID", uuid2);
	profile_key_int(b, "PayloadVersion", "1");
	evbuffer_add_printf(b, "\t\t</dict>\n\t</array>\n"
	    "\t<key>PayloadDescription</key>\n\t<string>%s</string>\n"
	    "\t<key>PayloadDisplayName</key>\n\t<string>%s</string>\n"
	    "\t<key>PayloadIdentifier</key>\n\t<string>", desc, name);
	xml_escape(b, cs.host);
	evbuffer_add_printf(b, ".guestbox.profile</string>\n"
	    "\t<key>PayloadOrganization</key>\n\t<string>");
	xml_escape(b, cs.host);
	evbuffer_add_printf(b, "</string>\n"
	    "\t<key>PayloadRemovalDisallowed</key>\n\t<false/>\n"
	    "\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
	    "\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
	    "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
	    "</dict>\n</plist>\n", uuid1);
	free(name);
	free(desc);
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Disposition", "attachment; filename=\"guestbox.mobileconfig\"");
	bs_reply(r, 200, "OK", "application/x-apple-aspen-config", b);
	evbuffer_free(b);
}
