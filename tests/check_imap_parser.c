/*
 * check_imap_parser.c: the streaming IMAP command parser.
 *
 * Every vector runs three times, whole, byte by byte and in 7-byte
 * pieces, and must give the same transcript each time: the parser may
 * never depend on how the network cut the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "imap-parser.h"
#include "imap-transcript.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_parser_suite(void);

struct vector {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*out;
};

static char	*run_all_ways(const struct imap_parser_limits *, const char *,
		    size_t, size_t);
static void	 check_vectors(const struct vector *, size_t,
		    const struct imap_parser_limits *, size_t);
static char	*repeat(const char *, size_t, const char *, const char *);

/*
 * Runs in at once, byte by byte and in 7-byte pieces; asserts that all
 * three agree and returns the transcript.
 */
static char *
run_all_ways(const struct imap_parser_limits *limits, const char *in,
    size_t len, size_t stream_min)
{
	char	*whole, *bytes, *sevens;

	if (len == 0)
		len = strlen(in);
	whole = transcript_run(limits, in, len, 0, stream_min);
	bytes = transcript_run(limits, in, len, 1, stream_min);
	sevens = transcript_run(limits, in, len, 7, stream_min);
	ck_assert_str_eq(whole, bytes);
	ck_assert_str_eq(whole, sevens);
	free(bytes);
	free(sevens);
	return whole;
}

static void
check_vectors(const struct vector *v, size_t n,
    const struct imap_parser_limits *limits, size_t stream_min)
{
	size_t	 i;
	char	*got;

	for (i = 0; i < n; i++) {
		got = run_all_ways(limits, v[i].in,
		    v[i].len != 0 ? v[i].len : strlen(v[i].in), stream_min);
		if (strcmp(got, v[i].out) != 0)
			ck_abort_msg("vector %zu:\n  in:   %s\n  want: %s\n  got:  %s",
			    i, v[i].in, v[i].out, got);
		free(got);
	}
}

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

/* ---------------------------------------------------------------- */

