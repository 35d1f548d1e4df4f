/*
 * bootstrap-password.c: the password form, its policy, and the one step
 * that uses the invitation up (activate_password).
 *
 * The password can never be changed or reset (SPEC), so the page says so
 * before anything else, asks for it twice, and refuses short and common
 * ones.  The list of common passwords is compiled in from
 * provision/common-passwords.txt.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "activate.h"
#include "bootstrap.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

static const char *const password_common[] = {
#include "common-passwords.inc"
};

#define PASSWORD_NCOMMON (sizeof(password_common) / sizeof(password_common[0]))
/* Fewer different characters than this is a pattern, not a password. */
#define PASSWORD_MIN_DISTINCT	5

static int
password_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static int
password_is_common_word(const char *s)
{
	return s[0] != '\0' && bsearch(s, password_common, PASSWORD_NCOMMON,
	    sizeof(password_common[0]), password_cmp) != NULL;
}

/*
 * The list holds words; "Sommer2024!" is "sommer" with decoration, so
 * digits and punctuation around a listed word do not save it.
 */
static int
password_is_common(const char *pw, size_t len)
{
	char	*low, *p, *e;
	size_t	 i;
	int	 common;

	low = xsecret_alloc(len + 1);
	for (i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)pw[i]);
	low[len] = '\0';
	common = password_is_common_word(low);
	for (p = low; *p != '\0' && !isalpha((unsigned char)*p); p++)
		;
	for (e = low + len; e > p && !isalpha((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (!common && (size_t)(e - p) >= 4)
		common = password_is_common_word(p);
	xsecret_free(low);
	return common;
}

/* Code points of valid UTF-8 (RFC 3629); -1 if it is not. */
static long
password_utf8_length(const char *s, size_t len)
{
	size_t		 i = 0;
	long		 count = 0;
	uint32_t	 cp;

	while (i < len) {
		if (utf8_decode((const unsigned char *)s, len, &i, &cp) == -1)
			return -1;
		count++;
	}
	return count;
}

static int
password_contains(const char *pw, size_t len, const char *needle, size_t nlen)
{
	size_t	 i, j;

	if (nlen == 0 || nlen > len)
		return 0;
	for (i = 0; i + nlen <= len; i++) {
		for (j = 0; j < nlen; j++)
			if (tolower((unsigned char)pw[i + j]) !=
			    tolower((unsigned char)needle[j]))
				break;
		if (j == nlen)
			return 1;
	}
	return 0;
}

enum text_id
password_check(const char *pw, size_t len, const char *pw2, size_t len2,
    const char *address, uint64_t min_length)
{
	const char	*at;
	long		 n;
	size_t		 i, distinct = 0;
	uint8_t		 seen[256];

	if (pw == NULL || pw2 == NULL || len != len2 ||
	    sodium_memcmp(pw, pw2, len) != 0)
		return T_PW_MISMATCH;
	if (len > BS_MAX_PASSWORD)
		return T_PW_LONG;
	if ((n = password_utf8_length(pw, len)) == -1)
		return T_PW_BAD_CHARS;
	if ((uint64_t)n < min_length)
		return T_PW_SHORT;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < len; i++)
		if (!seen[(unsigned char)pw[i]]++)
			distinct++;
	/* Each rule its own words: "aaaaabbbbbb" is no common password. */
	if (distinct < PASSWORD_MIN_DISTINCT)
		return T_PW_FEW_CHARS;
	if (password_is_common(pw, len))
		return T_PW_COMMON;
	if (address != NULL && (at = strchr(address, '@')) != NULL &&
	    (password_contains(pw, len, address, strlen(address)) ||
	    ((size_t)(at - address) >= 3 &&
	    password_contains(pw, len, address, (size_t)(at - address)))))
		return T_PW_ADDRESS;
	return T_COUNT;
}

static void
password_form(struct bs_req *r, enum text_id error)
{
	struct evbuffer	*b;
	char		 min[24], distinct[8];
	const char	*args[2] = { min, distinct };

	snprintf(min, sizeof(min), "%llu",
	    (unsigned long long)r->conf->password_min_length);
	snprintf(distinct, sizeof(distinct), "%d", PASSWORD_MIN_DISTINCT);
	b = html_begin(r, T_PW_TITLE);
	html_form_error(b, r, error, args, 2);
	evbuffer_add_printf(b, "<div class=\"warning\" id=\"warning\">\n"
	    "<p><strong>");
	html_text(b, r, T_PW_WARNING_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</strong></p>\n");
	html_para(b, r, T_PW_WARNING, NULL);
	evbuffer_add_printf(b, "</div>\n");
	html_para(b, r, T_PW_INTRO, NULL);
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/password\">\n");
	html_csrf(b, r, "password");
	/* Password managers file the new password under this user name. */
	evbuffer_add_printf(b, "<p><label for=\"username\">");
	html_text(b, r, T_PW_USER_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"username\" "
	    "name=\"username\" type=\"email\" autocomplete=\"username\" "
	    "readonly value=\"");
	html_escape(b, r->sess->address);
	evbuffer_add_printf(b, "\"></p>\n<p><label for=\"password\">");
	html_text(b, r, T_PW_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"password\" "
	    "name=\"password\" type=\"password\" autocomplete=\"new-password\" "
	    "minlength=\"%s\" maxlength=\"%d\" required autofocus "
	    "aria-describedby=\"pwhint warning%s\"></p>\n", min,
	    BS_MAX_PASSWORD, error != T_COUNT ? " error" : "");
	evbuffer_add_printf(b, "<p class=\"hint\" id=\"pwhint\">");
	html_text(b, r, T_PW_HINT, args, 1);
	evbuffer_add_printf(b, "</p>\n<p><label for=\"password2\">");
	html_text(b, r, T_PW_LABEL2, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"password2\" "
	    "name=\"password2\" type=\"password\" autocomplete=\"new-password\" "
	    "minlength=\"%s\" maxlength=\"%d\" required></p>\n", min,
	    BS_MAX_PASSWORD);
	html_form_submit(b, r, T_PW_SUBMIT);
	html_end(r, b, 200, "OK");
}

void
password_get(struct bs_req *r)
{
	enum activate_result	 ar;

	if (!bs_step_applies(r, SESSION_PIN_OK))
		return;
	ar = activate_check(r->bd->d.store, r->conf, r->sess->token, NULL,
	    NULL, NULL, r->sess->address, sizeof(r->sess->address));
	if (!bs_check_refused(r, ar))
		password_form(r, bs_flash_take(r));
}

void
password_post(struct bs_req *r)
{
	enum activate_result	 ar;
	enum text_id		 why;
	const char		*pw, *pw2;
	size_t			 len = 0, len2 = 0;
	char			 addr[ADDR_MAX + 1];

	if (!bs_step_applies(r, SESSION_PIN_OK))
		return;
	pw = bs_form_get(&r->form, "password", &len);
	pw2 = bs_form_get(&r->form, "password2", &len2);
	if ((why = password_check(pw, len, pw2, len2, r->sess->address,
	    r->conf->password_min_length)) != T_COUNT) {
		bs_form_refused(r, why, "/password");
		return;
	}
	ar = activate_password(r->bd->d.store, r->conf, r->sess->token,
	    r->sess->pin[0] != '\0' ? r->sess->pin : NULL, pw,
	    ACTIVATE_WELCOME, addr, sizeof(addr));
	switch (ar) {
	case ACTIVATE_OK:
		log_info("%s: %s activated", r->peer, addr);
		/* The token is spent: nothing of it stays, not even sealed. */
		sodium_memzero(r->sess->token, sizeof(r->sess->token));
		sodium_memzero(r->sess->pin, sizeof(r->sess->pin));
		snprintf(r->sess->address, sizeof(r->sess->address), "%s", addr);
		r->sess->expires = (int64_t)time(NULL) + BS_SESSION_DONE;
		session_enter_state(r->sess, SESSION_DONE, "password set");
		bs_session_save(r, r->sess);
		bs_redirect(r, "/done");
		break;
	case ACTIVATE_ERROR:
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		break;
	default:
		/* Used meanwhile (a second submit), expired, locked, re-issued. */
		bs_invalid(r);
		break;
	}
}
