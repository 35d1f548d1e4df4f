/*
 * check_imap_fetch_parse.c: FETCH attribute lists.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "imap-fetch-parse.h"
#include "imap-parser.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_fetch_parse_suite(void);

/*
 * Parses "a FETCH 1 " + rest (or "a UID FETCH 1 " + rest) and describes
 * the request, or returns "BAD <error>".
 */
static char *
fetch(const char *rest, int uid, struct imap_fetch_request *keep)
{
	struct imap_parser		*p;
	struct evbuffer			*in, *out;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*perr;
	struct imap_fetch_request	 req;
	const char			*error;
	const struct imap_arg		*args;
	char				*s;
	size_t				 i, j, n;
	int				 r;

	p = imap_parser_new(NULL);
	in = evbuffer_new();
	out = evbuffer_new();
	evbuffer_add_printf(in, "a %sFETCH 1 %s\r\n", uid ? "UID " : "", rest);
	r = imap_parser_read(p, in, &cmd, &perr);
	while (r == IMAP_PARSE_CONTINUE)
		r = imap_parser_read(p, in, &cmd, &perr);
	if (r != IMAP_PARSE_DONE) {
		evbuffer_add_printf(out, "PARSE %s",
		    perr != NULL ? perr->text : "incomplete");
		goto done;
	}
	args = cmd->args + (uid ? 2 : 1);
	if (imap_fetch_parse(args, uid, &req, &error) == -1) {
		evbuffer_add_printf(out, "BAD %s", error);
		imap_fetch_request_clear(&req);
		goto done;
	}
	evbuffer_add_printf(out, "%#x", req.attrs);
	for (i = 0; i < req.nparts; i++) {
		const struct imap_fetch_part *pt = &req.parts[i];

		evbuffer_add_printf(out, " %s%s/k%d/t%d/", pt->name,
		    pt->peek ? "/peek" : "", pt->kind, pt->text);
		for (j = 0; j < pt->depth; j++)
			evbuffer_add_printf(out, "%s%u", j ? "." : "",
			    pt->path[j]);
		for (j = 0; j < pt->nfields; j++)
			evbuffer_add_printf(out, "%s%s", j ? "," : "/f:",
			    pt->fields[j]);
		if (pt->partial)
			evbuffer_add_printf(out, "/<%u.%u>", pt->offset,
			    pt->length);
	}
	if (req.sets_seen)
		evbuffer_add_printf(out, " seen");
	if (req.changedsince_set)
		evbuffer_add_printf(out, " changedsince=%llu",
		    (unsigned long long)req.changedsince);
	if (req.vanished)
		evbuffer_add_printf(out, " vanished");
	/* The request must outlive the parser's command. */
	if (keep != NULL)
		*keep = req;
	else
		imap_fetch_request_clear(&req);
done:
	imap_parser_free(&p);
	n = evbuffer_get_length(out);
	s = xmalloc(n + 1);
	evbuffer_remove(out, s, n);
	s[n] = '\0';
	evbuffer_free(in);
	evbuffer_free(out);
	return s;
}

static void
check_fetch(const char *rest, int uid, const char *want)
{
	char	*got = fetch(rest, uid, NULL);

	if (strcmp(got, want) != 0)
		ck_abort_msg("%s:\n  want %s\n  got  %s", rest, want, got);
	free(got);
}

START_TEST(test_attrs)
{
	check_fetch("FLAGS", 0, "0x1");
	check_fetch("(FLAGS UID)", 0, "0x41");
	check_fetch("(flags internaldate rfc822.size envelope body "
	    "bodystructure uid modseq)", 0, "0xff");
	check_fetch("ALL", 0, "0xf");
	check_fetch("fast", 0, "0x7");
	check_fetch("FULL", 0, "0x1f");
	check_fetch("(FLAGS FLAGS)", 0, "0x1");
	check_fetch("RFC822", 0, "0 RFC822/k2/t0/ seen");
	check_fetch("RFC822.HEADER", 0, "0 RFC822.HEADER/peek/k3/t1/");
	check_fetch("(RFC822.TEXT UID)", 0, "0x40 RFC822.TEXT/k4/t4/ seen");
}
END_TEST