static const struct vector basic_vectors[] = {
	{ "a NOOP\r\n", 0, "a NOOP\n" },
	{ "a1 noop\n", 0, "a1 noop\n" },
	{ "x LOGIN user \"pa ss\"\r\n", 0, "x LOGIN A:user S:\"pa ss\"\n" },
	{ "t SELECT INBOX  \r\n", 0, "t SELECT A:INBOX\n" },
	{ "t SELECT  INBOX\r\n", 0, "t SELECT A:INBOX\n" },
	{ "t FETCH 1:*,3 (FLAGS UID)\r\n", 0,
	  "t FETCH A:1:*,3 (A:FLAGS A:UID)\n" },
	{ "t STORE 1 +FLAGS (\\Seen \\Deleted $Junk)\r\n", 0,
	  "t STORE A:1 A:+FLAGS (A:\\x5cSeen A:\\x5cDeleted A:$Junk)\n" },
	{ "t X nil NIL \"NIL\" Nil\r\n", 0, "t X NIL NIL S:\"NIL\" NIL\n" },
	{ "t X \"a\\\\b\\\"c\"\r\n", 0, "t X S:\"a\\x5cb\\x22c\"\n" },
	{ "t X \"\"\r\n", 0, "t X S:\"\"\n" },
	{ "t X \"gr\xc3\xbc\xc3\x9f\"\r\n", 0, "t X S:\"gr\\xc3\\xbc\\xc3\\x9f\"\n" },
	{ "t X () (()) (a (b (c)))\r\n", 0, "t X () (()) (A:a (A:b (A:c)))\n" },
	{ "t X ( a  b )\r\n", 0, "t X (A:a A:b)\n" },
	{ "t LIST \"\" *\r\n", 0, "t LIST S:\"\" A:*\n" },
	{ "t LIST \"\" %/[Gmail]/x\r\n", 0, "t LIST S:\"\" A:%/[Gmail]/x\n" },
	{ "t LIST \"\" foo[bar\r\n", 0, "t LIST S:\"\" A:foo[bar\n" },
	{ "t LIST \"\" foo[bar baz\r\n", 0, "t LIST S:\"\" A:foo[bar A:baz\n" },
	{ "t X ~abc a~b\r\n", 0, "t X A:~abc A:a~b\n" },
	/* Synchronizing literal: "+" is asked for, then the data comes. */
	{ "t LOGIN {4}\r\nuser {2}\r\npw\r\n", 0,
	  "+ + t LOGIN L{4}:\"user\" L{2}:\"pw\"\n" },
	/* RFC 7888 LITERAL+: no "+". */
	{ "t LOGIN {4+}\r\nuser {2+}\r\npw\r\n", 0,
	  "t LOGIN L+{4}:\"user\" L+{2}:\"pw\"\n" },
	{ "t X {0}\r\n\r\n", 0, "+ t X L{0}:\"\"\n" },
	{ "t X {0+}\r\n {000003+}\r\nabc\r\n", 0,
	  "t X L+{0}:\"\" L+{3}:\"abc\"\n" },
	{ "t X ({3+}\r\na\"b)\r\n", 0, "t X (L+{3}:\"a\\x22b\")\n" },
	{ "t X {5+}\r\na\r\nb\xff\r\n", 0, "t X L+{5}:\"a\\x0d\\x0ab\\xff\"\n" },
	/* RFC 3516 literal8 may carry NUL. */
	{ "t APPEND x ~{3+}\r\na\0b\r\n", 23, "t APPEND A:x L8+{3}:\"a\\x00b\"\n" },
	{ "t APPEND x ~{3}\r\nabc\r\n", 0, "+ t APPEND A:x L8{3}:\"abc\"\n" },
	/* FETCH sections are one atom with their header list attached. */
	{ "t FETCH 1 BODY[HEADER.FIELDS (From To)]<0.100>\r\n", 0,
	  "t FETCH A:1 A:BODY[HEADER.FIELDS]<0.100>[(A:From A:To)]\n" },
	{ "t FETCH 1 (UID BODY.PEEK[1.2.HEADER.FIELDS.NOT (\"X-A\" {3}\r\nX-B)] FLAGS)\r\n",
	  0, "+ t FETCH A:1 (A:UID A:BODY.PEEK[1.2.HEADER.FIELDS.NOT][(S:\"X-A\" L{3}:\"X-B\")] A:FLAGS)\n" },
	{ "t FETCH 1 BODY[HEADER.FIELDS  (A B) ]\r\n", 0,
	  "t FETCH A:1 A:BODY[HEADER.FIELDS][(A:A A:B)]\n" },
	{ "t FETCH 1 (BODY[] BODY[TEXT]<0.10> BINARY[1])\r\n", 0,
	  "t FETCH A:1 (A:BODY[] A:BODY[TEXT]<0.10> A:BINARY[1])\n" },
	{ "t FETCH 1 BODY[HEADER.FIELDS ()]\r\n", 0,
	  "t FETCH A:1 A:BODY[HEADER.FIELDS][()]\n" },
	/* Sections do not nest. */
	{ "t FETCH 1 BODY[HEADER.FIELDS (B[X (Y) ])]\r\n", 0,
	  "t FETCH A:1 A:BODY[HEADER.FIELDS][(A:B[X (A:Y) A:])]\n" },
	/* Any other "[" is an atom character (a mailbox name). */
	{ "t STATUS a[b (MESSAGES)\r\n", 0,
	  "t STATUS A:a[b (A:MESSAGES)\n" },
	{ "t FETCH 1 BODY[1 (X)]\r\n", 0,
	  "ERR 1 t FETCH: Missing space after an argument\n" },
	/* Several commands in one read, and a bare LF. */
	{ "a NOOP\r\nb NOOP\nc CHECK\r\n", 0, "a NOOP\nb NOOP\nc CHECK\n" },
};

START_TEST(test_basic)
{
	check_vectors(basic_vectors,
	    sizeof(basic_vectors) / sizeof(basic_vectors[0]), NULL, 0);
}
END_TEST

