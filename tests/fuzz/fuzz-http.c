/*
 * fuzz-http.c: what guestbox-bootstrapd parses of a request besides the
 * URL, the way bootstrapd.c's request handler runs it: the Cookie header
 * (the session and the language cookie), the sealed session cookie, the
 * form body of a POST and its CSRF token, Accept-Language.
 *
 * Input: "Cookie header\nContent-Type\nAccept-Language\nbody"; missing
 * lines are absent headers.  The same bytes also make a session that is
 * sealed and opened again, which must give back what was sealed exactly
 * when its state and expiry are valid (random bytes never pass the MAC,
 * so this is how the checks behind it are reached).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bootstrap.h"
#include "log.h"

#define FUZZ_NOW	((time_t)1700000000)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The next line of in (NUL-terminated copy, caller frees), or NULL. */
static char *
fuzz_line(const uint8_t **in, size_t *left)
{
	const uint8_t	*nl;
	char		*line;
	size_t		 n;

	if (*left == 0)
		return NULL;
	if ((nl = memchr(*in, '\n', *left)) == NULL)
		n = *left;
	else
		n = (size_t)(nl - *in);
	/* A header value from evhttp ends at its first NUL. */
	line = strndup((const char *)*in, n);
	if (line == NULL)
		abort();
	*in += n;
	*left -= n;
	if (*left > 0) {
		(*in)++;
		(*left)--;
	}
	return line;
}

static void
fuzz_cookie(const char *header, const char *name)
{
	char	*v;

	if ((v = bs_cookie_get(header, name)) == NULL)
		return;
	/* One cookie: bounded, and never runs into the next. */
	if (strlen(v) > BS_MAX_COOKIE || strchr(v, ';') != NULL)
		abort();
	if (header == NULL || strstr(header, v) == NULL)
		abort();
	(void)text_lang_parse(v);
	free(v);
}

static void
fuzz_form(const char *ct, const uint8_t *body, size_t len, const char *cookie)
{
	struct bs_form	 f;
	const char	*v;
	char		 why[128];
	size_t		 i, j, n;

	memset(&f, 0, sizeof(f));
	why[0] = '\0';
	if (bs_form_parse_body(&f, ct, (const char *)body, len, why,
	    sizeof(why)) == -1 && (why[0] == '\0' || f.nfields != 0))
		abort();
	if (f.nfields > BS_MAX_FIELDS)
		abort();
	for (i = 0; i < f.nfields; i++) {
		/* Decoded: no controls, so no NUL inside a value. */
		if (strlen(f.fval[i]) != f.flen[i])
			abort();
		for (j = 0; j < f.flen[i]; j++)
			if ((unsigned char)f.fval[i][j] < 0x20 ||
			    f.fval[i][j] == 0x7f)
				abort();
		for (j = 0; j < i; j++)
			if (strcmp(f.fname[i], f.fname[j]) == 0)
				abort();
		if ((v = bs_form_get(&f, f.fname[i], &n)) != f.fval[i] ||
		    n != f.flen[i])
			abort();
	}
	/* A token the server did not make never passes. */
	v = bs_form_get(&f, "csrf", NULL);
	if (session_csrf_check(cookie, "pin", v)) {
		char	*good = session_csrf(cookie, "pin");

		if (strcmp(good, v) != 0)
			abort();
		free(good);
	}
	bs_form_clear(&f);
	if (f.nfields != 0)
		abort();
}

/* A session from the input's bytes, sealed and opened again. */
static void
fuzz_seal(const uint8_t *data, size_t size)
{
	struct session	*s, *o;
	char		*sealed, *csrf;
	int32_t		 delta = 0;
	size_t		 n;
	int		 valid;

	s = session_new();
	o = session_new();
	if (size > 0)
		s->state = (enum session_state)(data[0] % 8);
	if (size >= 5)
		memcpy(&delta, data + 1, 4);
	s->expires = (int64_t)FUZZ_NOW + delta;
	n = size > 5 ? size - 5 : 0;
	memcpy(s->token, data + 5, n < 32 ? n : 32);
	if (n > 32)
		memcpy(s->pin, data + 37, n - 32 < 16 ? n - 32 : 16);
	if (n > 48)
		memcpy(s->address, data + 53, n - 48 < ADDR_MAX ? n - 48 :
		    ADDR_MAX);
	s->address[ADDR_MAX] = '\0';

	sealed = session_seal(s);
	valid = s->state > SESSION_NONE && s->state < SESSION_STATE_COUNT &&
	    s->expires > (int64_t)FUZZ_NOW;
	if ((session_open(sealed, FUZZ_NOW, o) == 0) != valid)
		abort();
	if (valid && (o->state != s->state || o->expires != s->expires ||
	    memcmp(o->token, s->token, 32) != 0 ||
	    memcmp(o->pin, s->pin, sizeof(o->pin) - 1) != 0 ||
	    o->pin[sizeof(o->pin) - 1] != '\0' ||
	    strcmp(o->address, s->address) != 0))
		abort();
	/* A CSRF token is bound to its cookie and its form. */
	csrf = session_csrf(sealed, "password");
	if (!session_csrf_check(sealed, "password", csrf) ||
	    session_csrf_check(sealed, "pin", csrf))
		abort();
	free(csrf);
	free(sealed);
	session_free(&o);
	session_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 init;
	struct session	*s;
	const uint8_t	*in = data;
	size_t		 left = size;
	char		*cookie_hdr, *ct, *al, *cookie;

	if (!init) {
		if (sodium_init() == -1)
			abort();
		log_init("fuzz-http", 1, 0);
		session_init();
		init = 1;
	}
	cookie_hdr = fuzz_line(&in, &left);
	ct = fuzz_line(&in, &left);
	al = fuzz_line(&in, &left);

	(void)text_negotiate(al);
	fuzz_cookie(cookie_hdr, SESSION_LANG_COOKIE);
	fuzz_cookie(cookie_hdr, SESSION_COOKIE);

	/* bootstrapd.c: the session cookie, then the form. */
	cookie = bs_cookie_get(cookie_hdr, SESSION_COOKIE);
	s = session_new();
	if (cookie != NULL && session_open(cookie, FUZZ_NOW, s) == 0)
		abort();	/* nobody but us holds the sealing key */
	session_free(&s);
	fuzz_form(ct, in, left, cookie);
	free(cookie);

	fuzz_seal(data, size);

	free(al);
	free(ct);
	free(cookie_hdr);
	return 0;
}
