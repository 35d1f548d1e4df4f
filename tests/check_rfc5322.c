/*
 * check_rfc5322.c: header fields, address lists, msg-ids and dates
 * (mail/rfc5322.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rfc5322.h"
#include "rfc822-lex.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*rfc5322_suite(void);

static const char msg1[] =
    "From: Alice Example <alice@example.org>\r\n"
    "To: bob@x.test,\r\n"
    " \"Doe, John\" <john@x.test>\r\n"
    "Subject: a folded\r\n"
    "\tsubject\r\n"
    "X-Empty:\r\n"
    "Received : obsolete blank\r\n"
    "\r\n"
    "Body line\r\n"
    "From: not a header\r\n";

START_TEST(header_fields)
{
	struct rfc5322_header		*h;
	const struct rfc5322_field	*f;
	const char			*why;

	ck_assert_int_eq(rfc5322_header_parse(msg1, sizeof(msg1) - 1, &h,
	    &why), 0);
	ck_assert_uint_eq(h->nfields, 5);
	ck_assert_str_eq(h->fields[0].name, "From");
	ck_assert_str_eq(h->fields[0].value,
	    "Alice Example <alice@example.org>");
	ck_assert_str_eq(rfc5322_header_value(h, "to"),
	    "bob@x.test, \"Doe, John\" <john@x.test>");
	ck_assert_str_eq(rfc5322_header_value(h, "SUBJECT"),
	    "a folded\tsubject");
	ck_assert_str_eq(rfc5322_header_value(h, "X-Empty"), "");
	ck_assert_str_eq(rfc5322_header_value(h, "Received"),
	    "obsolete blank");
	ck_assert_ptr_null(rfc5322_header_value(h, "Cc"));
	/* The raw field keeps its folding and line ends. */
	f = rfc5322_header_find(h, "To", NULL);
	ck_assert_uint_eq(f->raw_len, strlen("To: bob@x.test,\r\n"
	    " \"Doe, John\" <john@x.test>\r\n"));
	ck_assert(strncmp(f->raw, "To: bob", 7) == 0);
	ck_assert_ptr_null(rfc5322_header_find(h, "To", f));
	/* The body starts after the empty line; its From is not a field. */
	ck_assert_str_eq(h->body, "Body line\r\nFrom: not a header\r\n");
	ck_assert_uint_eq(h->body_len, strlen(h->body));
	ck_assert_uint_eq(h->header_len + h->body_len, sizeof(msg1) - 1);
	ck_assert_uint_eq(rfc5322_header_count(h, "from"), 1);
	rfc5322_header_free(&h);
	ck_assert_ptr_null(h);
}
END_TEST

START_TEST(header_forms)
{
	struct rfc5322_header	*h;
	const char		*why, *m;

	/* LF line ends. */
	m = "A: 1\nB: 2\n  two\n\nbody\n";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_uint_eq(h->nfields, 2);
	ck_assert_str_eq(rfc5322_header_value(h, "B"), "2  two");
	ck_assert_str_eq(h->body, "body\n");
	rfc5322_header_free(&h);

	/* No body, no final line end. */
	m = "A: 1\r\nB: 2";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_uint_eq(h->nfields, 2);
	ck_assert_uint_eq(h->body_len, 0);
	ck_assert_str_eq(rfc5322_header_value(h, "B"), "2");
	rfc5322_header_free(&h);

	/* No header. */
	m = "\r\nbody only";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_uint_eq(h->nfields, 0);
	ck_assert_str_eq(h->body, "body only");
	rfc5322_header_free(&h);

	/* Repeated fields. */
	m = "To: a@x.test\r\nTo: b@x.test\r\n\r\n";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_uint_eq(rfc5322_header_count(h, "To"), 2);
	rfc5322_header_free(&h);
}
END_TEST

