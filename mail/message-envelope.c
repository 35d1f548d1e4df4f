/*
 * message-envelope.c: the fields of a header that IMAP ENVELOPE shows
 * (RFC 3501 7.4.2), parsed once at delivery and kept in the MIME cache;
 * imapd writes them out.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "message-envelope.h"
#include "mime-header.h"

static void	 envelope_field(struct message_envelope *,
		    const struct mime_header *);


static void
envelope_field(struct message_envelope *env, const struct mime_header *h)
{
	struct message_addrlist	*al = NULL;
	char		**sp = NULL;
	char		*v;
	size_t		 vlen;

	if (mime_header_name_is(h, "Date"))
		sp = &env->date;
	else if (mime_header_name_is(h, "Subject"))
		sp = &env->subject;
	else if (mime_header_name_is(h, "In-Reply-To"))
		sp = &env->in_reply_to;
	else if (mime_header_name_is(h, "Message-ID"))
		sp = &env->message_id;
	else if (mime_header_name_is(h, "References"))
		sp = &env->references;
	else if (mime_header_name_is(h, "From"))
		al = &env->from;
	else if (mime_header_name_is(h, "Sender"))
		al = &env->sender;
	else if (mime_header_name_is(h, "Reply-To"))
		al = &env->reply_to;
	else if (mime_header_name_is(h, "To"))
		al = &env->to;
	else if (mime_header_name_is(h, "Cc"))
		al = &env->cc;
	else if (mime_header_name_is(h, "Bcc"))
		al = &env->bcc;
	else
		return;

	v = mime_header_value_full(h, &vlen);
	if (sp != NULL) {
		free(*sp);
		*sp = v;
		return;
	}
	/* Repeated address fields add up (Dovecot); strings: the last wins. */
	message_address_parse(al, (const uint8_t *)v, vlen);
	free(v);
}

void
message_envelope_clear(struct message_envelope *env)
{
	free(env->date);
	free(env->subject);
	free(env->in_reply_to);
	free(env->message_id);
	free(env->references);
	message_addrlist_clear(&env->from);
	message_addrlist_clear(&env->sender);
	message_addrlist_clear(&env->reply_to);
	message_addrlist_clear(&env->to);
	message_addrlist_clear(&env->cc);
	message_addrlist_clear(&env->bcc);
	memset(env, 0, sizeof(*env));
}

void
message_envelope_parse(struct message_envelope *env, const void *hdr,
    size_t len)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;

	memset(env, 0, sizeof(*env));
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h))
		envelope_field(env, &h);
}
