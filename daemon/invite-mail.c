/*
 * invite-mail.c: the invitation mail: templates and MIME.  How it
 * goes out is the caller's (guestbox-provision: the smarthost or stdout;
 * the gateway: back to the home MTA).
 *
 * The templates are compiled in from provision/templates/; an admin may
 * replace each with a file in templates_dir (guestbox.conf(5)):
 *	invite-subject.txt	the Subject, one line of UTF-8
 *	invite.txt		the text/plain part
 *	invite.html		the text/html part
 * {{LINK}}, {{SENDER}}, {{SENDER_NAME}}, {{RECIPIENT}}, {{EXPIRES}} and
 * {{HOSTNAME}} are replaced (escaped in the HTML part); text between
 * {{#PIN}} and {{/PIN}} is kept only if the invitation has a PIN, text
 * between {{^PIN}} and {{/PIN}} only if it has none.
 *
 * The link is the token: it is never written anywhere but into this
 * message, so the message is sent at once, or not at all.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <sodium.h>

#include "invite.h"
#include "mime-encode.h"
#include "pack.h"
#include "rfc5322.h"
#include "util.h"
#include "xmalloc.h"

#define INVITE_TEMPLATE_MAX	(256 * 1024)

#include "invite-templates.inc"

/* The built-in templates: provision/templates/, compiled in. */
static const char *const invite_mail_builtin[INVITE_MAIL_NFILES] = {
	[INVITE_MAIL_SUBJECT] = tpl_invite_subject_txt,
	[INVITE_MAIL_TEXT] = tpl_invite_txt,
	[INVITE_MAIL_HTML] = tpl_invite_html,
};

static const char *const invite_mail_files[INVITE_MAIL_NFILES] = {
	[INVITE_MAIL_SUBJECT] = "invite-subject.txt",
	[INVITE_MAIL_TEXT] = "invite.txt",
	[INVITE_MAIL_HTML] = "invite.html",
};

/* A growing string. */
struct sbuf {
	char	*p;
	size_t	 n, cap;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->p == NULL || b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

static void	sbuf_printf(struct sbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	sbuf_add(b, s, (size_t)n);
	free(s);
}

static void
sbuf_html(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			sbuf_str(b, "&amp;");
			break;
		case '<':
			sbuf_str(b, "&lt;");
			break;
		case '>':
			sbuf_str(b, "&gt;");
			break;
		case '"':
			sbuf_str(b, "&quot;");
			break;
		case '\'':
			sbuf_str(b, "&#39;");
			break;
		default:
			sbuf_add(b, s, 1);
		}
	}
}

int
invite_mail_load(const struct conf *cf, struct invite_mail *im, char *why,
    size_t whylen)
{
	const char	*dir = cf->templates_dir;
	char		*path;
	size_t		 len, i;
	struct stat	 st;

	memset(im, 0, sizeof(*im));
	/* A templates_dir that is not there is a typo, not "no changes". */
	if (dir != NULL && (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))) {
		snprintf(why, whylen, "templates_dir %s: %s (guestbox.conf(5); "
		    "without templates_dir the built-in templates are used)",
		    dir, stat(dir, &st) == -1 ? strerror(errno) :
		    "not a directory");
		return -1;
	}
	for (i = 0; i < INVITE_MAIL_NFILES; i++) {
		if (dir == NULL) {
			im->tpl[i] = xstrdup(invite_mail_builtin[i]);
			continue;
		}
		xasprintf(&path, "%s/%s", dir, invite_mail_files[i]);
		if (file_read_all(path, INVITE_TEMPLATE_MAX, &im->tpl[i],
		    &len) == -1) {
			if (errno == ENOENT) {
				/* Only the files an admin changed need be there. */
				im->tpl[i] = xstrdup(invite_mail_builtin[i]);
				free(path);
				continue;
			}
			snprintf(why, whylen, "cannot read the invitation template "
			    "%s: %s (templates_dir in guestbox.conf(5))", path,
			    strerror(errno));
			free(path);
			invite_mail_clear(im);
			return -1;
		}
		if (memchr(im->tpl[i], '\0', len) != NULL) {
			snprintf(why, whylen, "%s holds a NUL byte", path);
			free(path);
			invite_mail_clear(im);
			return -1;
		}
		free(path);
	}
	return 0;
}

