/*
 * imap-bodystructure.c: ENVELOPE, BODYSTRUCTURE and BODY (RFC 3501
 * 7.4.2) from the parsed structure of mail/, written through
 * imap-quote.c.
 *
 * Clients compare what they see with what other servers show, and cache
 * BODYSTRUCTURE for good, so the output follows Dovecot's choices wherever
 * RFC 3501 leaves one (tests/mime-dovecot.test checks it against a real
 * Dovecot): values keep the case they were written in, a text part without
 * charset gets ("charset" "us-ascii"), RFC 2231 parameters are joined but
 * not decoded, strings with 8-bit bytes, CR or LF become literals.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap-bodystructure.h"
#include "imap-quote.h"
#include "log.h"
#include "mime.h"
#include "xmalloc.h"

static void	 bs_puts(struct evbuffer *, const char *);
static void	 bs_putc(struct evbuffer *, char);
static void	 bs_nstring(struct evbuffer *, const char *);
static void	 bs_nstring_nolf(struct evbuffer *, const char *);
static void	 bs_humans(struct evbuffer *, const char *);
static void	 bs_addrs(struct evbuffer *, const struct message_addrlist *);
static void	 bs_params(struct evbuffer *, const struct mime_param *, size_t,
		    int);
static void	 bs_extension(struct evbuffer *, const struct mime_content *);
static void	 bs_envelope(struct evbuffer *, const struct mime_part *);
static void	 bs_part(struct evbuffer *, const struct mime_msg *, uint32_t,
		    int);

static void
bs_puts(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, s, strlen(s));
}

static void
bs_putc(struct evbuffer *out, char c)
{
	evbuffer_add(out, &c, 1);
}

static void
bs_nstring(struct evbuffer *out, const char *s)
{
	imap_quote_nstring(out, s, s != NULL ? strlen(s) : 0,
	    IMAP_QUOTE_F_MESSAGE);
}

static void
bs_nstring_nolf(struct evbuffer *out, const char *s)
{
	imap_quote_nstring_nolf(out, s, s != NULL ? strlen(s) : 0,
	    IMAP_QUOTE_F_MESSAGE);
}

static void
bs_humans(struct evbuffer *out, const char *s)
{
	imap_quote_humans(out, s, strlen(s));
}

static void
bs_addrs(struct evbuffer *out, const struct message_addrlist *l)
{
	size_t			 i;
	const struct message_address	*a;

	if (l->n == 0) {
		bs_puts(out, "NIL");
		return;
	}
	bs_putc(out, '(');
	for (i = 0; i < l->n; i++) {
		a = &l->v[i];
		bs_putc(out, '(');
		if (a->name == NULL)
			bs_puts(out, "NIL");
		else
			bs_humans(out, a->name);
		bs_putc(out, ' ');
		bs_nstring(out, a->route);
		bs_putc(out, ' ');
		bs_nstring(out, a->mailbox);
		bs_putc(out, ' ');
		bs_nstring(out, a->domain);
		bs_putc(out, ')');
	}
	bs_putc(out, ')');
}

void
imap_envelope_write(struct evbuffer *out, const struct message_envelope *env)
{
	bs_putc(out, '(');
	bs_nstring_nolf(out, env->date);
	bs_putc(out, ' ');
	if (env->subject == NULL)
		bs_puts(out, "NIL");
	else
		bs_humans(out, env->subject);
	bs_putc(out, ' ');
	bs_addrs(out, &env->from);
	bs_putc(out, ' ');
	/* RFC 3501 7.4.2: Sender and Reply-To default to From. */
	bs_addrs(out, env->sender.n > 0 ? &env->sender : &env->from);
	bs_putc(out, ' ');
	bs_addrs(out, env->reply_to.n > 0 ? &env->reply_to : &env->from);
	bs_putc(out, ' ');
	bs_addrs(out, &env->to);
	bs_putc(out, ' ');
	bs_addrs(out, &env->cc);
	bs_putc(out, ' ');
	bs_addrs(out, &env->bcc);
	bs_putc(out, ' ');
	bs_nstring_nolf(out, env->in_reply_to);
	bs_putc(out, ' ');
	bs_nstring_nolf(out, env->message_id);
	bs_putc(out, ')');
}

static void
bs_params(struct evbuffer *out, const struct mime_param *v, size_t n,
    int default_charset)
{
	size_t	 i;
	int	 seen = 0;

	if (!default_charset && n == 0) {
		bs_puts(out, "NIL");
		return;
	}
	bs_putc(out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			bs_putc(out, ' ');
		if (strcasecmp(v[i].name, "charset") == 0)
			seen = 1;
		bs_nstring(out, v[i].name);
		bs_putc(out, ' ');
		bs_nstring(out, v[i].value);
	}
	/* RFC 2045 5.2: text without a charset is US-ASCII. */
	if (default_charset && !seen) {
		if (i > 0)
			bs_putc(out, ' ');
		bs_puts(out, "\"charset\" \"us-ascii\"");
	}
	bs_putc(out, ')');
}