START_TEST(test_sections)
{
	check_fetch("BODY[]", 0, "0 BODY[]/k1/t0/ seen");
	check_fetch("BODY.PEEK[]", 0, "0 BODY[]/peek/k1/t0/");
	check_fetch("body.peek[header]", 0, "0 BODY[HEADER]/peek/k1/t1/");
	check_fetch("BODY[TEXT]", 0, "0 BODY[TEXT]/k1/t4/ seen");
	check_fetch("BODY[1]", 0, "0 BODY[1]/k1/t0/1 seen");
	check_fetch("BODY[1.2.3]", 0, "0 BODY[1.2.3]/k1/t0/1.2.3 seen");
	check_fetch("BODY[1.2.MIME]", 0, "0 BODY[1.2.MIME]/k1/t5/1.2 seen");
	check_fetch("BODY[4.2.HEADER]", 0, "0 BODY[4.2.HEADER]/k1/t1/4.2 seen");
	check_fetch("BODY[3.TEXT]", 0, "0 BODY[3.TEXT]/k1/t4/3 seen");
	check_fetch("BODY.PEEK[HEADER.FIELDS (From To)]", 0,
	    "0 BODY[HEADER.FIELDS (FROM TO)]/peek/k1/t2//f:From,To");
	check_fetch("BODY.PEEK[1.HEADER.FIELDS.NOT (\"x-a\" {3}\r\nX-B)]", 0,
	    "0 BODY[1.HEADER.FIELDS.NOT (X-A X-B)]/peek/k1/t3/1/f:x-a,X-B");
	check_fetch("(UID BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT "
	    "CONTENT-TYPE X-PRIORITY)])", 0,
	    "0x40 BODY[HEADER.FIELDS (DATE FROM SUBJECT CONTENT-TYPE X-PRIORITY)]"
	    "/peek/k1/t2//f:DATE,FROM,SUBJECT,CONTENT-TYPE,X-PRIORITY");
	/* Field names that are no atoms come back quoted. */
	check_fetch("BODY[HEADER.FIELDS (\"a b\" \"c]\")]", 0,
	    "0 BODY[HEADER.FIELDS (\"A B\" \"C]\")]/k1/t2//f:a b,c] seen");
	/* iOS: BODY.PEEK[1]<0.393216>; the answer names the origin only. */
	check_fetch("BODY.PEEK[1]<0.393216>", 0,
	    "0 BODY[1]<0>/peek/k1/t0/1/<0.393216>");
	check_fetch("BODY[]<100.1>", 0, "0 BODY[]<100>/k1/t0//<100.1> seen");
	check_fetch("BINARY[1]", 0, "0 BINARY[1]/k5/t0/1 seen");
	check_fetch("BINARY.PEEK[1.2]<0.10>", 0,
	    "0 BINARY[1.2]<0>/peek/k5/t0/1.2/<0.10>");
	check_fetch("BINARY.SIZE[1]", 0, "0 BINARY.SIZE[1]/peek/k6/t0/1");
	check_fetch("BINARY[]", 0, "0 BINARY[]/k5/t0/ seen");
	check_fetch("(BODY.PEEK[] BODY[TEXT])", 0,
	    "0 BODY[]/peek/k1/t0/ BODY[TEXT]/k1/t4/ seen");
}
END_TEST

START_TEST(test_partial_bounds)
{
	/* The catalogue: <4294967295.4294967295> overflows nothing. */
	check_fetch("BODY[]<4294967295.4294967295>", 0,
	    "0 BODY[]<4294967295>/k1/t0//<4294967295.4294967295> seen");
	check_fetch("BODY[]<4294967296.1>", 0,
	    "BAD Invalid partial: number too large");
	check_fetch("BODY[]<0.4294967296>", 0,
	    "BAD Invalid partial: number too large");
	check_fetch("BODY[]<99999999999999999999.1>", 0,
	    "BAD Invalid partial: number too large");
	check_fetch("BODY[]<0.0>", 0, "BAD Invalid partial: length 0");
	/* The offset is a number, the length an nz-number (RFC 3501 9). */
	check_fetch("BODY[]<0.05>", 0,
	    "BAD Invalid partial: length with a leading zero");
	check_fetch("BODY[]<007.10>", 0, "0 BODY[]<7>/k1/t0//<7.10> seen");
	check_fetch("BODY[]<0>", 0, "BAD Invalid partial");
	check_fetch("BODY[]<-1.5>", 0, "BAD Invalid partial");
	check_fetch("BODY[]<1.5", 0, "BAD Invalid partial");
	check_fetch("BODY[]<1.5>x", 0, "BAD Invalid data after partial");
	check_fetch("BODY[]<.5>", 0, "BAD Invalid partial");
	check_fetch("BODY[]x", 0, "BAD Invalid data after section");
	check_fetch("BINARY.SIZE[1]<0.1>", 0, "BAD BINARY.SIZE takes no partial");
}
END_TEST