void
invite_mail_clear(struct invite_mail *im)
{
	size_t	 i;

	for (i = 0; i < INVITE_MAIL_NFILES; i++)
		free(im->tpl[i]);
	memset(im, 0, sizeof(*im));
}

struct invite_vars {
	const char	*link;
	const char	*sender;
	const char	*sender_name;
	const char	*recipient;
	const char	*hostname;
	char		 expires[16];
	int		 has_pin;
};

static const char *
invite_var(const struct invite_vars *v, const char *name, size_t n)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} vars[] = {
		{ "LINK", offsetof(struct invite_vars, link) },
		{ "SENDER", offsetof(struct invite_vars, sender) },
		{ "SENDER_NAME", offsetof(struct invite_vars, sender_name) },
		{ "RECIPIENT", offsetof(struct invite_vars, recipient) },
		{ "HOSTNAME", offsetof(struct invite_vars, hostname) },
	};
	size_t	 i;

	if (n == 7 && strncmp(name, "EXPIRES", 7) == 0)
		return v->expires;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strlen(vars[i].name) == n &&
		    strncmp(vars[i].name, name, n) == 0)
			return *(const char *const *)((const char *)v +
			    vars[i].off);
	return NULL;
}

/* Fills in a template; an unknown {{NAME}} stays as it is. */
static void
invite_render(const char *tpl, const struct invite_vars *v, int html,
    struct sbuf *out)
{
	const char	*p = tpl, *open, *close, *val;
	int		 skip = 0;
	size_t		 n;

	while ((open = strstr(p, "{{")) != NULL) {
		if (!skip)
			sbuf_add(out, p, (size_t)(open - p));
		if ((close = strstr(open + 2, "}}")) == NULL) {
			p = open;
			break;
		}
		n = (size_t)(close - open - 2);
		p = close + 2;
		if (n == 4 && strncmp(open + 2, "#PIN", 4) == 0)
			skip = !v->has_pin;
		else if (n == 4 && strncmp(open + 2, "^PIN", 4) == 0)
			skip = v->has_pin;
		else if (n == 4 && strncmp(open + 2, "/PIN", 4) == 0) {
			skip = 0;
			/* A section's own line end goes with it. */
			if (*p == '\n' && (open == tpl || open[-1] == '\n'))
				p++;
		} else if (skip)
			continue;
		else if ((val = invite_var(v, open + 2, n)) != NULL) {
			if (html)
				sbuf_html(out, val);
			else
				sbuf_str(out, val);
		} else
			sbuf_add(out, open, (size_t)(p - open));
		if ((n == 4 && (open[2] == '#' || open[2] == '^')) &&
		    *p == '\n' && (open == tpl || open[-1] == '\n'))
			p++;
	}
	if (!skip)
		sbuf_str(out, p);
}

/* RFC 2047 encoded-words for a header value (mail/mime-encode.c). */
static void
invite_header_encoded(struct sbuf *b, const char *s)
{
	struct pack	 p;

	pack_init(&p);
	mime_encode_words(&p, s);
	sbuf_add(b, (const char *)p.buf, p.len);
	pack_free(&p);
}

/* RFC 5322 3.2.4: a quoted-string, or encoded-words if not ASCII. */
static void
invite_display_name(struct sbuf *b, const char *name)
{
	const char	*p;

	if (!mime_text_is_plain(name)) {
		invite_header_encoded(b, name);
		return;
	}
	sbuf_str(b, "\"");
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_str(b, "\\");
		sbuf_add(b, p, 1);
	}
	sbuf_str(b, "\"");
}