static void
bs_extension(struct evbuffer *out, const struct mime_content *c)
{
	size_t	 i;

	bs_putc(out, ' ');
	if (c->disposition == NULL)
		bs_puts(out, "NIL");
	else {
		bs_putc(out, '(');
		bs_nstring(out, c->disposition);
		bs_putc(out, ' ');
		bs_params(out, c->dparams, c->ndparams, 0);
		bs_putc(out, ')');
	}
	bs_putc(out, ' ');
	if (c->nlanguage == 0)
		bs_puts(out, "NIL");
	else {
		bs_putc(out, '(');
		for (i = 0; i < c->nlanguage; i++) {
			if (i > 0)
				bs_putc(out, ' ');
			bs_nstring(out, c->language[i]);
		}
		bs_putc(out, ')');
	}
	bs_putc(out, ' ');
	bs_nstring_nolf(out, c->location);
}

/* The envelope of an embedded message (or of the message itself). */
static void
bs_envelope(struct evbuffer *out, const struct mime_part *p)
{
	static const struct message_envelope	 none;

	imap_envelope_write(out, p->envelope != NULL ? p->envelope : &none);
}

static void
bs_part(struct evbuffer *out, const struct mime_msg *m, uint32_t idx, int ext)
{
	static const struct mime_content	 none;
	const struct mime_part	*p = &m->parts[idx];
	const struct mime_content *c;
	uint32_t		 ch;
	int			 text;

	/* Without MIME-Version or Content-Type the Content-* are not MIME. */
	c = p->content != NULL ? p->content : &none;

	if (p->flags & MIME_PART_MULTIPART) {
		if (p->child == MIME_NONE) {
			/* RFC 2046 5.1.1 wants a part; say an empty one. */
			bs_puts(out, "(\"text\" \"plain\" (\"charset\" "
			    "\"us-ascii\") NIL NIL \"7bit\" 0 0");
			bs_puts(out, ext ? " NIL NIL NIL NIL)" : ")");
		}
		for (ch = p->child; ch != MIME_NONE; ch = m->parts[ch].next) {
			bs_putc(out, '(');
			bs_part(out, m, ch, ext);
			bs_putc(out, ')');
		}
		bs_putc(out, ' ');
		bs_nstring(out, c->subtype != NULL ? c->subtype : "");
		if (ext) {
			bs_putc(out, ' ');
			bs_params(out, c->params, c->nparams, 0);
			bs_extension(out, c);
		}
		return;
	}

	if (p->flags & MIME_PART_OVERFLOW) {
		/* Not parsed for a limit: opaque data, as Dovecot says. */
		bs_puts(out, "\"application\" \"octet-stream\"");
		text = 0;
	} else if (p->flags & MIME_PART_RFC822) {
		bs_puts(out, "\"message\" \"rfc822\"");
		text = 0;
	} else if (c->type == NULL) {
		bs_puts(out, "\"text\" \"plain\"");
		text = 1;
	} else {
		text = strcasecmp(c->type, "text") == 0;
		bs_nstring(out, c->type);
		bs_putc(out, ' ');
		bs_nstring(out, c->subtype != NULL ? c->subtype : "");
	}
	bs_putc(out, ' ');
	bs_params(out, c->params, c->nparams, text);
	bs_putc(out, ' ');
	bs_nstring_nolf(out, c->id);
	bs_putc(out, ' ');
	bs_nstring_nolf(out, c->description);
	bs_putc(out, ' ');
	bs_nstring(out, c->encoding != NULL ? c->encoding : "7bit");
	evbuffer_add_printf(out, " %llu", (unsigned long long)p->body_vsize);
	if (text)
		evbuffer_add_printf(out, " %u", p->body_lines);
	else if ((p->flags & MIME_PART_RFC822) && p->child != MIME_NONE) {
		bs_putc(out, ' ');
		bs_envelope(out, &m->parts[p->child]);
		bs_puts(out, " (");
		bs_part(out, m, p->child, ext);
		evbuffer_add_printf(out, ") %u", p->body_lines);
	}
	if (ext) {
		bs_putc(out, ' ');
		bs_nstring_nolf(out, c->md5);
		bs_extension(out, c);
	}
}

void
imap_bodystructure_write_envelope(struct evbuffer *out,
    const struct mime_msg *m)
{
	if (m->v1_envelope != NULL)
		evbuffer_add(out, m->v1_envelope, m->v1_envelope_len);
	else
		bs_envelope(out, &m->parts[0]);
}

void
imap_bodystructure_write(struct evbuffer *out, const struct mime_msg *m,
    int extended)
{
	if (extended && m->v1_bodystructure != NULL)
		evbuffer_add(out, m->v1_bodystructure,
		    m->v1_bodystructure_len);
	else if (!extended && m->v1_body != NULL)
		evbuffer_add(out, m->v1_body, m->v1_body_len);
	else {
		bs_putc(out, '(');
		bs_part(out, m, 0, extended);
		bs_putc(out, ')');
	}
}

char *
imap_bodystructure_string(const struct mime_msg *m, enum imap_bs_item item,
    size_t *lenp)
{
	struct evbuffer	*b;
	char		*s;
	size_t		 n;

	if ((b = evbuffer_new()) == NULL)
		fatal("evbuffer_new");
	if (item == IMAP_BS_ENVELOPE)
		imap_bodystructure_write_envelope(b, m);
	else
		imap_bodystructure_write(b, m, item == IMAP_BS_BODYSTRUCTURE);
	n = evbuffer_get_length(b);
	s = xmalloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	if (lenp != NULL)
		*lenp = n;
	return s;
}