START_TEST(test_bad_sections)
{
	char	*in, *got;
	size_t	 i;

	check_fetch("BODY[MIME]", 0, "BAD Invalid section: MIME needs a part number");
	check_fetch("BODY[0]", 0, "BAD Invalid section: part numbers start at 1");
	check_fetch("BODY[1.0]", 0, "BAD Invalid section: part numbers start at 1");
	check_fetch("BODY[1.]", 0, "BAD Invalid section");
	check_fetch("BODY[.1]", 0, "BAD Invalid section: .1");
	check_fetch("BODY[1..2]", 0, "BAD Invalid section: .2");
	/* RFC 3501 9: nz-number has no leading zero (Dovecot is laxer). */
	check_fetch("BODY[01]", 0,
	    "BAD Invalid section: part number with a leading zero");
	check_fetch("BODY[1.02.TEXT]", 0,
	    "BAD Invalid section: part number with a leading zero");
	check_fetch("BODY[10.20]", 0, "0 BODY[10.20]/k1/t0/10.20 seen");
	check_fetch("BODY[4294967296]", 0,
	    "BAD Invalid section: part number too large");
	check_fetch("BODY[4294967295]", 0,
	    "0 BODY[4294967295]/k1/t0/4294967295 seen");
	check_fetch("BODY[TEXT.MIME]", 0, "BAD Invalid section: TEXT.MIME");
	check_fetch("BODY[HEADER.FIELDS]", 0,
	    "BAD Invalid section: HEADER.FIELDS needs field names");
	check_fetch("BODY[HEADER.FIELDS ()]", 0,
	    "BAD Invalid section: HEADER.FIELDS needs field names");
	/* Only HEADER.FIELDS takes a list: the parser refuses the rest. */
	check_fetch("BODY[HEADER (A)]", 0,
	    "PARSE Missing space after an argument");
	check_fetch("BODY[HEADER.FIELDS ((A))]", 0,
	    "BAD Invalid section: header field name expected");
	check_fetch("BODY[HEADERS]", 0, "BAD Invalid section: HEADERS");
	check_fetch("BINARY[1.TEXT]", 0,
	    "BAD Invalid section: BINARY takes part numbers only");
	check_fetch("BODY.PEEK", 0, "BAD BODY.PEEK needs a section");
	check_fetch("BODY[1", 0, "BAD Invalid section: missing ']'");
	check_fetch("BODYX[1]", 0, "BAD Unknown FETCH attribute: BODYX");

	/* At most 256 header field names in one list. */
	in = xmalloc(40 + 257 * 6);
	strcpy(in, "BODY.PEEK[HEADER.FIELDS (");
	for (i = 0; i < 256; i++)
		strcat(in, i > 0 ? " X-F" : "X-F");
	strcat(in, ")]");
	got = fetch(in, 0, NULL);
	ck_assert(strncmp(got, "0 BODY[HEADER.FIELDS (X-F X-F", 29) == 0);
	free(got);
	in[strlen(in) - 2] = '\0';
	strcat(in, " X-F)]");
	check_fetch(in, 0, "BAD Invalid section: more than 256 header fields");
	free(in);

	/* Sections 1000 levels deep: refused past 100. */
	in = xmalloc(8 + 2000 + 2);
	strcpy(in, "BODY[1");
	for (i = 1; i < 1000; i++)
		strcat(in, ".1");
	strcat(in, "]");
	check_fetch(in, 0, "BAD Invalid section: more than 100 levels of parts");
	/* 100 are fine. */
	in[6 + 99 * 2] = ']';
	in[6 + 99 * 2 + 1] = '\0';
	got = fetch(in, 0, NULL);
	ck_assert(strncmp(got, "0 BODY[1.1.1.", 13) == 0);
	free(got);
	free(in);
}
END_TEST