START_TEST(test_arg_readers)
{
	struct imap_parser		*p;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	const struct imap_arg		*a, *list;
	const char			*s;
	size_t				 n;
	uint32_t			 v;
	uint64_t			 v64;
	static const char		 line[] =
	    "t X atom NIL \"str\" {3+}\r\nlit (1 2) 4294967295 9223372036854775807 ~{1+}\r\n\0\r\n";

	p = imap_parser_new(NULL);
	in = evbuffer_new();
	evbuffer_add(in, line, sizeof(line) - 1);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert_uint_eq(cmd->nargs, 8);
	a = cmd->args;
	ck_assert(imap_arg_get_atom(&a[0], &s) && strcmp(s, "atom") == 0);
	ck_assert(imap_arg_atom_equals(&a[0], "ATOM"));
	ck_assert(!imap_arg_get_string(&a[0], &s));
	ck_assert(imap_arg_get_astring(&a[0], &s));
	ck_assert(!imap_arg_get_atom(&a[1], &s));
	ck_assert(imap_arg_get_astring(&a[1], &s) && strcmp(s, "NIL") == 0);
	ck_assert(imap_arg_get_nstring(&a[1], &s) && s == NULL);
	ck_assert(imap_arg_get_string(&a[2], &s) && strcmp(s, "str") == 0);
	ck_assert(imap_arg_get_nstring(&a[2], &s) && strcmp(s, "str") == 0);
	ck_assert(imap_arg_get_string(&a[3], &s) && strcmp(s, "lit") == 0);
	ck_assert(!imap_arg_get_nstring(&a[0], &s));
	ck_assert(imap_arg_get_list(&a[4], &list, &n) && n == 2);
	ck_assert(imap_arg_get_number(&list[0], &v) && v == 1);
	ck_assert(imap_arg_is_eol(&list[2]));
	ck_assert(imap_arg_get_number(&a[5], &v) && v == UINT32_MAX);
	ck_assert(!imap_arg_get_number(&a[6], &v));
	ck_assert(imap_arg_get_number64(&a[6], &v64) && v64 == INT64_MAX);
	/* A literal8 holding NUL is no C string. */
	ck_assert(a[7].type == IMAP_ARG_LITERAL && a[7].len == 1);
	ck_assert(!imap_arg_get_string(&a[7], &s));
	ck_assert(!imap_arg_get_astring(&a[7], &s));
	ck_assert(imap_arg_is_eol(&a[8]));
	ck_assert_str_eq(imap_arg_type_name(IMAP_ARG_LIST), "list");
	imap_parser_free(&p);
	ck_assert_ptr_null(p);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_numbers)
{
	uint32_t	 v;
	uint64_t	 v64;

	ck_assert_int_eq(imap_number_parse("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(imap_number_parse("4294967295", &v), 0);
	ck_assert_uint_eq(v, UINT32_MAX);
	ck_assert_int_eq(imap_number_parse("4294967296", &v), -1);
	ck_assert_int_eq(imap_number_parse("99999999999999999999", &v), -1);
	ck_assert_int_eq(imap_number_parse("-1", &v), -1);
	ck_assert_int_eq(imap_number_parse("+1", &v), -1);
	ck_assert_int_eq(imap_number_parse(" 1", &v), -1);
	ck_assert_int_eq(imap_number_parse("", &v), -1);
	ck_assert_int_eq(imap_number_parse("1a", &v), -1);
	ck_assert_int_eq(imap_nz_number_parse("0", &v), -1);
	ck_assert_int_eq(imap_nz_number_parse("00", &v), -1);
	ck_assert_int_eq(imap_nz_number_parse("007", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(imap_number64_parse("9223372036854775807", &v64), 0);
	ck_assert_int_eq(imap_number64_parse("9223372036854775808", &v64), -1);
	ck_assert_int_eq(imap_number64_parse("18446744073709551615", &v64), -1);
	ck_assert_int_eq(imap_number64_parse("184467440737095516150", &v64), -1);
}
END_TEST

/* ---------------------------------------------------------------- */

static const struct vector error_vectors[] = {
	/* Each error is followed by a command that must parse: resync. */
	{ "\r\nb NOOP\r\n", 0, "ERR 1 * -: Empty command line\nb NOOP\n" },
	{ "a\r\nb NOOP\r\n", 0, "ERR 1 a -: Missing command name\nb NOOP\n" },
	{ "* NOOP\r\nb NOOP\r\n", 0, "ERR 1 * -: Invalid tag\nb NOOP\n" },
	{ "a+ NOOP\r\nb NOOP\r\n", 0, "ERR 1 * -: Invalid tag\nb NOOP\n" },
	{ "a  NOOP\r\nb NOOP\r\n", 0,
	  "ERR 1 a -: Missing command name\nb NOOP\n" },
	{ "a NO(OP\r\nb NOOP\r\n", 0,
	  "ERR 1 a -: Invalid command name\nb NOOP\n" },
	{ "a X (b\r\nb NOOP\r\n", 0, "ERR 1 a X: Missing ')'\nb NOOP\n" },
	{ "a X b)\r\nb NOOP\r\n", 0, "ERR 1 a X: Unexpected ')'\nb NOOP\n" },
	{ "a X (b)(c)\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Missing space after an argument\nb NOOP\n" },
	{ "a X \"b\"c\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Missing space after an argument\nb NOOP\n" },
	{ "a X \"abc\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Missing '\"' at the end of a quoted string\nb NOOP\n" },
	{ "a X \"a\\bc\"\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Invalid escape in quoted string\nb NOOP\n" },
	{ "a X \"a\0b\"\r\nb NOOP\r\n", 19,
	  "ERR 7 a X: NUL in quoted string\nb NOOP\n" },
	{ "a X a\0b\r\nb NOOP\r\n", 17, "ERR 7 a X: NUL in atom\nb NOOP\n" },
	{ "a X {3}\r\na\0b\r\nb NOOP\r\n", 22,
	  "+ ERR 7 a X: NUL in literal\nb NOOP\n" },
	{ "a X {3+}\r\na\0b c\r\nb NOOP\r\n", 25,
	  "ERR 7 a X: NUL in literal\nb NOOP\n" },
	{ "a X f\xc3\xbc\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: 8-bit data in atom\nb NOOP\n" },
	{ "a X a{b\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Invalid character in atom\nb NOOP\n" },
	{ "a X a\\b\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Invalid character in atom\nb NOOP\n" },
	{ "a NOOP\rx\nb NOOP\r\n", 0,
	  "ERR 1 a NOOP: CR without LF in command\nb NOOP\n" },
	{ "a X {3x}\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Invalid literal size\nb NOOP\n" },
	{ "a X {}\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Invalid literal size\nb NOOP\n" },
	{ "a X {3} \r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Missing CRLF after the literal's size\nb NOOP\n" },
	{ "a FETCH 1 BODY[HEADER.FIELDS (A)x]\r\nb NOOP\r\n", 0,
	  "ERR 1 a FETCH: Missing ']' after the section's list\nb NOOP\n" },
	{ "a FETCH 1 BODY[HEADER.FIELDS (A\r\nb NOOP\r\n", 0,
	  "ERR 1 a FETCH: Missing ')' and ']' in section\nb NOOP\n" },
	{ "a FETCH 1 BODY[HEADER.FIELDS (A)\r\nb NOOP\r\n", 0,
	  "ERR 1 a FETCH: Missing ']' after the section's list\nb NOOP\n" },
	/* A failed line's {N+} literal is skipped with it. */
	{ "a X ) {8+}\r\nb NOOP\r\n c\r\nd NOOP\r\n", 0,
	  "ERR 1 a X: Unexpected ')'\nd NOOP\n" },
	{ "a X ) {5+}\r\n12345 {2+}\r\nxy\r\nd NOOP\r\n", 0,
	  "ERR 1 a X: Unexpected ')'\nd NOOP\n" },
	/* ... but not a {N}: the client waits for a "+" that never comes. */
	{ "a X ) {5}\r\nb NOOP\r\n", 0, "ERR 1 a X: Unexpected ')'\nb NOOP\n" },
	{ "a X ) {5x+}\r\nb NOOP\r\n", 0, "ERR 1 a X: Unexpected ')'\nb NOOP\n" },
	{ "a X ) {+}\r\nb NOOP\r\n", 0, "ERR 1 a X: Unexpected ')'\nb NOOP\n" },
};

START_TEST(test_errors)
{
	check_vectors(error_vectors,
	    sizeof(error_vectors) / sizeof(error_vectors[0]), NULL, 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The bad-input catalogue of issue 3 that belongs to the grammar.     */

static const struct vector literal_vectors[] = {
	/* Synchronizing: BAD, and the connection goes on. */
	{ "a LOGIN {4294967295}\r\nb NOOP\r\n", 0,
	  "ERR 3 a LOGIN: [TOOBIG] Literal too large (limit 65536 bytes)\nb NOOP\n" },
	{ "a LOGIN {4294967296}\r\nb NOOP\r\n", 0,
	  "ERR 1 a LOGIN: Invalid literal size\nb NOOP\n" },
	{ "a LOGIN {99999999999999999999}\r\nb NOOP\r\n", 0,
	  "ERR 1 a LOGIN: Invalid literal size\nb NOOP\n" },
	{ "a LOGIN {-1}\r\nb NOOP\r\n", 0,
	  "ERR 1 a LOGIN: Invalid literal size\nb NOOP\n" },
	{ "a LOGIN {-1+}\r\nb NOOP\r\n", 0,
	  "ERR 1 a LOGIN: Invalid literal size\nb NOOP\n" },
	{ "a LOGIN {65537}\r\nb NOOP\r\n", 0,
	  "ERR 3 a LOGIN: [TOOBIG] Literal too large (limit 65536 bytes)\nb NOOP\n" },
	/* RFC 7888 4: a {N+} we cannot take nor skip closes. */
	{ "a LOGIN {4294967295+}\r\nb NOOP\r\n", 0,
	  "ERR 3 fatal a LOGIN: [TOOBIG] Literal too large (limit 65536 bytes)\n" },
	{ "a LOGIN {99999999999999999999+}\r\nb NOOP\r\n", 0,
	  "ERR 1 fatal a LOGIN: Invalid literal size\n" },
	/* One it can skip is skipped. */
	{ "a LOGIN {65537+}\r\n", 0,
	  "ERR 3 a LOGIN: [TOOBIG] Literal too large (limit 65536 bytes)\n" },
	/* Saturated digits in a skipped line close as well. */
	{ "a X ) {99999999999999999999+}\r\nb NOOP\r\n", 0,
	  "ERR 1 a X: Unexpected ')'\n"
	  "ERR 3 fatal * -: [TOOBIG] Literal too large to skip (limit 52428800 bytes)\n" },
};

START_TEST(test_literal_limits)
{
	check_vectors(literal_vectors,
	    sizeof(literal_vectors) / sizeof(literal_vectors[0]), NULL, 0);
}
END_TEST

START_TEST(test_literal_skip)
{
	char	*in, *got;
	size_t	 n = 65537, hl;
	const char *head = "a LOGIN {65537+}\r\n";

	/* The skipped data may hold anything, CRLFs included. */
	hl = strlen(head);
	in = xmalloc(hl + n + 32);
	memcpy(in, head, hl);
	memset(in + hl, '\n', n);
	strcpy(in + hl + n, " x\r\nb NOOP\r\n");
	got = run_all_ways(NULL, in, hl + n + 12, 0);
	ck_assert_str_eq(got,
	    "ERR 3 a LOGIN: [TOOBIG] Literal too large (limit 65536 bytes)\n"
	    "b NOOP\n");
	free(got);
	free(in);
}
END_TEST

START_TEST(test_long_line)
{
	char	*in, *got;

	/* 1 MiB line: BAD after 64 KiB, the rest discarded, then resync. */
	in = repeat("a LIST \"\" ", 1024 * 1024, "x", "\r\nb NOOP\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert_str_eq(got,
	    "ERR 2 a LIST: Line too long (limit 65536 bytes)\nb NOOP\n");
	free(got);
	free(in);

	/* The same inside a quoted string and before the tag ends. */
	in = repeat("a LIST \"\" \"", 1024 * 1024, "x", "\"\r\nb NOOP\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert_str_eq(got,
	    "ERR 2 a LIST: Line too long (limit 65536 bytes)\nb NOOP\n");
	free(got);
	free(in);
	in = repeat("", 1024 * 1024, "t", " NOOP\r\nb NOOP\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert_str_eq(got,
	    "ERR 2 * -: Line too long (limit 65536 bytes)\nb NOOP\n");
	free(got);
	free(in);

	/* Exactly at the limit is fine: 65536 bytes with CRLF. */
	in = repeat("a X ", 65536 - 6, "y", "\r\n");
	got = transcript_run(NULL, in, strlen(in), 0, 0);
	ck_assert_uint_eq(strlen(got), 65536 - 6 + 7);
	free(got);
	free(in);
	in = repeat("a X ", 65536 - 5, "y", "\r\n");
	got = transcript_run(NULL, in, strlen(in), 0, 0);
	ck_assert_str_eq(got, "ERR 2 a X: Line too long (limit 65536 bytes)\n");
	free(got);
	free(in);

	/* Continuation lines count towards it too; literal data does not. */
	in = repeat("a X {1+}\r\n", 10000, "y {1+}\r\n", "y\r\n");
	got = transcript_run(NULL, in, strlen(in), 0, 0);
	ck_assert_ptr_nonnull(strstr(got, "Line too long"));
	free(got);
	free(in);
}
END_TEST

START_TEST(test_depth)
{
	struct imap_parser_limits	 l;
	char				*in, *got;

	/* 100 levels are fine, 101 are not (and 10,000 neither). */
	in = xmalloc(4 + 200 + 3);
	memcpy(in, "a X ", 4);
	memset(in + 4, '(', 100);
	memset(in + 104, ')', 100);
	strcpy(in + 204, "\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert(strncmp(got, "a X ((((", 8) == 0);
	free(got);
	free(in);

	in = repeat("a SEARCH ", 10000, "(", "ALL\r\nb NOOP\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert_str_eq(got,
	    "ERR 4 a SEARCH: Too deeply nested lists (limit 100)\nb NOOP\n");
	free(got);
	free(in);

	/* A section's list counts as a level. */
	imap_parser_limits_default(&l);
	l.depth_max = 1;
	in = xstrdup("a FETCH 1 (BODY[HEADER.FIELDS (A)])\r\n");
	got = run_all_ways(&l, in, strlen(in), 0);
	free(in);
	ck_assert_str_eq(got,
	    "ERR 4 a FETCH: Too deeply nested lists (limit 1)\n");
	free(got);
}
END_TEST

START_TEST(test_args_limit)
{
	struct imap_parser_limits	 l;
	char				*in, *got;

	in = repeat("a X", 10000, " 1", "\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert(strncmp(got, "a X A:1 A:1", 11) == 0);
	free(got);
	free(in);
	in = repeat("a X", 10001, " 1", "\r\nb NOOP\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert_str_eq(got,
	    "ERR 5 a X: Too many arguments (limit 10000)\nb NOOP\n");
	free(got);
	free(in);
	/* Empty lists count as arguments too. */
	in = repeat("a X", 10001, " ()", "\r\n");
	got = run_all_ways(NULL, in, strlen(in), 0);
	ck_assert_str_eq(got, "ERR 5 a X: Too many arguments (limit 10000)\n");
	free(got);
	free(in);

	imap_parser_limits_default(&l);
	l.args_max = 2;
	in = xstrdup("a X 1 {1+}\r\nx {1+}\r\ny\r\nb X 1\r\n");
	got = run_all_ways(&l, in, strlen(in), 0);
	free(in);
	ck_assert_str_eq(got,
	    "ERR 5 a X: Too many arguments (limit 2)\nb X A:1\n");
	free(got);
}
END_TEST

/* RFC 7888 5: LITERAL- takes {N+} up to 4096 octets; {N} of any size. */
START_TEST(test_literal_minus)
{
	struct imap_parser_limits	 l;
	char				*in, *got;
	size_t				 n;

	imap_parser_limits_default(&l);
	l.nonsync_max = IMAP_PARSER_NONSYNC_MINUS;
	in = xmalloc(4200);
	n = (size_t)snprintf(in, 4200, "a X {4096+}\r\n");
	memset(in + n, 'x', 4096);
	strcpy(in + n + 4096, "\r\nb NOOP\r\n");
	got = run_all_ways(&l, in, strlen(in), 0);
	ck_assert(strncmp(got, "a X L+{4096}:\"xxx", 17) == 0);
	ck_assert(strstr(got, "\nb NOOP\n") != NULL);
	free(got);
	n = (size_t)snprintf(in, 4200, "a X {4097+}\r\n");
	memset(in + n, 'x', 4097);
	strcpy(in + n + 4097, "\r\nb NOOP\r\n");
	got = run_all_ways(&l, in, strlen(in), 0);
	ck_assert_str_eq(got, "ERR 3 a X: [TOOBIG] Non-synchronizing literal "
	    "too large (limit 4096 bytes; use {4097})\nb NOOP\n");
	free(got);
	free(in);
	in = xstrdup("a X {4097}\r\n");
	got = run_all_ways(&l, in, strlen(in), 0);
	ck_assert(strstr(got, "TOOBIG") == NULL);
	free(got);
	free(in);
}
END_TEST

START_TEST(test_command_limit)
{
	struct imap_parser_limits	 l;
	char				*got;

	imap_parser_limits_default(&l);
	l.command_max = 90;
	l.line_max = 50;
	got = run_all_ways(&l,
	    "a X {40+}\r\n0123456789012345678901234567890123456789 "
	    "{40+}\r\n0123456789012345678901234567890123456789\r\nb NOOP\r\n",
	    0, 0);
	ck_assert_str_eq(got,
	    "ERR 6 a X: [TOOBIG] Command too large (limit 90 bytes)\nb NOOP\n");
	free(got);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Streaming literals into a sink (APPEND).                           */

START_TEST(test_stream)
{
	char	*in, *got;
	size_t	 n = 1024 * 1024, hl;
	const char *head = "a APPEND INBOX (\\Seen) {1048576}\r\n";

	hl = strlen(head);
	in = xmalloc(hl + n + 16);
	memcpy(in, head, hl);
	memset(in + hl, 'm', n);
	memcpy(in + hl + n, "\r\nb NOOP\r\n", 10);
	/* 1 MiB is over the in-memory limit but fine for a sink. */
	got = run_all_ways(NULL, in, hl + n + 10, 4096);
	ck_assert_str_eq(got,
	    "+ [sink 1048576 0d000000] a APPEND A:INBOX (A:\\x5cSeen) Ls{1048576}\n"
	    "b NOOP\n");
	free(got);
	/* Without the hook it is refused before "+". */
	got = transcript_run(NULL, in, hl + n + 10, 0, 0);
	ck_assert(strncmp(got, "ERR 3 a APPEND: [TOOBIG]", 24) == 0);
	free(got);
	free(in);

	/* A command that fails after its sink opened aborts the sink. */
	got = run_all_ways(NULL, "a APPEND x {5+}\r\nabcde)\r\n", 0, 4);
	ck_assert_str_eq(got,
	    "[sink 5 0584f463] ERR 1 a APPEND: Unexpected ')'\n");
	free(got);
	got = run_all_ways(NULL, "a APPEND x {5+}\r\nabc", 0, 4);
	ck_assert_str_eq(got, "[sink aborted] ");
	free(got);
}
END_TEST

struct refuse_state {
	int	 calls;
	int	 fail_write;
	int	 done;
	int	 aborted;
	size_t	 written;
	int	 refuse;
	struct imap_literal_info last;
	char	 command[16];		/* last.command dies with the command */
	char	 tag[16];
};

static int
refuse_write(void *ctx, const void *data, size_t len)
{
	struct refuse_state	*r = ctx;

	r->written += len;
	return r->fail_write ? -1 : 0;
}

static void
refuse_done(void *ctx)
{
	((struct refuse_state *)ctx)->done++;
}

static void
refuse_abort(void *ctx)
{
	((struct refuse_state *)ctx)->aborted++;
}

static enum imap_literal_action
refuse_hook(void *arg, const struct imap_literal_info *info,
    struct imap_literal_sink *sink, const char **text)
{
	struct refuse_state	*r = arg;

	r->calls++;
	r->last = *info;
	snprintf(r->command, sizeof(r->command), "%s", info->command);
	snprintf(r->tag, sizeof(r->tag), "%s", info->tag);
	if (r->refuse) {
		*text = "[TRYCREATE] Mailbox does not exist";
		return IMAP_LITERAL_REFUSE;
	}
	sink->write = refuse_write;
	sink->done = refuse_done;
	sink->abort = refuse_abort;
	sink->ctx = r;
	return IMAP_LITERAL_STREAM;
}

/* Feeds all of in and collects the results as a string of letters. */
static void
feed(struct imap_parser *p, const char *s, size_t len, char *out, size_t outlen)
{
	struct evbuffer			*in = evbuffer_new();
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	int				 r;
	size_t				 o = 0;

	evbuffer_add(in, s, len);
	for (;;) {
		r = imap_parser_read(p, in, &cmd, &err);
		if (o + 2 < outlen)
			out[o++] = "EN" "DC"[r + 1];
		if (r == IMAP_PARSE_NEED_MORE)
			break;
		if (r == IMAP_PARSE_ERROR && err->fatal)
			break;
		if (r != IMAP_PARSE_CONTINUE)
			imap_parser_reset(p);
	}
	out[o] = '\0';
	evbuffer_free(in);
}

START_TEST(test_hook)
{
	struct imap_parser	*p;
	struct refuse_state	 r;
	char			 out[32];

	memset(&r, 0, sizeof(r));
	p = imap_parser_new(NULL);
	imap_parser_set_literal_hook(p, refuse_hook, &r);

	/* The hook sees the command and the arguments before the literal. */
	feed(p, "a APPEND Sent (\\Seen) {3+}\r\nabc\r\n", 33, out, sizeof(out));
	ck_assert_str_eq(out, "DN");
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.done, 1);
	ck_assert_uint_eq(r.written, 3);
	ck_assert_uint_eq(r.last.size, 3);
	ck_assert_int_eq(r.last.nonsync, 1);
	ck_assert_uint_eq(r.last.depth, 0);
	ck_assert_uint_eq(r.last.index, 2);
	ck_assert_uint_eq(r.last.nargs, 2);
	ck_assert_str_eq(r.command, "APPEND");
	ck_assert_str_eq(r.tag, "a");

	/* A failing sink still lets the command complete, then done(). */
	r.fail_write = 1;
	r.written = 0;
	feed(p, "a APPEND Sent {6+}\r\nabcdef\r\n", 28, out, sizeof(out));
	ck_assert_str_eq(out, "DN");
	ck_assert_int_eq(r.done, 2);
	ck_assert_int_eq(r.aborted, 0);
	ck_assert_uint_eq(r.written, 6);
	r.fail_write = 0;

	/* Refused before "+": NO, the client sends nothing more. */
	r.refuse = 1;
	feed(p, "a APPEND Nope {3}\r\nb NOOP\r\n", 27, out, sizeof(out));
	ck_assert_str_eq(out, "EDN");
	/* Refused {N+}: its data is skipped (mbsync then CREATEs). */
	feed(p, "a APPEND Nope {5+}\r\nb NOO\r\nc NOOP\r\n", 35, out,
	    sizeof(out));
	ck_assert_str_eq(out, "EDN");
	/* Over stream_max as {N+}: cannot be skipped, the connection closes. */
	feed(p, "a APPEND Nope {52428801+}\r\n", 27, out, sizeof(out));
	ck_assert_str_eq(out, "E");
	imap_parser_free(&p);

	/* A streamed literal over stream_max gets abort(), not a write. */
	memset(&r, 0, sizeof(r));
	p = imap_parser_new(NULL);
	imap_parser_set_literal_hook(p, refuse_hook, &r);
	feed(p, "a APPEND x {52428801}\r\nb NOOP\r\n", 31, out, sizeof(out));
	ck_assert_str_eq(out, "EDN");
	ck_assert_int_eq(r.aborted, 1);
	ck_assert_int_eq(r.done, 0);
	ck_assert_uint_eq(r.written, 0);
	/* Freeing mid-literal aborts. */
	feed(p, "a APPEND x {5}\r\nab", 18, out, sizeof(out));
	ck_assert_str_eq(out, "CN");
	imap_parser_free(&p);
	ck_assert_int_eq(r.aborted, 2);
}
END_TEST

/* ---------------------------------------------------------------- */

START_TEST(test_pending)
{
	struct imap_parser		*p;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;

	p = imap_parser_new(NULL);
	in = evbuffer_new();
	/* STARTTLS injection: something follows the command's LF. */
	evbuffer_add(in, "a STARTTLS\r\nb LOGIN x y\r\n", 25);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert_str_eq(cmd->name, "STARTTLS");
	ck_assert(imap_parser_input_pending(p, in));
	ck_assert_uint_eq(evbuffer_get_length(in), 13);
	imap_parser_reset(p);
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_add(in, "a STARTTLS\r\n", 12);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert(!imap_parser_input_pending(p, in));
	/* Reading again without reset gives the same command. */
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	imap_parser_reset(p);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err),
	    IMAP_PARSE_NEED_MORE);
	imap_parser_free(&p);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_reset_midway)
{
	struct imap_parser		*p;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;

	p = imap_parser_new(NULL);
	in = evbuffer_new();
	/* Abandoned mid-line: the rest of the line is discarded. */
	evbuffer_add(in, "a LOGIN x", 9);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err),
	    IMAP_PARSE_NEED_MORE);
	imap_parser_reset(p);
	evbuffer_add(in, " y\r\nb NOOP\r\n", 12);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert_str_eq(cmd->tag, "b");
	imap_parser_reset(p);
	/* Abandoned mid-literal: the literal's rest and line too. */
	evbuffer_add(in, "a LOGIN {5+}\r\nab", 16);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err),
	    IMAP_PARSE_NEED_MORE);
	imap_parser_reset(p);
	evbuffer_add(in, "c\r\n x\r\nc NOOP\r\n", 15);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert_str_eq(cmd->tag, "c");
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	imap_parser_free(&p);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_read_line)
{
	struct imap_parser		*p;
	struct imap_parser_limits	 l;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;
	const char			*line;
	size_t				 len;

	imap_parser_limits_default(&l);
	l.line_max = 16;
	p = imap_parser_new(&l);
	in = evbuffer_new();
	evbuffer_add(in, "dXNlcgB1c2VyAHB3\r\nDONE\na IDLE\r\n\r\n", 33);
	ck_assert_int_eq(imap_parser_read_line(p, in, &line, &len, &err),
	    IMAP_PARSE_ERROR);
	ck_assert_int_eq(err->code, IMAP_PERR_LINE_TOO_LONG);
	imap_parser_reset(p);
	ck_assert_int_eq(imap_parser_read_line(p, in, &line, &len, &err),
	    IMAP_PARSE_DONE);
	ck_assert_str_eq(line, "DONE");
	ck_assert_uint_eq(len, 4);
	imap_parser_reset(p);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert_str_eq(cmd->name, "IDLE");
	imap_parser_reset(p);
	ck_assert_int_eq(imap_parser_read_line(p, in, &line, &len, &err),
	    IMAP_PARSE_DONE);
	ck_assert_str_eq(line, "");
	imap_parser_reset(p);
	evbuffer_add(in, "a\0b\n", 4);
	ck_assert_int_eq(imap_parser_read_line(p, in, &line, &len, &err),
	    IMAP_PARSE_ERROR);
	ck_assert_int_eq(err->code, IMAP_PERR_NUL);
	imap_parser_free(&p);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_limits_change)
{
	struct imap_parser		*p;
	struct imap_parser_limits	 l;
	struct evbuffer			*in;
	const struct imap_command	*cmd;
	const struct imap_parse_error	*err;

	/* Smaller limits before login, the defaults after. */
	imap_parser_limits_default(&l);
	l.literal_max = 4;
	p = imap_parser_new(&l);
	in = evbuffer_new();
	evbuffer_add(in, "a LOGIN {5}\r\n", 13);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_ERROR);
	ck_assert_int_eq(err->code, IMAP_PERR_LITERAL_TOO_BIG);
	ck_assert(!err->fatal);
	imap_parser_reset(p);
	imap_parser_limits_default(&l);
	imap_parser_set_limits(p, &l);
	evbuffer_add(in, "a LOGIN {5}\r\n", 13);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err),
	    IMAP_PARSE_CONTINUE);
	evbuffer_add(in, "abcde x\r\n", 9);
	ck_assert_int_eq(imap_parser_read(p, in, &cmd, &err), IMAP_PARSE_DONE);
	ck_assert_uint_eq(cmd->nargs, 2);
	imap_parser_free(&p);
	evbuffer_free(in);
}
END_TEST

Suite *
imap_parser_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_parser");

	tc = tcase_create("grammar");
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_arg_readers);
	tcase_add_test(tc, test_numbers);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_literal_limits);
	tcase_add_test(tc, test_literal_skip);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_args_limit);
	tcase_add_test(tc, test_command_limit);
	tcase_add_test(tc, test_literal_minus);
	tcase_add_test(tc, test_limits_change);
	suite_add_tcase(s, tc);

	tc = tcase_create("literals");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream);
	tcase_add_test(tc, test_hook);
	suite_add_tcase(s, tc);

	tc = tcase_create("connection");
	tcase_add_test(tc, test_pending);
	tcase_add_test(tc, test_read_line);
	tcase_add_test(tc, test_reset_midway);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_util_run(imap_parser_suite());
}