START_TEST(header_refusals)
{
	static const char *const bad[] = {
		" folded first: x\r\n\r\n",
		"no colon here\r\n\r\n",
		"From mbox line\r\nA: b\r\n\r\n",
		": empty name\r\n\r\n",
		"Bad\x01name: x\r\n\r\n",
		"Na me: x\r\n\r\n",
	};
	struct rfc5322_header	*h;
	const char		*why;
	char			*big;
	size_t			 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(rfc5322_header_parse(bad[i], strlen(bad[i]), &h,
		    &why) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_null(h);
		ck_assert_ptr_nonnull(why);
	}
	/* NUL in the header, but fine in the body. */
	ck_assert_int_eq(rfc5322_header_parse("A: x\0y\r\n\r\n", 10, &h, &why),
	    -1);
	ck_assert_int_eq(rfc5322_header_parse("A: x\r\n\r\n\0", 9, &h, &why),
	    0);
	rfc5322_header_free(&h);

	/* More than RFC5322_FIELDS_MAX fields. */
	big = xmalloc(20 * (RFC5322_FIELDS_MAX + 1) + 3);
	for (i = 0, n = 0; i <= RFC5322_FIELDS_MAX; i++)
		n += (size_t)sprintf(big + n, "X-F: %09zu\r\n", i);
	ck_assert_int_eq(rfc5322_header_parse(big, n, &h, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "fields"));
	/* Exactly the maximum is fine. */
	ck_assert_int_eq(rfc5322_header_parse(big, n - 16, &h, &why), 0);
	rfc5322_header_free(&h);
	free(big);

	/* A header over RFC5322_HEADER_MAX, as one endless field. */
	big = xmalloc(RFC5322_HEADER_MAX + 100);
	memcpy(big, "X: ", 3);
	memset(big + 3, 'a', RFC5322_HEADER_MAX + 90);
	memcpy(big + RFC5322_HEADER_MAX + 93, "\r\n\r\nb", 5);
	ck_assert_int_eq(rfc5322_header_parse(big, RFC5322_HEADER_MAX + 98, &h,
	    &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "256 KiB"));
	free(big);
}
END_TEST