/* RFC 2045 6.7 quoted-printable, CRLF line ends, soft breaks at 76. */
static void
invite_qp(struct sbuf *b, const char *s)
{
	const unsigned char	*p;
	char			 enc[4];
	size_t			 col = 0, need;
	int			 c, literal;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		c = *p;
		if (c == '\r')
			continue;
		if (c == '\n') {
			sbuf_str(b, "\r\n");
			col = 0;
			continue;
		}
		/* Trailing white space must be encoded (rule 3). */
		literal = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && p[1] != '\n' && p[1] != '\r' &&
		    p[1] != '\0');
		/* A leading dot or "From " is encoded for fragile transports. */
		if (col == 0 && c == '.')
			literal = 0;
		need = literal ? 1 : 3;
		if (col + need > 75) {
			sbuf_str(b, "=\r\n");
			col = 0;
		}
		if (literal) {
			enc[0] = (char)c;
			sbuf_add(b, enc, 1);
		} else {
			snprintf(enc, sizeof(enc), "=%02X", c);
			sbuf_add(b, enc, 3);
		}
		col += need;
	}
}

void
invite_mail_build(const struct conf *cf, const struct invite_mail *im,
    const struct store_account *a, const struct invite *inv,
    const char *sender, const char *sender_name, char **msgp, size_t *lenp)
{
	struct invite_vars	 v;
	struct sbuf		 m = { NULL, 0, 0 }, part = { NULL, 0, 0 };
	struct sbuf		 subj = { NULL, 0, 0 };
	struct tm		 tm;
	time_t			 now = time(NULL), exp = a->invite_expires;
	char			 hex[33], *nl, date[RFC5322_DATE_MAX];
	char			 name[ADDR_MAX + 64];

	memset(&v, 0, sizeof(v));
	v.link = inv->link;
	v.sender = sender;
	v.sender_name = sender_name != NULL ? sender_name : sender;
	v.recipient = a->address;
	v.hostname = cf->hostname;
	v.has_pin = inv->pin[0] != '\0';
	gmtime_r(&exp, &tm);
	strftime(v.expires, sizeof(v.expires), "%Y-%m-%d", &tm);

	invite_render(im->tpl[INVITE_MAIL_SUBJECT], &v, 0, &subj);
	/* One line: the first, without its line end. */
	if (subj.p != NULL && (nl = strpbrk(subj.p, "\r\n")) != NULL)
		*nl = '\0';

	/* RFC 5322 3.6.2: the sender's name, but our address and domain. */
	snprintf(name, sizeof(name), "%s via guestbox", v.sender_name);
	sbuf_str(&m, "From: ");
	invite_display_name(&m, name);
	sbuf_printf(&m, " <%s>\r\n", cf->invite_from);
	sbuf_printf(&m, "Reply-To: <%s>\r\n", sender);
	sbuf_printf(&m, "To: <%s>\r\n", a->address);
	sbuf_str(&m, "Subject: ");
	if (subj.p != NULL && mime_text_is_plain(subj.p))
		sbuf_str(&m, subj.p);
	else if (subj.p != NULL)
		invite_header_encoded(&m, subj.p);
	sbuf_str(&m, "\r\n");
	rfc5322_date_format(now, 1, date, sizeof(date));
	sbuf_printf(&m, "Date: %s\r\n", date);
	rfc5322_random_id(hex, sizeof(hex));
	sbuf_printf(&m, "Message-ID: <%s.invite@%s>\r\n", hex, cf->hostname);
	sbuf_str(&m, "MIME-Version: 1.0\r\n");
	/* RFC 3834 5: no auto-replies to this. */
	sbuf_str(&m, "Auto-Submitted: auto-generated\r\n");
	sbuf_str(&m, "Content-Language: de, en\r\n");
	sbuf_printf(&m, "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"=_guestbox_%s\"\r\n\r\n", hex);
	sbuf_str(&m, "This is a message in MIME format.\r\n");

	invite_render(im->tpl[INVITE_MAIL_TEXT], &v, 0, &part);
	sbuf_printf(&m, "\r\n--=_guestbox_%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", hex);
	invite_qp(&m, part.p != NULL ? part.p : "");
	free(part.p);
	memset(&part, 0, sizeof(part));

	invite_render(im->tpl[INVITE_MAIL_HTML], &v, 1, &part);
	sbuf_printf(&m, "\r\n--=_guestbox_%s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", hex);
	invite_qp(&m, part.p != NULL ? part.p : "");
	sbuf_printf(&m, "\r\n--=_guestbox_%s--\r\n", hex);
	free(part.p);
	free(subj.p);
	*msgp = m.p;
	*lenp = m.n;
}
