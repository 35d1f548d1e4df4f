/*
 * check_imap_search_parse.c: SEARCH programs.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "imap-parser.h"
#include "imap-search-parse.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_search_parse_suite(void);

static const char *const type_names[] = {
	[IMAP_SEARCH_AND] = "AND", [IMAP_SEARCH_OR] = "OR",
	[IMAP_SEARCH_NOT] = "NOT", [IMAP_SEARCH_ALL] = "ALL",
	[IMAP_SEARCH_SEQSET] = "SEQ", [IMAP_SEARCH_UID] = "UID",
	[IMAP_SEARCH_FLAG] = "FLAG", [IMAP_SEARCH_KEYWORD] = "KEYWORD",
	[IMAP_SEARCH_BCC] = "BCC", [IMAP_SEARCH_BODY] = "BODY",
	[IMAP_SEARCH_CC] = "CC", [IMAP_SEARCH_FROM] = "FROM",
	[IMAP_SEARCH_SUBJECT] = "SUBJECT", [IMAP_SEARCH_TEXT] = "TEXT",
	[IMAP_SEARCH_TO] = "TO", [IMAP_SEARCH_HEADER] = "HEADER",
	[IMAP_SEARCH_BEFORE] = "BEFORE", [IMAP_SEARCH_ON] = "ON",
	[IMAP_SEARCH_SINCE] = "SINCE", [IMAP_SEARCH_SENTBEFORE] = "SENTBEFORE",
	[IMAP_SEARCH_SENTON] = "SENTON", [IMAP_SEARCH_SENTSINCE] = "SENTSINCE",
	[IMAP_SEARCH_LARGER] = "LARGER", [IMAP_SEARCH_SMALLER] = "SMALLER",
	[IMAP_SEARCH_MODSEQ] = "MODSEQ",
};

static void
describe(struct evbuffer *out, const struct imap_search_key *k)
{
	size_t	 i;
	char	*set;

	evbuffer_add_printf(out, "(%s", type_names[k->type]);
	switch (k->type) {
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_NOT:
		for (i = 0; i < k->nsub; i++) {
			evbuffer_add(out, " ", 1);
			describe(out, &k->sub[i]);
		}
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		set = imap_seqset_format(&k->seqset);
		evbuffer_add_printf(out, " %s%s", k->seqset.saved ? "$" : "",
		    set);
		free(set);
		break;
	case IMAP_SEARCH_FLAG:
		evbuffer_add_printf(out, " %#x %d", k->flag, k->set);
		break;
	case IMAP_SEARCH_KEYWORD:
		evbuffer_add_printf(out, " %s %d", k->str, k->set);
		break;
	case IMAP_SEARCH_HEADER:
		evbuffer_add_printf(out, " %s \"%s\"", k->field, k->str);
		break;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		evbuffer_add_printf(out, " %04u-%02u-%02u", k->date.year,
		    k->date.month, k->date.day);
		break;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		evbuffer_add_printf(out, " %llu",
		    (unsigned long long)k->number);
		break;
	case IMAP_SEARCH_MODSEQ:
		evbuffer_add_printf(out, " %llu",
		    (unsigned long long)k->number);
		if (k->str != NULL)
			evbuffer_add_printf(out, " %s %d", k->str,
			    k->modseq_type);
		break;
	case IMAP_SEARCH_ALL:
		break;
	default:
		evbuffer_add_printf(out, " \"%s\"", k->str);
		break;
	}
	evbuffer_add(out, ")", 1);
}

/* Parses "a SEARCH " + rest into a description, or "BAD ..."/"NO ...". */
static char *
search_ctx(const char *rest, const struct imap_search_context *ctx)
{
	struct imap_parser		*p;
	struct evbuffer			*in, *out;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*perr;
	struct imap_search_program	 prog;
	const char			*error;
	char				*s;
	size_t				 n;
	int				 r;

	p = imap_parser_new(NULL);
	in = evbuffer_new();
	out = evbuffer_new();
	evbuffer_add(in, "a SEARCH ", 9);
	evbuffer_add(in, rest, strlen(rest));
	evbuffer_add(in, "\r\n", 2);
	r = imap_parser_read(p, in, &cmd, &perr);
	while (r == IMAP_PARSE_CONTINUE)
		r = imap_parser_read(p, in, &cmd, &perr);
	if (r != IMAP_PARSE_DONE) {
		evbuffer_add_printf(out, "PARSE %s",
		    perr != NULL ? perr->text : "incomplete");
		goto done;
	}
	r = imap_search_parse(cmd->args, ctx, &prog, &error);
	if (r == IMAP_SEARCH_EBAD)
		evbuffer_add_printf(out, "BAD %s", error);
	else if (r == IMAP_SEARCH_EBADCHARSET)
		evbuffer_add_printf(out, "NO [BADCHARSET (%s)] %s",
		    IMAP_SEARCH_CHARSETS, error);
	else {
		if (prog.esearch)
			evbuffer_add_printf(out, "RETURN %#x ", prog.ret);
		if (prog.uses_saved)
			evbuffer_add_printf(out, "SAVED ");
		if (prog.uses_modseq)
			evbuffer_add_printf(out, "MODSEQ ");
		describe(out, &prog.root);
	}
	imap_search_program_clear(&prog);
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

static char *
search(const char *rest)
{
	struct imap_search_context	 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.max_seq = 10;
	ctx.max_uid = 500;
	ctx.allow_saved = 1;
	return search_ctx(rest, &ctx);
}

static void
check_search_ctx(const char *rest, const struct imap_search_context *ctx,
    const char *want)
{
	char	*got = ctx == NULL ? search(rest) : search_ctx(rest, ctx);

	if (strcmp(got, want) != 0)
		ck_abort_msg("%s:\n  want %s\n  got  %s", rest, want, got);
	free(got);
}

static void
check_search(const char *rest, const char *want)
{
	check_search_ctx(rest, NULL, want);
}

START_TEST(test_keys)
{
	check_search("ALL", "(ALL)");
	check_search("all", "(ALL)");
	check_search("ANSWERED DELETED DRAFT FLAGGED RECENT SEEN", "(AND "
	    "(FLAG 0x1 1) (FLAG 0x2 1) (FLAG 0x4 1) (FLAG 0x8 1) (FLAG 0x20 1) "
	    "(FLAG 0x10 1))");
	check_search("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN OLD", "(AND "
	    "(FLAG 0x1 0) (FLAG 0x2 0) (FLAG 0x4 0) (FLAG 0x8 0) (FLAG 0x10 0) "
	    "(FLAG 0x20 0))");
	check_search("NEW", "(AND (FLAG 0x20 1) (FLAG 0x10 0))");
	check_search("BCC a BODY \"b c\" CC {1}\r\nd FROM e SUBJECT f TEXT g TO h",
	    "(AND (BCC \"a\") (BODY \"b c\") (CC \"d\") (FROM \"e\") "
	    "(SUBJECT \"f\") (TEXT \"g\") (TO \"h\"))");
	check_search("FROM NIL", "(FROM \"NIL\")");
	check_search("HEADER Message-ID \"<x@y>\"", "(HEADER Message-ID \"<x@y>\")");
	check_search("HEADER X-Spam \"\"", "(HEADER X-Spam \"\")");
	check_search("KEYWORD $Junk UNKEYWORD $NotJunk",
	    "(AND (KEYWORD $Junk 1) (KEYWORD $NotJunk 0))");
	check_search("LARGER 1000 SMALLER 18446744073709551615",
	    "BAD Invalid size for SMALLER");
	check_search("LARGER 1000 SMALLER 9223372036854775807",
	    "(AND (LARGER 1000) (SMALLER 9223372036854775807))");
	check_search("BEFORE 1-Feb-2024 ON 29-Feb-2024 SINCE \"01-jan-2000\"",
	    "(AND (BEFORE 2024-02-01) (ON 2024-02-29) (SINCE 2000-01-01))");
	check_search("SENTBEFORE 31-Dec-1999 SENTON 1-Mar-2023 SENTSINCE 2-Apr-2023",
	    "(AND (SENTBEFORE 1999-12-31) (SENTON 2023-03-01) "
	    "(SENTSINCE 2023-04-02))");
	check_search("1:3,5 UID 100:*", "(AND (SEQ 1:3,5) (UID 100:500))");
	check_search("*", "(SEQ 10)");
	check_search("$", "SAVED (SEQ $)");
	check_search("UID $", "SAVED (UID $)");
	check_search("MODSEQ 5", "MODSEQ (MODSEQ 5)");
	check_search("MODSEQ \"/flags/\\\\draft\" all 620162338",
	    "MODSEQ (MODSEQ 620162338 /flags/\\draft 3)");
	check_search("FROM \"M\xc3\xbcller\"", "(FROM \"M\xc3\xbcller\")");
}
END_TEST

START_TEST(test_logic)
{
	check_search("NOT SEEN", "(NOT (FLAG 0x10 1))");
	check_search("NOT NOT SEEN", "(FLAG 0x10 1)");
	check_search("NOT NOT NOT SEEN", "(NOT (FLAG 0x10 1))");
	check_search("OR SEEN FLAGGED", "(OR (FLAG 0x10 1) (FLAG 0x8 1))");
	check_search("OR OR FROM a FROM b FROM c",
	    "(OR (FROM \"a\") (FROM \"b\") (FROM \"c\"))");
	check_search("OR FROM a OR FROM b FROM c",
	    "(OR (FROM \"a\") (FROM \"b\") (FROM \"c\"))");
	check_search("OR (FROM a SEEN) NOT (TO b)",
	    "(OR (AND (FROM \"a\") (FLAG 0x10 1)) (NOT (TO \"b\")))");
	check_search("(ALL)", "(ALL)");
	check_search("((ALL))", "(ALL)");
	check_search("(SEEN (FLAGGED DRAFT)) ANSWERED", "(AND (FLAG 0x10 1) "
	    "(FLAG 0x8 1) (FLAG 0x4 1) (FLAG 0x1 1))");
	check_search("NOT OR SEEN DELETED UNDRAFT",
	    "(AND (NOT (OR (FLAG 0x10 1) (FLAG 0x2 1))) (FLAG 0x4 0))");
	check_search("OR", "BAD Missing search key after OR");
	check_search("OR SEEN", "BAD Missing search key after OR");
	check_search("NOT", "BAD Missing search key after NOT");
	check_search("SEEN NOT", "BAD Missing search key after NOT");
	check_search("()", "BAD Empty parentheses in search");
	check_search("", "BAD Missing search key");
}
END_TEST

START_TEST(test_prefix)
{
	check_search("RETURN (MIN MAX) ALL", "RETURN 0x3 (ALL)");
	check_search("RETURN (ALL COUNT SAVE) SEEN", "RETURN 0x1c (FLAG 0x10 1)");
	check_search("RETURN () ALL", "RETURN 0x4 (ALL)");
	check_search("RETURN (FOO) ALL", "BAD Unknown RETURN option");
	check_search("RETURN ALL", "BAD RETURN needs a list of options");
	check_search("CHARSET UTF-8 SUBJECT x", "(SUBJECT \"x\")");
	check_search("CHARSET us-ascii SUBJECT x", "(SUBJECT \"x\")");
	check_search("CHARSET \"UTF-8\" SUBJECT x", "(SUBJECT \"x\")");
	check_search("RETURN (COUNT) CHARSET UTF-8 ALL", "RETURN 0x8 (ALL)");
	check_search("CHARSET X-NO-SUCH-CHARSET ALL",
	    "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
	check_search("CHARSET ISO-8859-1 SUBJECT x",
	    "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
	check_search("CHARSET", "BAD Missing charset");
	check_search("CHARSET UTF-8", "BAD Missing search key");
	/* CHARSET must come first; as a key it is unknown. */
	check_search("ALL CHARSET UTF-8", "BAD Unknown search key: CHARSET");
}
END_TEST

START_TEST(test_bad)
{
	struct imap_search_context	 ctx;

	check_search("FOO", "BAD Unknown search key: FOO");
	check_search("FROM", "BAD Missing argument for FROM");
	check_search("FROM (a)", "BAD Invalid argument for FROM");
	check_search("HEADER From", "BAD Missing argument for HEADER");
	check_search("SUBJECT \"\xc3\"", "BAD Invalid UTF-8 in argument for SUBJECT");
	check_search("BEFORE", "BAD Missing date for BEFORE");
	/*
	 * RFC 3501 9 checks only the digits of date-day: 30-Feb is the
	 * day after 29-Feb (Dovecot agrees); 32 is no day of any month.
	 */
	check_search("BEFORE 30-Feb-2024", "(BEFORE 2024-02-30)");
	check_search("BEFORE 29-Feb-2023", "(BEFORE 2023-02-29)");
	check_search("ON 29-Feb-2000", "(ON 2000-02-29)");
	check_search("ON 29-Feb-1900", "(ON 1900-02-29)");
	check_search("ON 32-Jan-2024",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON +1-Jan-2024",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON \" 1-Jan-2024\"",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON 1-Foo-2024",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON 1-Jan-24",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON 001-Jan-2024",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON 0-Jan-2024",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("ON 1-Jan-2024x",
	    "BAD Invalid date for ON (expected e.g. 1-Feb-2024)");
	check_search("LARGER -1", "BAD Invalid size for LARGER");
	check_search("LARGER", "BAD Invalid size for LARGER");
	check_search("UID", "BAD Missing UID set");
	check_search("UID 0", "BAD Invalid sequence set: 0 is not a message number");
	check_search("0", "BAD Invalid sequence set: 0 is not a message number");
	check_search("1:4294967296", "BAD Invalid sequence set: number too large");
	check_search("KEYWORD", "BAD Missing keyword for KEYWORD");
	check_search("KEYWORD \"a\"", "BAD Missing keyword for KEYWORD");
	check_search("MODSEQ", "BAD Invalid MODSEQ value");
	check_search("MODSEQ \"/flags/x\" some 5",
	    "BAD Invalid MODSEQ entry type (expected priv, shared or all)");
	check_search("MODSEQ \"/flags/x\" all",
	    "BAD Invalid MODSEQ value");
	check_search("\"ALL\"", "BAD Invalid search key: string");

	/* "$" only with SEARCHRES. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.max_seq = 10;
	check_search_ctx("$", &ctx, "BAD Invalid sequence set: number expected");
	check_search_ctx("RETURN (SAVE) ALL", &ctx,
	    "BAD RETURN (SAVE) needs SEARCHRES");
	/* An empty mailbox: "*" matches nothing. */
	check_search_ctx("1:*", &ctx, "(SEQ 1:10)");
	ctx.max_seq = 0;
	check_search_ctx("1:*", &ctx, "(SEQ )");
}
END_TEST

/* prefix, then s n times, then suffix: a new string. */
static char *
repeat(const char *prefix, size_t n, const char *s, const char *suffix)
{
	size_t	 pl = strlen(prefix), sl = strlen(s), xl = strlen(suffix);
	char	*r, *p;
	size_t	 i;

	r = xmalloc(pl + n * sl + xl + 1);
	memcpy(r, prefix, pl);
	p = r + pl;
	for (i = 0; i < n; i++, p += sl)
		memcpy(p, s, sl);
	memcpy(p, suffix, xl + 1);
	return r;
}

START_TEST(test_nesting)
{
	struct imap_search_context	 ctx;
	char				*in, *got;

	/* The catalogue: 10,000 nested parentheses are a BAD. */
	in = repeat("", 10000, "(", "ALL");
	check_search(in, "PARSE Too deeply nested lists (limit 100)");
	free(in);

	/* 99 levels under the parser's limit collapse to one key. */
	in = xmalloc(99 * 2 + 4);
	memset(in, '(', 99);
	memcpy(in + 99, "ALL", 3);
	memset(in + 102, ')', 99);
	in[201] = '\0';
	check_search(in, "(ALL)");
	free(in);

	/* 9,998 NOTs: flat in the arguments, cancelled in pairs. */
	in = repeat("", 9998, "NOT ", "SEEN");
	check_search(in, "(FLAG 0x10 1)");
	free(in);

	/* An OR chain of 3,000 addresses, either way round, stays flat. */
	in = repeat("", 2999, "OR ", "");
	{
		char	*full = repeat(in, 3000, "FROM x ", "");

		free(in);
		in = full;
	}
	got = search(in);
	if (strncmp(got, "(OR (FROM \"x\") (FROM \"x\")", 25) != 0)
		ck_abort_msg("%.200s", got);
	ck_assert_ptr_null(strstr(got, "(OR (OR"));
	free(got);
	free(in);
	in = repeat("", 2999, "OR FROM x ", "FROM y");
	got = search(in);
	ck_assert(strncmp(got, "(OR (FROM \"x\")", 14) == 0);
	ck_assert_ptr_null(strstr(got, "(OR (OR"));
	free(got);
	free(in);

	/* What stays deep is bounded: NOT (OR NOT (OR ...)) alternates. */
	in = repeat("", 60, "NOT (OR SEEN ", "ALL");
	{
		char	*full = repeat(in, 60, ")", "");

		free(in);
		in = full;
	}
	check_search(in, "BAD Search program nested too deeply (limit 100)");
	free(in);

	/*
	 * The number of keys is bounded, flat or not (RFC 5530 LIMIT);
	 * through the command parser its own bound on arguments comes
	 * first, so the check uses a small bound from the context.
	 */
	in = repeat("", 10001, "ALL ", "ALL");
	check_search(in, "PARSE Too many arguments (limit 10000)");
	free(in);
	memset(&ctx, 0, sizeof(ctx));
	ctx.keys_max = 5;
	check_search_ctx("ALL ALL ALL ALL ALL", &ctx,
	    "(AND (ALL) (ALL) (ALL) (ALL) (ALL))");
	check_search_ctx("ALL ALL ALL ALL ALL ALL", &ctx,
	    "BAD [LIMIT] Search program too large (limit 5 keys)");
	/* Operators and groups count too. */
	check_search_ctx("NOT NOT NOT NOT ALL", &ctx, "(ALL)");
	check_search_ctx("NOT NOT NOT NOT NOT ALL", &ctx,
	    "BAD [LIMIT] Search program too large (limit 5 keys)");
	check_search_ctx("(ALL) (ALL) ALL", &ctx, "(AND (ALL) (ALL) (ALL))");
	check_search_ctx("(ALL) (SEEN) (ALL)", &ctx,
	    "BAD [LIMIT] Search program too large (limit 5 keys)");
	check_search_ctx("OR (ALL) OR SEEN ALL", &ctx,
	    "BAD [LIMIT] Search program too large (limit 5 keys)");

	/* A smaller bound from the context. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.depth_max = 3;
	check_search_ctx("NOT (OR SEEN (ALL))", &ctx,
	    "(NOT (OR (FLAG 0x10 1) (ALL)))");
	check_search_ctx("(((ALL)))", &ctx, "(ALL)");
	check_search_ctx("NOT (OR SEEN NOT ALL)", &ctx,
	    "BAD Search program nested too deeply (limit 3)");
	check_search_ctx("((((ALL))))", &ctx,
	    "BAD Search program nested too deeply (limit 3)");
}
END_TEST

START_TEST(test_dates)
{
	struct imap_date	 d;

	ck_assert_int_eq(imap_search_date_parse("1-Jan-1970", &d), 0);
	ck_assert_int_eq(imap_search_date_days(&d), 0);
	ck_assert_int_eq(imap_search_date_parse("2-Jan-1970", &d), 0);
	ck_assert_int_eq(imap_search_date_days(&d), 1);
	ck_assert_int_eq(imap_search_date_parse("31-Dec-1969", &d), 0);
	ck_assert_int_eq(imap_search_date_days(&d), -1);
	ck_assert_int_eq(imap_search_date_parse("1-Mar-2000", &d), 0);
	ck_assert_int_eq(imap_search_date_days(&d), 11017);
	ck_assert_int_eq(imap_search_date_parse("31-Dec-9999", &d), 0);
	ck_assert_int_eq(imap_search_date_parse("1-Jan-0000", &d), -1);
	ck_assert_int_eq(imap_search_date_parse("", &d), -1);
	ck_assert_int_eq(imap_search_date_parse("1-Jan", &d), -1);
	ck_assert_int_eq(imap_search_date_parse("1-Jan-", &d), -1);
	/* Days past the month's end count on into the next. */
	ck_assert_int_eq(imap_search_date_parse("31-Apr-2024", &d), 0);
	ck_assert_int_eq(imap_search_date_days(&d), 19844);
	ck_assert_int_eq(imap_search_date_parse("1-May-2024", &d), 0);
	ck_assert_int_eq(imap_search_date_days(&d), 19844);
	ck_assert_int_eq(imap_search_date_parse("32-Jan-2024", &d), -1);
}
END_TEST

/*
 * A charset hook of our own: X-UPPER is the upper-case of UTF-8 and a
 * "!" is not text in it; nothing else is known.
 */
static int
upper_convert(const char *charset, const char *in, char **out)
{
	size_t	 i;

	if (strcasecmp(charset, "X-UPPER") != 0)
		return -1;
	if (in == NULL)
		return 0;
	if (strchr(in, '!') != NULL)
		return -2;
	*out = xstrdup(in);
	for (i = 0; (*out)[i] != '\0'; i++)
		if ((*out)[i] >= 'a' && (*out)[i] <= 'z')
			(*out)[i] = (char)((*out)[i] - 'a' + 'A');
	return 0;
}

START_TEST(test_charset_hook)
{
	struct imap_search_context	 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.max_seq = 10;
	ctx.max_uid = 500;
	ctx.charset_convert = upper_convert;
	/* Every string argument goes through the hook; keywords do not. */
	check_search_ctx("CHARSET x-upper OR SUBJECT ab BODY \"c d\"", &ctx,
	    "(OR (SUBJECT \"AB\") (BODY \"C D\"))");
	check_search_ctx("CHARSET X-UPPER HEADER x-a b KEYWORD k", &ctx,
	    "(AND (HEADER X-A \"B\") (KEYWORD k 1))");
	check_search_ctx("CHARSET X-UPPER TO a!", &ctx,
	    "BAD Argument for TO is not text in X-UPPER");
	check_search_ctx("CHARSET X-LOWER ALL", &ctx,
	    "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
	/* UTF-8 and US-ASCII never reach it. */
	check_search_ctx("CHARSET UTF-8 SUBJECT ab", &ctx, "(SUBJECT \"ab\")");
	check_search_ctx("SUBJECT ab", &ctx, "(SUBJECT \"ab\")");
}
END_TEST

Suite *
imap_search_parse_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_search_parse");
	tc = tcase_create("keys");
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_logic);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_charset_hook);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_nesting);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(imap_search_parse_suite());
}