START_TEST(test_bad_lists)
{
	check_fetch("", 0, "BAD Missing FETCH attributes");
	check_fetch("()", 0, "BAD Empty FETCH attribute list");
	check_fetch("(ALL)", 0, "BAD Unknown FETCH attribute: ALL");
	check_fetch("(FLAGS (UID))", 0, "BAD Invalid FETCH attribute: list");
	check_fetch("\"FLAGS\"", 0, "BAD Invalid FETCH attribute: string");
	check_fetch("FOO", 0, "BAD Unknown FETCH attribute: FOO");
	check_fetch("FLAGS UID", 0, "BAD Invalid FETCH modifiers");
	check_fetch("FLAGS (CHANGEDSINCE 1) x", 0,
	    "BAD Unexpected argument after FETCH modifiers");
}
END_TEST

START_TEST(test_modifiers)
{
	check_fetch("(FLAGS) (CHANGEDSINCE 12)", 0, "0x81 changedsince=12");
	check_fetch("(FLAGS) (CHANGEDSINCE 0)", 0, "0x81 changedsince=0");
	check_fetch("(FLAGS) (CHANGEDSINCE 9223372036854775807)", 0,
	    "0x81 changedsince=9223372036854775807");
	check_fetch("(FLAGS) (CHANGEDSINCE 9223372036854775808)", 0,
	    "BAD CHANGEDSINCE needs a mod-sequence");
	check_fetch("(FLAGS) (CHANGEDSINCE 12 VANISHED)", 1,
	    "0x81 changedsince=12 vanished");
	check_fetch("(FLAGS) (VANISHED CHANGEDSINCE 12)", 1,
	    "0x81 changedsince=12 vanished");
	check_fetch("(FLAGS) (CHANGEDSINCE 12 VANISHED)", 0,
	    "BAD VANISHED needs UID FETCH");
	check_fetch("(FLAGS) (VANISHED)", 1, "BAD VANISHED needs CHANGEDSINCE");
	check_fetch("(FLAGS) (CHANGEDSINCE)", 0,
	    "BAD CHANGEDSINCE needs a mod-sequence");
	check_fetch("(FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)", 0,
	    "BAD CHANGEDSINCE given twice");
	check_fetch("(FLAGS) (FOO)", 0, "BAD Unknown FETCH modifier: FOO");
	check_fetch("(FLAGS) ()", 0, "BAD Empty FETCH modifier list");
}
END_TEST

START_TEST(test_ownership)
{
	struct imap_fetch_request	 req;
	char				*got;

	/* The request keeps its own copies after the parser is gone. */
	got = fetch("BODY.PEEK[HEADER.FIELDS (Message-ID)]", 0, &req);
	ck_assert_uint_eq(req.nparts, 1);
	ck_assert_str_eq(req.parts[0].fields[0], "Message-ID");
	ck_assert_str_eq(req.parts[0].name, "BODY[HEADER.FIELDS (MESSAGE-ID)]");
	imap_fetch_request_clear(&req);
	ck_assert_uint_eq(req.nparts, 0);
	ck_assert_ptr_null(req.parts);
	free(got);
}
END_TEST

Suite *
imap_fetch_parse_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_fetch_parse");
	tc = tcase_create("valid");
	tcase_add_test(tc, test_attrs);
	tcase_add_test(tc, test_sections);
	tcase_add_test(tc, test_modifiers);
	tcase_add_test(tc, test_ownership);
	suite_add_tcase(s, tc);
	tc = tcase_create("invalid");
	tcase_add_test(tc, test_partial_bounds);
	tcase_add_test(tc, test_bad_sections);
	tcase_add_test(tc, test_bad_lists);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(imap_fetch_parse_suite());
}