START_TEST(unfold)
{
	char	*s;

	s = rfc5322_unfold("  a\r\n b\r\n\tc  \r\n", 15);
	ck_assert_str_eq(s, "a b\tc");
	free(s);
	s = rfc5322_unfold("", 0);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

static struct rfc5322_addrlist	 list;

static void
parse_ok(const char *value, size_t n)
{
	const char	*why;

	rfc5322_addrlist_clear(&list);
	ck_assert_msg(rfc5322_addrlist_parse(value, RFC5322_ADDRS_MAX, &list,
	    &why) == 0, "%s: %s", value, why);
	ck_assert_msg(list.naddrs == n, "%s: %zu addresses", value,
	    list.naddrs);
}

static void
parse_bad(const char *value)
{
	const char	*why;

	rfc5322_addrlist_clear(&list);
	ck_assert_msg(rfc5322_addrlist_parse(value, RFC5322_ADDRS_MAX, &list,
	    &why) == -1, "accepted %s", value);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(list.naddrs, 0);
}

static void
check_addr(size_t i, const char *display, const char *addr, const char *norm)
{
	struct rfc5322_addr	*a = &list.addrs[i];

	if (display == NULL)
		ck_assert_ptr_null(a->display);
	else
		ck_assert_str_eq(a->display, display);
	ck_assert_str_eq(a->addr, addr);
	if (norm == NULL)
		ck_assert_ptr_null(a->norm);
	else
		ck_assert_str_eq(a->norm, norm);
}

START_TEST(addr_simple)
{
	parse_ok("bob@x.test", 1);
	check_addr(0, NULL, "bob@x.test", "bob@x.test");
	parse_ok("Bob Smith <Bob@X.Test>", 1);
	check_addr(0, "Bob Smith", "Bob@X.Test", "bob@x.test");
	parse_ok("<bob@x.test>", 1);
	check_addr(0, NULL, "bob@x.test", "bob@x.test");
	parse_ok("\"Doe, John\" <john@x.test>, bob@x.test", 2);
	check_addr(0, "Doe, John", "john@x.test", "john@x.test");
	check_addr(1, NULL, "bob@x.test", "bob@x.test");
	parse_ok("\"Say \\\"hi\\\"\" <a@x.test>", 1);
	check_addr(0, "Say \"hi\"", "a@x.test", "a@x.test");
	ck_assert(rfc5322_addrlist_has(&list, "a@x.test"));
	ck_assert(!rfc5322_addrlist_has(&list, "b@x.test"));
	rfc5322_addrlist_clear(&list);
}
END_TEST

START_TEST(addr_comments_words)
{
	/* Comments anywhere, nested, with quoted pairs. */
	parse_ok("(lead) bob (a (nested\\) one)) @ (c) x.test (trail)", 1);
	check_addr(0, NULL, "bob@x.test", "bob@x.test");
	parse_ok("Bob (the builder) <bob@x.test>", 1);
	check_addr(0, "Bob", "bob@x.test", "bob@x.test");
	/* RFC 5322 4.1 obs-phrase. */
	parse_ok("J. R. Doe <jrd@x.test>", 1);
	check_addr(0, "J. R. Doe", "jrd@x.test", "jrd@x.test");
	/* Encoded words stay as they are (RFC 2047). */
	parse_ok("=?utf-8?q?J=C3=B6rg?= <joerg@x.test>", 1);
	check_addr(0, "=?utf-8?q?J=C3=B6rg?=", "joerg@x.test", "joerg@x.test");
	/* UTF-8 display names (RFC 6532). */
	parse_ok("J\xc3\xb6rg <joerg@x.test>", 1);
	check_addr(0, "J\xc3\xb6rg", "joerg@x.test", "joerg@x.test");
	/* Quoted local parts. */
	parse_ok("\"bob\"@x.test", 1);
	check_addr(0, NULL, "bob@x.test", "bob@x.test");
	parse_ok("\"bob smith\"@x.test", 1);
	check_addr(0, NULL, "\"bob smith\"@x.test", NULL);
	parse_ok("<\"a\\\"b\"@x.test>", 1);
	check_addr(0, NULL, "\"a\\\"b\"@x.test", NULL);
	/* Domain literals have no normal form. */
	parse_ok("a@[192.0.2.1]", 1);
	check_addr(0, NULL, "a@[192.0.2.1]", NULL);
	/* RFC 5322 4.4 obs-dtext: quoted pairs in a domain literal. */
	parse_ok("a@[x\\]y]", 1);
	check_addr(0, NULL, "a@[x\\]y]", NULL);
	/* A comment after the address is no display name (ENVELOPE's is). */
	parse_ok("a@x.test (Real Name)", 1);
	check_addr(0, NULL, "a@x.test", "a@x.test");
	/* RFC 5322 4.4 obs-route in angle brackets. */
	parse_ok("Bob <@relay.test,@other.test:bob@x.test>", 1);
	check_addr(0, "Bob", "bob@x.test", "bob@x.test");
	rfc5322_addrlist_clear(&list);
}
END_TEST

START_TEST(addr_groups)
{
	parse_ok("undisclosed-recipients:;", 0);
	ck_assert_uint_eq(list.ngroups, 1);
	parse_ok("undisclosed-recipients: ;", 0);
	parse_ok("undisclosed-recipients:", 0);
	parse_ok("Friends: a@x.test, \"B\" <b@x.test>; c@x.test", 3);
	ck_assert_uint_eq(list.ngroups, 1);
	ck_assert_str_eq(list.addrs[0].group, "Friends");
	ck_assert_str_eq(list.addrs[1].group, "Friends");
	ck_assert_ptr_null(list.addrs[2].group);
	check_addr(1, "B", "b@x.test", "b@x.test");
	parse_ok("A: a@x.test;, B: b@x.test;", 2);
	ck_assert_uint_eq(list.ngroups, 2);
	/* RFC 5322 4.4: empty list elements, in groups too. */
	parse_ok(" , a@x.test,, ,b@x.test,", 2);
	parse_ok("G: , a@x.test,, b@x.test,;", 2);
	ck_assert_str_eq(list.addrs[1].group, "G");
	parse_ok("", 0);
	parse_ok("  (only a comment) ", 0);
	rfc5322_addrlist_clear(&list);
}
END_TEST

START_TEST(addr_refusals)
{
	parse_bad("bob");
	parse_bad("Bob Smith");
	parse_bad("Bob Smith@x.test");
	parse_bad("bob@");
	parse_bad("@x.test");
	parse_bad("<>");
	parse_bad("Bob <bob@x.test");
	parse_bad("Bob <bob>");
	parse_bad("a@x.test b@x.test");
	parse_bad("a@x.test; b@x.test");
	parse_bad("(unclosed comment a@x.test");
	parse_bad("\"unclosed <a@x.test>");
	parse_bad("G: H: a@x.test;;");
	parse_bad("G: a@x.test b@x.test;");
	parse_bad(": a@x.test;");
	parse_bad(".a@x.test");
	parse_bad("a..b@x.test");
	parse_bad("a@x..test");
	parse_bad("a@[x");
	parse_bad("a@\"x\".test");
	parse_bad("<@relay a@x.test>");
	/* RFC 5322 4.4 obs-route is "@" domain, "," ...: nothing else. */
	parse_bad("Bob <@relay junk:bob@x.test>");
	/* RFC 5322 3.4.1: no "[" inside a domain literal. */
	parse_bad("a@[192.0.[2.1]");
	/* RFC 5322 4.1 obs-phrase starts with a word. */
	parse_bad(". R. Doe <jrd@x.test>");
}
END_TEST

/* RFC 5322 3.2.3 dot-atom-text, shared with RFC 5321 4.1.2 Dot-string. */
START_TEST(dot_atom_text)
{
	ck_assert_int_eq(rfc822_is_dot_atom_text("a", 0), 1);
	ck_assert_int_eq(rfc822_is_dot_atom_text("john.q.doe", 0), 1);
	ck_assert_int_eq(rfc822_is_dot_atom_text("!#$%&'*+-/=?^_`{|}~", 0), 1);
	ck_assert_int_eq(rfc822_is_dot_atom_text("", 0), 0);
	ck_assert_int_eq(rfc822_is_dot_atom_text(".a", 0), 0);
	ck_assert_int_eq(rfc822_is_dot_atom_text("a.", 0), 0);
	ck_assert_int_eq(rfc822_is_dot_atom_text("a..b", 1), 0);
	ck_assert_int_eq(rfc822_is_dot_atom_text("a b", 1), 0);
	ck_assert_int_eq(rfc822_is_dot_atom_text("a@b", 1), 0);
	ck_assert_int_eq(rfc822_is_dot_atom_text("\"a\"", 1), 0);
	/* RFC 6532 3.2: UTF-8 in a message, none in a plain SMTP path. */
	ck_assert_int_eq(rfc822_is_dot_atom_text("m\xc3\xbcller", 1), 1);
	ck_assert_int_eq(rfc822_is_dot_atom_text("m\xc3\xbcller", 0), 0);
}
END_TEST

START_TEST(addr_limits)
{
	struct rfc5322_header	*h;
	const char		*why, *m;
	char			*v;
	size_t			 i, n = 0;

	/* The list keeps what it had when a later parse fails. */
	rfc5322_addrlist_clear(&list);
	ck_assert_int_eq(rfc5322_addrlist_parse("a@x.test", 3, &list, &why),
	    0);
	ck_assert_int_eq(rfc5322_addrlist_parse("b@x.test, c@x.test, d@x.test",
	    3, &list, &why), -1);
	ck_assert_uint_eq(list.naddrs, 1);
	ck_assert_int_eq(rfc5322_addrlist_parse("b@x.test, c@x.test", 3, &list,
	    &why), 0);
	ck_assert_uint_eq(list.naddrs, 3);
	rfc5322_addrlist_clear(&list);

	/* RFC5322_ADDRS_MAX addresses parse, one more does not. */
	v = xmalloc(32 * (RFC5322_ADDRS_MAX + 1));
	for (i = 0; i <= RFC5322_ADDRS_MAX; i++)
		n += (size_t)sprintf(v + n, "%su%zu@x.test", i ? ", " : "", i);
	ck_assert_int_eq(rfc5322_addrlist_parse(v, RFC5322_ADDRS_MAX, &list,
	    &why), -1);
	ck_assert_uint_eq(list.naddrs, 0);
	*strrchr(v, ',') = '\0';
	ck_assert_int_eq(rfc5322_addrlist_parse(v, RFC5322_ADDRS_MAX, &list,
	    &why), 0);
	ck_assert_uint_eq(list.naddrs, RFC5322_ADDRS_MAX);
	ck_assert_str_eq(list.addrs[999].norm, "u999@x.test");
	rfc5322_addrlist_clear(&list);
	free(v);

	/* To and Cc into one list, repeated fields too. */
	m = "To: a@x.test\r\nCc: b@x.test, c@x.test\r\nTo: d@x.test\r\n\r\n";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_int_eq(rfc5322_header_addrs(h, "To", 100, &list, &why), 0);
	ck_assert_int_eq(rfc5322_header_addrs(h, "Cc", 100, &list, &why), 0);
	ck_assert_uint_eq(list.naddrs, 4);
	ck_assert(rfc5322_addrlist_has(&list, "d@x.test"));
	rfc5322_addrlist_clear(&list);
	rfc5322_header_free(&h);
}
END_TEST

START_TEST(msgids)
{
	char	*id, **ids;
	size_t	 n;

	id = rfc5322_msgid_parse(" <abc.123@host.test> ");
	ck_assert_str_eq(id, "<abc.123@host.test>");
	free(id);
	id = rfc5322_msgid_parse("(comment) <no-at-sign>");
	ck_assert_str_eq(id, "<no-at-sign>");
	free(id);
	ck_assert_ptr_null(rfc5322_msgid_parse("abc@host"));
	ck_assert_ptr_null(rfc5322_msgid_parse("<>"));
	ck_assert_ptr_null(rfc5322_msgid_parse("<a b@c>"));
	ck_assert_ptr_null(rfc5322_msgid_parse("<a@b"));
	ck_assert_ptr_null(rfc5322_msgid_parse(""));

	ck_assert_int_eq(rfc5322_msgids_parse("<a@x> <b@x>\t<c@x>", 10, &ids,
	    &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ids[2], "<c@x>");
	rfc5322_msgids_free(&ids, n);
	ck_assert_ptr_null(ids);
	/* RFC 5322 4.5.4: phrases between ids are skipped. */
	ck_assert_int_eq(rfc5322_msgids_parse("Your message of \"Monday\" "
	    "<a@x> (c) junk < <b@x>", 10, &ids, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ids[0], "<a@x>");
	ck_assert_str_eq(ids[1], "<b@x>");
	rfc5322_msgids_free(&ids, n);
	ck_assert_int_eq(rfc5322_msgids_parse("", 10, &ids, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(rfc5322_msgids_parse("<a@x> <b@x> <c@x>", 2, &ids,
	    &n), -1);
	ck_assert_ptr_null(ids);
}
END_TEST

START_TEST(dates)
{
	time_t	 t;
	int	 zone;

	ck_assert_int_eq(rfc5322_date_parse("Fri, 21 Nov 1997 09:55:06 -0600",
	    &t), 0);
	ck_assert_int_eq((long long)t, 880127706LL);
	ck_assert_int_eq(rfc5322_date_parse_zone("Fri, 21 Nov 1997 09:55:06 "
	    "-0630", &t, &zone), 0);
	ck_assert_int_eq(zone, -(6 * 3600 + 30 * 60));
	ck_assert_int_eq(rfc5322_date_parse_zone("21 Nov 1997 09:55 PDT", &t,
	    &zone), 0);
	ck_assert_int_eq(zone, -7 * 3600);
	ck_assert_int_eq(rfc5322_date_parse("21 Nov 1997 15:55:06 +0000", &t),
	    0);
	ck_assert_int_eq((long long)t, 880127706LL);
	ck_assert_int_eq(rfc5322_date_parse("Fri, 21 Nov 97 09:55:06 CST", &t),
	    0);
	ck_assert_int_eq((long long)t, 880127706LL);
	ck_assert_int_eq(rfc5322_date_parse(" Fri , 21 Nov 1997 15:55:06 GMT "
	    "(comment)", &t), 0);
	ck_assert_int_eq((long long)t, 880127706LL);
	ck_assert_int_eq(rfc5322_date_parse("1 jan 2001 00:00 +0100", &t), 0);
	ck_assert_int_eq((long long)t, 978303600LL);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 01 00:00:00 Z", &t), 0);
	ck_assert_int_eq((long long)t, 978307200LL);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 101 00:00:00 UT", &t), 0);
	ck_assert_int_eq((long long)t, 978307200LL);

	ck_assert_int_eq(rfc5322_date_parse("", &t), -1);
	ck_assert_int_eq(rfc5322_date_parse("yesterday", &t), -1);
	ck_assert_int_eq(rfc5322_date_parse("32 Jan 2001 00:00 +0000", &t),
	    -1);
	ck_assert_int_eq(rfc5322_date_parse("1 Foo 2001 00:00 +0000", &t), -1);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 2001 24:00 +0000", &t), -1);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 2001 00:00 +0060", &t), -1);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 2001 00:00", &t), -1);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 2001 00:00 +0000 x", &t),
	    -1);
	ck_assert_int_eq(rfc5322_date_parse("1 Jan 20011 00:00 +0000", &t),
	    -1);
}
END_TEST

/* What our Date, Received and Message-ID headers are made of. */
START_TEST(date_format_ids)
{
	char	 buf[RFC5322_DATE_MAX], id[33], id2[33], shortid[17];
	time_t	 t;
	size_t	 i;

	rfc5322_date_format(880127706, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Fri, 21 Nov 1997 15:55:06 +0000");
	/* Local time with its offset names the same instant. */
	rfc5322_date_format(880127706, 0, buf, sizeof(buf));
	ck_assert_int_eq(rfc5322_date_parse(buf, &t), 0);
	ck_assert_int_eq((long long)t, 880127706LL);

	rfc5322_random_id(id, sizeof(id));
	rfc5322_random_id(id2, sizeof(id2));
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert_str_ne(id, id2);
	for (i = 0; id[i] != '\0'; i++)
		ck_assert(strchr("0123456789abcdef", id[i]) != NULL);
	rfc5322_random_id(shortid, sizeof(shortid));
	ck_assert_uint_eq(strlen(shortid), 16);
}
END_TEST

/* RFC 5321 4.4 trace fields of a final delivery (LMTP and the gateway). */
START_TEST(trace_final)
{
	char	*h;
	size_t	 n;
	time_t	 t;

	h = rfc5322_trace_final("a@x.test", "b@y.test", "client.x.test",
	    "192.0.2.1", "mx.y.test", "guestbox", "LMTP", &n);
	ck_assert_uint_eq(n, strlen(h));
	ck_assert_msg(strncmp(h, "Return-Path: <a@x.test>\r\n"
	    "Delivered-To: b@y.test\r\n"
	    "Received: from client.x.test (192.0.2.1)\r\n"
	    "\tby mx.y.test (guestbox) with LMTP id ", 129) == 0, "%s", h);
	ck_assert_uint_eq(strspn(h + 129, "0123456789abcdef"), 16);
	ck_assert_msg(strncmp(h + 145, "\r\n\tfor <b@y.test>; ", 19) == 0,
	    "%s", h);
	ck_assert_msg(strcmp(h + n - 2, "\r\n") == 0, "%s", h);
	h[n - 2] = '\0';
	ck_assert_int_eq(rfc5322_date_parse(h + 164, &t), 0);
	free(h);
	/* No protocol: no "with"; no HELO: "unknown". */
	h = rfc5322_trace_final("", "b@y.test", "", "192.0.2.1", "mx.y.test",
	    "guestbox gateway", NULL, &n);
	ck_assert_msg(strstr(h, "Return-Path: <>\r\n") == h, "%s", h);
	ck_assert_msg(strstr(h, "Received: from unknown (192.0.2.1)\r\n"
	    "\tby mx.y.test (guestbox gateway)\r\n\tfor <b@y.test>; ") != NULL,
	    "%s", h);
	free(h);
}
END_TEST

Suite *
rfc5322_suite(void)
{
	Suite	*s = suite_create("rfc5322");
	TCase	*tc;

	tc = tcase_create("header");
	tcase_add_test(tc, header_fields);
	tcase_add_test(tc, header_forms);
	tcase_add_test(tc, header_refusals);
	tcase_add_test(tc, unfold);
	suite_add_tcase(s, tc);

	tc = tcase_create("addresses");
	tcase_add_test(tc, addr_simple);
	tcase_add_test(tc, addr_comments_words);
	tcase_add_test(tc, addr_groups);
	tcase_add_test(tc, addr_refusals);
	tcase_add_test(tc, addr_limits);
	tcase_add_test(tc, dot_atom_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("ids_dates");
	tcase_add_test(tc, msgids);
	tcase_add_test(tc, dates);
	tcase_add_test(tc, date_format_ids);
	tcase_add_test(tc, trace_final);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(rfc5322_suite());
}
