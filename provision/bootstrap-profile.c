/*
 * bootstrap-profile.c: /profile.mobileconfig, an Apple configuration
 * profile with one com.apple.mail.managed payload for the new account.
 *
 * Two ways to it: /profile.mobileconfig, only to the browser that just
 * set the password, for BS_SESSION_DONE seconds (the sealed session says
 * so), with no password in it: the device asks on installation; and a
 * phone's one-time link (bootstrap-phone.c), with a device password of
 * its own in it.  The identifiers are the account's own, so a second
 * guestbox account on one device is a second profile, and a new profile
 * of the same account replaces the old one.  Unsigned, so iOS shows it
 * as "unverified".
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

/* A text in the request's language, {1} the address, {2} the page. */
static char *
profile_text(struct bs_req *r, enum text_id id, const char *address)
{
	struct evbuffer	*t;
	const char	*args[2] = { address, r->conf->public_url };
	char		*s;
	size_t		 n;

	if ((t = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	/* html_text escapes for HTML, which is what XML needs as well. */
	html_text(t, r, id, args, 2);
	n = evbuffer_get_length(t);
	s = xmalloc(n + 1);
	evbuffer_remove(t, s, n);
	s[n] = '\0';
	evbuffer_free(t);
	return s;
}

/*
 * The account's part of the identifiers: 16 hex digits of a hash of its
 * address, the same at every download and different for every account.
 */
static void
profile_account_id(const char *address, char out[17])
{
	uint8_t	 h[8];
	size_t	 i;

	crypto_generichash(h, sizeof(h), (const uint8_t *)address,
	    strlen(address), NULL, 0);
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void
profile_get(struct bs_req *r)
{
	if (r->sess->state != SESSION_DONE) {
		bs_error(r, 403, "Forbidden", T_ERR_SESSION_TITLE,
		    T_ERR_SESSION_TEXT);
		return;
	}
	profile_send(r, r->sess->address, NULL);
}

void
profile_send(struct bs_req *r, const char *address, const char *password)
{
	struct client_settings	 cs;
	struct evbuffer		*b;
	char			 uuid1[37], uuid2[37], acct[17], *name, *desc;

	client_settings_get(r->conf, &cs);
	profile_uuid(uuid1);
	profile_uuid(uuid2);
	profile_account_id(address, acct);
	name = profile_text(r, T_PROFILE_NAME, address);
	desc = profile_text(r, password != NULL ? T_PROFILE_DESC_DEVICE :
	    T_PROFILE_DESC, address);
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n");
	profile_key_string(b, "EmailAccountDescription", address);
	profile_key_string(b, "EmailAccountType", "EmailTypeIMAP");
	profile_key_string(b, "EmailAddress", address);
	profile_key_string(b, "IncomingMailServerAuthentication",
	    "EmailAuthPassword");
	profile_key_string(b, "IncomingMailServerHostName", cs.host);
	profile_key_int(b, "IncomingMailServerPortNumber", cs.imap_port);
	profile_key_bool(b, "IncomingMailServerUseSSL", cs.imap_tls);
	profile_key_string(b, "IncomingMailServerUsername", address);
	profile_key_string(b, "OutgoingMailServerAuthentication",
	    "EmailAuthPassword");
	profile_key_string(b, "OutgoingMailServerHostName", cs.host);
	profile_key_int(b, "OutgoingMailServerPortNumber", cs.smtp_port);
	/* Apple's UseSSL means "TLS", and Mail does STARTTLS on 587 with it. */
	profile_key_bool(b, "OutgoingMailServerUseSSL", 1);
	profile_key_string(b, "OutgoingMailServerUsername", address);
	profile_key_bool(b, "OutgoingPasswordSameAsIncomingPassword", 1);
	if (password != NULL) {
		profile_key_string(b, "IncomingPassword", password);
		profile_key_string(b, "OutgoingPassword", password);
	}
	evbuffer_add_printf(b, "\t\t\t<key>PayloadDisplayName</key>\n"
	    "\t\t\t<string>%s</string>\n", name);
	evbuffer_add_printf(b, "\t\t\t<key>PayloadIdentifier</key>\n"
	    "\t\t\t<string>");
	xml_escape(b, cs.host);
	evbuffer_add_printf(b, ".guestbox.mail.%s</string>\n", acct);
	profile_key_string(b, "PayloadType", "com.apple.mail.managed");
	profile_key_string(b, "PayloadUUID", uuid2);
	profile_key_int(b, "PayloadVersion", "1");
	evbuffer_add_printf(b, "\t\t</dict>\n\t</array>\n"
	    "\t<key>PayloadDescription</key>\n\t<string>%s</string>\n"
	    "\t<key>PayloadDisplayName</key>\n\t<string>%s</string>\n"
	    "\t<key>PayloadIdentifier</key>\n\t<string>", desc, name);
	xml_escape(b, cs.host);
	evbuffer_add_printf(b, ".guestbox.profile.%s</string>\n"
	    "\t<key>PayloadOrganization</key>\n\t<string>", acct);
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
