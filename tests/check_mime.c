/*
 * check_mime.c: unit tests of mail/ (the MIME structure parser, headers,
 * parameters, addresses, the cache) and of the FETCH strings imapd writes
 * from them (imapd/imap-bodystructure.c).  The comparison with Dovecot is
 * tests/mime-dovecot.test; these tests pin the API, the limits and the
 * cache decoder of both cache versions.
 */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-bodystructure.h"
#include "mime-cache.h"
#include "mime-decode.h"
#include "mime-encode.h"
#include "mime.h"
#include "pack.h"
#include "util.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*mime_suite(void);

static const char	*wire_str(const struct mime_msg *, enum imap_bs_item);

/*
 * ENVELOPE, BODYSTRUCTURE or BODY as imapd writes them; the string lives
 * until a few more calls (a ring, so that a test can compare two).
 */
#define ENV(m)		wire_str((m), IMAP_BS_ENVELOPE)
#define BS(m)		wire_str((m), IMAP_BS_BODYSTRUCTURE)
#define BODY(m)		wire_str((m), IMAP_BS_BODY)
static const char *
wire_str(const struct mime_msg *m, enum imap_bs_item item)
{
	static char	*ring[8];
	static size_t	 next;
	char		**slot = &ring[next++ % 8];

	free(*slot);
	*slot = imap_bodystructure_string(m, item, NULL);
	return *slot;
}

static struct mime_msg *
parse_str(const char *s)
{
	return mime_parse(s, strlen(s));
}

/* A part's header or body as a new string. */
static char *
part_str(const char *msg, uint64_t off, uint64_t len)
{
	return xstrndup(msg + off, len);
}

static const char *multi =
    "From: a@example.com\r\n"
    "Subject: multi\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "one\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@example.com\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=c\r\n"
    "\r\n"
    "--c\r\n"
    "\r\n"
    "plain\r\n"
    "--c\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>html</p>\r\n"
    "--c--\r\n"
    "--b--\r\n"
    "epilogue\r\n";

/* ---------------------------------------------------------------- */
/* Structure                                                          */
/* ---------------------------------------------------------------- */

START_TEST(test_simple_text)
{
	const char		*s = "Subject: hi\r\n\r\nline 1\r\nline 2\r\n";
	struct mime_msg		*m = parse_str(s);
	const struct mime_part	*p = &m->parts[0];

	ck_assert_uint_eq(m->nparts, 1);
	ck_assert_uint_eq(p->hdr_off, 0);
	ck_assert_uint_eq(p->hdr_len, 15);
	ck_assert_uint_eq(p->body_off, 15);
	ck_assert_uint_eq(p->body_len, 16);
	ck_assert_uint_eq(p->body_lines, 2);
	ck_assert(p->flags & MIME_PART_TEXT);
	ck_assert_str_eq(BS(m), "(\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\") NIL NIL \"7bit\" 16 2 NIL NIL NIL NIL)");
	ck_assert_str_eq(BODY(m), "(\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\") NIL NIL \"7bit\" 16 2)");
	mime_msg_free(&m);
	ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_empty_message)
{
	struct mime_msg	*m = mime_parse(NULL, 0);

	ck_assert_uint_eq(m->nparts, 1);
	ck_assert_uint_eq(m->parts[0].hdr_len, 0);
	ck_assert_uint_eq(m->parts[0].body_len, 0);
	ck_assert_str_eq(ENV(m),
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	mime_msg_free(&m);
}
END_TEST

START_TEST(test_multipart_tree)
{
	struct mime_msg		*m = parse_str(multi);
	const struct mime_part	*p;
	char			*t;

	/* root, text, rfc822, its message, alternative's two parts */
	ck_assert_uint_eq(m->nparts, 6);
	ck_assert(m->parts[0].flags & MIME_PART_MULTIPART);
	ck_assert_uint_eq(m->parts[0].child, 1);
	ck_assert_uint_eq(m->parts[1].next, 2);
	ck_assert(m->parts[2].flags & MIME_PART_RFC822);
	ck_assert_uint_eq(m->parts[2].child, 3);
	ck_assert(m->parts[3].flags & MIME_PART_MULTIPART);

	/* The CRLF before a boundary is not the part's. */
	p = &m->parts[1];
	t = part_str(multi, p->body_off, p->body_len);
	ck_assert_str_eq(t, "one");
	free(t);
	t = part_str(multi, p->hdr_off, p->hdr_len);
	ck_assert_str_eq(t, "Content-Type: text/plain\r\n\r\n");
	free(t);

	/* The part without a header is text/plain. */
	p = &m->parts[4];
	ck_assert_uint_eq(p->hdr_len, 2);
	ck_assert(p->flags & MIME_PART_TEXT);
	t = part_str(multi, p->body_off, p->body_len);
	ck_assert_str_eq(t, "plain");
	free(t);

	/* The root ends with the epilogue. */
	ck_assert_uint_eq(m->parts[0].body_off + m->parts[0].body_len,
	    strlen(multi));
	ck_assert_ptr_nonnull(strstr(BS(m), "(\"message\" "
	    "\"rfc822\" NIL NIL NIL \"7bit\" "));
	ck_assert_ptr_nonnull(strstr(BS(m),
	    "\"alternative\" (\"boundary\" \"c\") NIL NIL NIL) 12"));
	mime_msg_free(&m);
}
END_TEST

START_TEST(test_bare_lf)
{
	struct mime_msg	*a, *b;
	const char	*crlf = "Subject: x\r\nContent-Type: multipart/mixed; "
	    "boundary=q\r\n\r\n--q\r\n\r\nab\r\ncd\r\n--q--\r\n";
	const char	*lf = "Subject: x\nContent-Type: multipart/mixed; "
	    "boundary=q\n\n--q\n\nab\ncd\n--q--\n";

	a = parse_str(crlf);
	b = parse_str(lf);
	/* Sizes are those of the CRLF form either way. */
	ck_assert_str_eq(BS(a), BS(b));
	ck_assert_str_eq(BODY(a), BODY(b));
	ck_assert_uint_eq(a->parts[1].body_vsize, 6);
	ck_assert_uint_eq(b->parts[1].body_vsize, 6);
	ck_assert_uint_eq(b->parts[1].body_len, 5);
	ck_assert_uint_eq(a->parts[0].body_vsize, b->parts[0].body_vsize);
	mime_msg_free(&a);
	mime_msg_free(&b);
}
END_TEST

START_TEST(test_broken_boundaries)
{
	struct mime_msg	*m;

	/* No boundary parameter: no parts, an empty text/plain is shown. */
	m = parse_str("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nt\r\n");
	ck_assert_uint_eq(m->nparts, 1);
	ck_assert_ptr_nonnull(strstr(BS(m), "(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
	    "\"mixed\""));
	mime_msg_free(&m);

	/* Never closed: the last part runs to the end. */
	m = parse_str("Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\n\r\nfirst\r\n--x\r\n\r\nsecond\r\n");
	ck_assert_uint_eq(m->nparts, 3);
	ck_assert_uint_eq(m->parts[2].body_len, 8);
	mime_msg_free(&m);

	/* A header that runs into the next boundary ends there. */
	m = parse_str("Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\nContent-Type: text/plain\r\n--x--\r\n");
	ck_assert_uint_eq(m->nparts, 2);
	ck_assert_uint_eq(m->parts[1].hdr_len, 24);
	ck_assert_uint_eq(m->parts[1].body_len, 0);
	mime_msg_free(&m);
}
END_TEST

START_TEST(test_nuls)
{
	const char	 msg[] = "Subject: n\r\n\r\na\0b\r\n";
	struct mime_msg	*m = mime_parse(msg, sizeof(msg) - 1);
	char		 buf[] = "a\0b";

	ck_assert(m->parts[0].flags & MIME_PART_HAS_NULS);
	ck_assert_uint_eq(m->parts[0].body_vsize, 5);
	mime_nuls_replace(buf, 3);
	ck_assert_int_eq((uint8_t)buf[1], 0x80);
	mime_msg_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Limits                                                             */
/* ---------------------------------------------------------------- */

START_TEST(test_limit_depth)
{
	struct pack	 pk;
	struct mime_msg	*m;
	char		 line[128];
	int		 i, n = MIME_MAX_DEPTH + 20;

	pack_init(&pk);
	for (i = 0; i < n; i++) {
		/* Fixed width: no boundary is a prefix of another. */
		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
		    "boundary=b%04dz\r\n\r\n--b%04dz\r\n", i, i);
		pack_raw(&pk, line, strlen(line));
	}
	pack_raw(&pk, "\r\ntext\r\n", 8);
	m = mime_parse(pk.buf, pk.len);
	ck_assert(m->flags & MIME_MSG_LIMIT_DEPTH);
	ck_assert_uint_le(m->nparts, MIME_MAX_DEPTH + 1);
	ck_assert_uint_gt(strlen(BS(m)), 0);
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

START_TEST(test_limit_parts)
{
	struct pack	 pk;
	struct mime_msg	*m;
	const char	*h = "Content-Type: multipart/mixed; boundary=x\r\n\r\n";
	int		 i;

	pack_init(&pk);
	pack_raw(&pk, h, strlen(h));
	for (i = 0; i < MIME_MAX_PARTS + 50; i++)
		pack_raw(&pk, "--x\r\n\r\n.\r\n", 10);
	m = mime_parse(pk.buf, pk.len);
	ck_assert(m->flags & MIME_MSG_LIMIT_PARTS);
	ck_assert_uint_eq(m->nparts, MIME_MAX_PARTS);
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

static double
seconds_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static size_t
count_str(const char *hay, size_t len, const char *needle)
{
	const char	*p = hay, *end = hay + len;
	size_t		 n = 0, nl = strlen(needle);

	while ((p = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

/*
 * Dovecot CVE-2024-23184: many address headers, and long address lists,
 * took minutes of CPU.  ENVELOPE keeps MIME_MAX_ADDRESSES per field and
 * the parse stays linear.
 */
START_TEST(test_limit_addresses)
{
	struct timespec	 t0;
	struct pack	 pk;
	struct mime_msg	*m;
	char		 line[64];
	int		 i, n;

	pack_init(&pk);
	pack_raw(&pk, "To: ", 4);
	for (i = 0; i < MIME_MAX_ADDRESSES + 5000; i++) {
		n = snprintf(line, sizeof(line), "%su%d@x.example", i ? ", " : "",
		    i);
		pack_raw(&pk, line, (size_t)n);
	}
	pack_raw(&pk, "\r\n", 2);
	for (i = 0; i < 50000; i++) {
		n = snprintf(line, sizeof(line), "Cc: c%d@y.example\r\n", i);
		pack_raw(&pk, line, (size_t)n);
	}
	pack_raw(&pk, "\r\nbody\r\n", 8);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = mime_parse(pk.buf, pk.len);
	ck_assert_msg(seconds_since(&t0) < 10.0, "parse took %.1f s",
	    seconds_since(&t0));
	ck_assert_ptr_nonnull(ENV(m));
	ck_assert_uint_le(count_str(ENV(m), strlen(ENV(m)),
	    "\"x.example\""), MIME_MAX_ADDRESSES);
	ck_assert_uint_le(count_str(ENV(m), strlen(ENV(m)),
	    "\"y.example\""), MIME_MAX_ADDRESSES);
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

/*
 * Dovecot CVE-2026-27859: a flood of RFC 2231 parameters cost LMTP
 * excessive CPU.  BODYSTRUCTURE keeps at most MIME_MAX_PARAMS.
 */
START_TEST(test_limit_params)
{
	struct timespec	 t0;
	struct pack	 pk;
	struct mime_msg	*m;
	char		 line[64];
	int		 i, n;

	pack_init(&pk);
	pack_raw(&pk, "Content-Type: text/plain", 24);
	for (i = 0; i < 20000; i++) {
		/* Continuations out of order, and plain ones between. */
		n = snprintf(line, sizeof(line), i % 2 ? ";\r\n p%d=v" :
		    ";\r\n title*%d*=utf-8''%%41", i % 2 ? i : 19999 - i);
		pack_raw(&pk, line, (size_t)n);
	}
	pack_raw(&pk, "\r\n\r\nbody\r\n", 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = mime_parse(pk.buf, pk.len);
	ck_assert_msg(seconds_since(&t0) < 10.0, "parse took %.1f s",
	    seconds_since(&t0));
	ck_assert_uint_gt(strlen(BS(m)), 0);
	/* Each p<n>=v parameter kept shows as "p<n>" "v". */
	ck_assert_uint_le(count_str(BS(m), strlen(BS(m)),
	    "\" \"v\""), MIME_MAX_PARAMS);
	ck_assert_uint_gt(count_str(BS(m), strlen(BS(m)),
	    "\" \"v\""), 100);
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

START_TEST(test_limit_header)
{
	struct pack	 pk;
	struct mime_msg	*m;
	int		 i;

	pack_init(&pk);
	for (i = 0; i < MIME_MAX_HEADER / 20 + 10; i++)
		pack_raw(&pk, "X-Filler: 123456789\r\n", 21);
	pack_raw(&pk, "\r\nbody\r\n", 8);
	m = mime_parse(pk.buf, pk.len);
	ck_assert(m->flags & MIME_MSG_LIMIT_HEADER);
	ck_assert_uint_le(m->parts[0].hdr_len, MIME_MAX_HEADER + 21);
	ck_assert_uint_eq(m->parts[0].hdr_len + m->parts[0].body_len, pk.len);
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

static const char *hdr_doc =
    "From: a@example.com\r\n"
    "Subject: one\r\n"
    "\ttwo  \r\n"
    "No colon here\r\n"
    "\r\n"
    "Body: not a header\r\n";

/*
 * mime_parse_root() splits the root as mime_parse() does, or says it
 * cannot (NULL), never differently.
 */
static void
check_root_same(const void *d, size_t len, int want_known)
{
	struct mime_msg	*full, *root;
	uint64_t	 end;

	full = mime_parse(d, len);
	root = mime_parse_root(d, len);
	ck_assert_int_eq(root != NULL, want_known);
	ck_assert_int_eq(mime_header_end(d, len, &end) == 0, want_known);
	if (root != NULL) {
		ck_assert_uint_eq(end, full->parts[0].hdr_len);
		ck_assert_uint_eq(root->parts[0].hdr_off, full->parts[0].hdr_off);
		ck_assert_uint_eq(root->parts[0].hdr_len, full->parts[0].hdr_len);
		ck_assert_uint_eq(root->parts[0].body_off, full->parts[0].body_off);
		ck_assert_uint_eq(root->parts[0].body_len, full->parts[0].body_len);
		ck_assert_uint_eq(root->size, full->size);
		ck_assert_uint_eq(root->nparts, 1);
	}
	mime_msg_free(&root);
	mime_msg_free(&full);
}

START_TEST(test_root_header_end)
{
	static const struct {
		const char	*msg;
		int		 known;
	} cases[] = {
		{ "", 1 },
		{ "\r\n", 1 },
		{ "\n", 1 },
		{ "\r\nbody\r\n", 1 },
		{ "Subject: x\r\n\r\nbody\r\n", 1 },
		{ "Subject: x\n\nbare LF\n", 1 },
		{ "Subject: x\r\n\tfolded\r\n\r\nbody", 1 },
		{ "Subject: x\r\n \r\nbody\r\n", 1 },	/* blank, not empty */
		{ "Subject: x\r\r\nY: z\r\n\r\nbody", 1 },
		{ "No colon\r\n\r\nbody", 1 },
		{ "Subject: only a header\r\n", 1 },
		{ "Subject: no newline at all", 0 },
		{ "Subject: x\r\nlast line open", 0 },
		{ "Subject: x\r", 0 },
	};
	struct pack	 pk;
	size_t		 i;
	int		 j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_root_same(cases[i].msg, strlen(cases[i].msg),
		    cases[i].known);
	check_root_same(multi, strlen(multi), 1);
	check_root_same(hdr_doc, strlen(hdr_doc), 1);
	/* Past MIME_MAX_HEADER only mime_parse() knows where it is cut. */
	pack_init(&pk);
	for (j = 0; j < MIME_MAX_HEADER / 20 + 10; j++)
		pack_raw(&pk, "X-Filler: 123456789\r\n", 21);
	pack_raw(&pk, "\r\nbody\r\n", 8);
	check_root_same(pk.buf, pk.len, 0);
	pack_free(&pk);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Header fields                                                      */
/* ---------------------------------------------------------------- */

static const char *hdr =
    "From: a@example.com\r\n"
    "Subject: one\r\n"
    "\ttwo  \r\n"
    "No colon here\r\n"
    "X-Empty:\r\n"
    "subject : again\r\n"
    "\r\n"
    "Body: not a header\r\n";

START_TEST(test_header_iter)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;
	int			 n = 0;

	mime_header_iter_init(&it, hdr, strlen(hdr));
	while (mime_header_iter_next(&it, &h)) {
		switch (n++) {
		case 1:
			ck_assert_uint_eq(h.name_len, 7);
			ck_assert_uint_eq(h.line_len, 22);
			ck_assert_uint_eq(h.value_len, 11);
			break;
		case 2:
			ck_assert_uint_eq(h.name_len, 13);
			ck_assert_uint_eq(h.value_len, 0);
			break;
		case 4:
			ck_assert_uint_eq(h.name_len, 7);
			break;
		}
	}
	ck_assert_int_eq(n, 5);
}
END_TEST

START_TEST(test_header_get_unfold)
{
	char	*v;
	size_t	 n;

	v = mime_header_get(hdr, strlen(hdr), "SUBJECT", &n);
	ck_assert_str_eq(v, "one\ttwo");
	ck_assert_uint_eq(n, 7);
	free(v);
	v = mime_header_get(hdr, strlen(hdr), "x-empty", NULL);
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_ptr_null(mime_header_get(hdr, strlen(hdr), "Body", NULL));
}
END_TEST

START_TEST(test_header_fields)
{
	const char	*names[] = { "subject", "X-Nothing" };
	struct pack	 pk;

	pack_init(&pk);
	mime_header_fields(hdr, strlen(hdr), names, 2, 0, &pk);
	pack_u8(&pk, 0);
	ck_assert_str_eq((char *)pk.buf, "Subject: one\r\n\ttwo  \r\n"
	    "subject : again\r\n\r\n");
	pack_free(&pk);

	pack_init(&pk);
	mime_header_fields(hdr, strlen(hdr), names, 1, 1, &pk);
	pack_u8(&pk, 0);
	ck_assert_str_eq((char *)pk.buf, "From: a@example.com\r\n"
	    "No colon here\r\nX-Empty:\r\n\r\n");
	pack_free(&pk);

	/* Bare LF lines come out as CRLF. */
	pack_init(&pk);
	mime_header_fields("A: 1\nB: 2\n\n", 11, names, 0, 1, &pk);
	pack_u8(&pk, 0);
	ck_assert_str_eq((char *)pk.buf, "A: 1\r\nB: 2\r\n\r\n");
	pack_free(&pk);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Content-* and parameters                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_content_rfc2231)
{
	const char		*h =
	    "Content-Type: Application/X-Stuff;\r\n"
	    " title*0*=us-ascii'en'This%20is%20;\r\n"
	    " title*1=\"50% fun\"; other=\"q\\\"d\"\r\n"
	    "Content-Disposition: attachment; filename*=UTF-8''%C3%A4.txt;"
	    " filename=\"fallback.txt\"\r\n"
	    "Content-Language: de-DE, en\r\n"
	    "Content-Transfer-Encoding: Base64\r\n\r\n";
	struct mime_content	 c;
	char			*v, *cs;
	size_t			 n;

	mime_content_parse(h, strlen(h), &c);
	ck_assert_str_eq(c.type, "Application");
	ck_assert_str_eq(c.subtype, "X-Stuff");
	ck_assert_uint_eq(c.nparams, 2);
	ck_assert_str_eq(c.params[0].name, "other");
	ck_assert_str_eq(c.params[0].value, "q\"d");
	/* Joined, still encoded; the plain section %-escaped. */
	ck_assert_str_eq(c.params[1].name, "title*");
	ck_assert_str_eq(c.params[1].value,
	    "us-ascii'en'This%20is%2050%25 fun");
	v = mime_param_get(c.params, c.nparams, "title", &cs, &n);
	ck_assert_str_eq(v, "This is 50% fun");
	ck_assert_str_eq(cs, "us-ascii");
	free(v);
	free(cs);

	ck_assert_str_eq(c.disposition, "attachment");
	v = mime_param_get(c.dparams, c.ndparams, "filename", &cs, &n);
	ck_assert_str_eq(v, "\xc3\xa4.txt");
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(cs, "UTF-8");
	free(v);
	free(cs);
	ck_assert_uint_eq(c.nlanguage, 2);
	ck_assert_str_eq(c.language[1], "en");
	ck_assert_str_eq(c.encoding, "Base64");
	ck_assert_ptr_null(mime_param_get(c.params, c.nparams, "nope", NULL,
	    NULL));
	mime_content_clear(&c);
	ck_assert_ptr_null(c.type);
}
END_TEST

START_TEST(test_content_rfc2231_hole)
{
	const char		*h = "Content-Type: text/plain; "
	    "name*0=a; name*2=c\r\n\r\n";
	struct mime_content	 c;

	mime_content_parse(h, strlen(h), &c);
	ck_assert_uint_eq(c.nparams, 2);
	ck_assert_str_eq(c.params[0].name, "name*0");
	ck_assert_str_eq(c.params[1].name, "name*2");
	mime_content_clear(&c);
}
END_TEST

/* ---------------------------------------------------------------- */
/* ENVELOPE                                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_envelope)
{
	struct mime_msg	*m;

	m = parse_str("From: \"Doe, J.\" <j@example.com>\r\n"
	    "To: undisclosed-recipients:;\r\n"
	    "Cc: Team: a@x.example, b@y.example;\r\n"
	    "Subject: =?utf-8?q?x?=  two  spaces\r\n"
	    "Message-ID: <id@example.com>\r\n\r\n");
	ck_assert_str_eq(ENV(m), "(NIL {24}\r\n=?utf-8?q?x?= two spaces "
	    "((\"Doe, J.\" NIL \"j\" \"example.com\")) "
	    "((\"Doe, J.\" NIL \"j\" \"example.com\")) "
	    "((\"Doe, J.\" NIL \"j\" \"example.com\")) "
	    "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.example\")"
	    "(NIL NIL \"b\" \"y.example\")(NIL NIL NIL NIL)) "
	    "NIL NIL \"<id@example.com>\")");
	mime_msg_free(&m);

	/* 8-bit and many quoted-specials: literals. */
	m = parse_str("Subject: \xc3\xa4\r\nMessage-ID: \"\"\"\"\"\r\n\r\n");
	ck_assert_str_eq(ENV(m), "(NIL {2}\r\n\xc3\xa4 NIL NIL NIL NIL "
	    "NIL NIL NIL {5}\r\n\"\"\"\"\")");
	mime_msg_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Sections                                                           */
/* ---------------------------------------------------------------- */

/* Line ends as Dovecot stores and serves them (crlf_normalize). */
START_TEST(test_crlf)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "a\nb\r\n", "a\r\nb\r\n" },
		{ "a\rb\r\n", "a\rb\r\n" },	/* a bare CR stays */
		{ "a\r\r\nb", "a\r\nb" },	/* a CR before CRLF is lost */
		{ "a\r\r\r\n", "a\r\r\n" },
		{ "\n\r", "\r\n\r" },
		{ "", "" },
	};
	size_t	 i, len;
	char	*out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = crlf_normalize(cases[i].in, strlen(cases[i].in), &len);
		ck_assert_uint_eq(len, strlen(cases[i].out));
		ck_assert_str_eq(out, cases[i].out);
		ck_assert_int_eq(crlf_is_normal(cases[i].in,
		    strlen(cases[i].in)), strcmp(cases[i].in, cases[i].out) == 0);
		free(out);
	}
}
END_TEST

START_TEST(test_sections)
{
	struct mime_msg		*m = parse_str(multi);
	uint64_t		 off, len;
	char			*t;

	ck_assert_ptr_eq(mime_part_find(m, "", 0), &m->parts[0]);
	ck_assert_ptr_eq(mime_part_find(m, "1", 1), &m->parts[1]);
	ck_assert_ptr_eq(mime_part_find(m, "2", 1), &m->parts[2]);
	/* Inside the message/rfc822: its multipart's parts. */
	ck_assert_ptr_eq(mime_part_find(m, "2.1", 3), &m->parts[4]);
	ck_assert_ptr_eq(mime_part_find(m, "2.2", 3), &m->parts[5]);
	ck_assert_ptr_null(mime_part_find(m, "3", 1));
	ck_assert_ptr_null(mime_part_find(m, "2.3", 3));
	ck_assert_ptr_null(mime_part_find(m, "1.2", 3));
	ck_assert_ptr_eq(mime_part_find(m, "1.1", 3), &m->parts[1]);
	/* A part names itself as "1" once (Dovecot). */
	ck_assert_ptr_null(mime_part_find(m, "1.1.1", 5));
	ck_assert_ptr_null(mime_part_find(m, "2.1.1.1", 7));
	mime_msg_free(&m);
	m = parse_str("Subject: single\r\n\r\nbody\r\n");
	ck_assert_ptr_eq(mime_part_find(m, "1", 1), &m->parts[0]);
	ck_assert_ptr_null(mime_part_find(m, "1.1", 3));
	mime_msg_free(&m);
	m = parse_str(multi);
	ck_assert_ptr_null(mime_part_find(m, "0", 1));
	ck_assert_ptr_null(mime_part_find(m, "01", 2));
	ck_assert_ptr_null(mime_part_find(m, "1.", 2));
	ck_assert_ptr_null(mime_part_find(m, "1..1", 4));
	ck_assert_ptr_null(mime_part_find(m, "99999999999999", 14));

	ck_assert_int_eq(mime_section_range(m, "2", 1, MIME_SECTION_HEADER,
	    &off, &len), 0);
	t = part_str(multi, off, len);
	ck_assert_ptr_nonnull(strstr(t, "Subject: inner"));
	free(t);
	ck_assert_int_eq(mime_section_range(m, "2", 1, MIME_SECTION_MIME,
	    &off, &len), 0);
	t = part_str(multi, off, len);
	ck_assert_str_eq(t, "Content-Type: message/rfc822\r\n\r\n");
	free(t);
	ck_assert_int_eq(mime_section_range(m, "", 0, MIME_SECTION_TEXT,
	    &off, &len), 0);
	ck_assert_uint_eq(off + len, strlen(multi));
	ck_assert_int_eq(mime_section_range(m, "1", 1, MIME_SECTION_TEXT,
	    &off, &len), 1);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(mime_section_range(m, "", 0, MIME_SECTION_MIME,
	    &off, &len), -1);
	ck_assert_int_eq(mime_section_range(m, "7", 1, MIME_SECTION_BODY,
	    &off, &len), -1);
	mime_msg_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The cache                                                          */
/* ---------------------------------------------------------------- */

START_TEST(test_cache_roundtrip)
{
	struct mime_msg	*m = parse_str(multi), *d;
	struct pack	 pk;
	uint32_t	 i;

	pack_init(&pk);
	mime_cache_encode(m, &pk);
	d = mime_cache_decode(pk.buf, pk.len, strlen(multi));
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->nparts, m->nparts);
	/* The numbers, up to the parsed fields (pointers). */
	for (i = 0; i < m->nparts; i++)
		ck_assert_mem_eq(&d->parts[i], &m->parts[i],
		    offsetof(struct mime_part, content));
	ck_assert_str_eq(ENV(d), ENV(m));
	ck_assert_str_eq(BS(d), BS(m));
	ck_assert_str_eq(BODY(d), BODY(m));
	mime_msg_free(&d);

	/* The wrong message, a newer version, every truncation: refused. */
	ck_assert_ptr_null(mime_cache_decode(pk.buf, pk.len, 10));
	pk.buf[0]++;
	ck_assert_ptr_null(mime_cache_decode(pk.buf, pk.len, strlen(multi)));
	pk.buf[0]--;
	for (i = 0; i < pk.len; i++)
		ck_assert_ptr_null(mime_cache_decode(pk.buf, i, strlen(multi)));
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

/*
 * A version 1 cache, as guestbox wrote it before the FETCH strings moved
 * to imapd (tests/mime-dump -c of v1_msg, its 4-byte size cut off): the
 * strings themselves.  Messages stored then must FETCH as they did.
 */
static const char	 v1_msg[] =
    "From: \"J\xc3\xb6rg\" <j@x.test>\r\n"
    "Subject: \xc3\xa4  caf\xc3\xa9\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "hi\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: in\r\n"
    "\r\n"
    "x\r\n"
    "--b--\r\n";
static const uint8_t	 v1_cache[] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xe0, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
	0x01, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x6e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x72, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x6e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x72, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00,
	0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x73, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff,
	0xff, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xa7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x87, 0x28, 0x4e, 0x49, 0x4c, 0x20, 0x7b, 0x38, 0x7d, 0x0d, 0x0a, 0xc3,
	0xa4, 0x20, 0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0x28, 0x28, 0x7b, 0x35,
	0x7d, 0x0d, 0x0a, 0x4a, 0xc3, 0xb6, 0x72, 0x67, 0x20, 0x4e, 0x49, 0x4c,
	0x20, 0x22, 0x6a, 0x22, 0x20, 0x22, 0x78, 0x2e, 0x74, 0x65, 0x73, 0x74,
	0x22, 0x29, 0x29, 0x20, 0x28, 0x28, 0x7b, 0x35, 0x7d, 0x0d, 0x0a, 0x4a,
	0xc3, 0xb6, 0x72, 0x67, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x6a, 0x22,
	0x20, 0x22, 0x78, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x22, 0x29, 0x29, 0x20,
	0x28, 0x28, 0x7b, 0x35, 0x7d, 0x0d, 0x0a, 0x4a, 0xc3, 0xb6, 0x72, 0x67,
	0x20, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x6a, 0x22, 0x20, 0x22, 0x78, 0x2e,
	0x74, 0x65, 0x73, 0x74, 0x22, 0x29, 0x29, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x29, 0x00, 0x00, 0x01, 0x20, 0x28, 0x28, 0x22, 0x74,
	0x65, 0x78, 0x74, 0x22, 0x20, 0x22, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x22,
	0x20, 0x28, 0x22, 0x63, 0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x22, 0x20,
	0x22, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x22, 0x29, 0x20, 0x4e, 0x49, 0x4c,
	0x20, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x37, 0x62, 0x69, 0x74, 0x22, 0x20,
	0x32, 0x20, 0x30, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x29, 0x28, 0x22, 0x6d, 0x65,
	0x73, 0x73, 0x61, 0x67, 0x65, 0x22, 0x20, 0x22, 0x72, 0x66, 0x63, 0x38,
	0x32, 0x32, 0x22, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x22, 0x37, 0x62, 0x69, 0x74, 0x22, 0x20, 0x31,
	0x36, 0x20, 0x28, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x69, 0x6e, 0x22, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x29, 0x20, 0x28, 0x22, 0x74,
	0x65, 0x78, 0x74, 0x22, 0x20, 0x22, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x22,
	0x20, 0x28, 0x22, 0x63, 0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x22, 0x20,
	0x22, 0x75, 0x73, 0x2d, 0x61, 0x73, 0x63, 0x69, 0x69, 0x22, 0x29, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x37, 0x62, 0x69,
	0x74, 0x22, 0x20, 0x31, 0x20, 0x30, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e,
	0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x29, 0x20,
	0x32, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49,
	0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x29, 0x20, 0x22, 0x6d, 0x69, 0x78, 0x65,
	0x64, 0x22, 0x20, 0x28, 0x22, 0x62, 0x6f, 0x75, 0x6e, 0x64, 0x61, 0x72,
	0x79, 0x22, 0x20, 0x22, 0x62, 0x22, 0x29, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x29, 0x00, 0x00, 0x00, 0xd3,
	0x28, 0x28, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x20, 0x22, 0x70, 0x6c,
	0x61, 0x69, 0x6e, 0x22, 0x20, 0x28, 0x22, 0x63, 0x68, 0x61, 0x72, 0x73,
	0x65, 0x74, 0x22, 0x20, 0x22, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x22, 0x29,
	0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x37, 0x62,
	0x69, 0x74, 0x22, 0x20, 0x32, 0x20, 0x30, 0x29, 0x28, 0x22, 0x6d, 0x65,
	0x73, 0x73, 0x61, 0x67, 0x65, 0x22, 0x20, 0x22, 0x72, 0x66, 0x63, 0x38,
	0x32, 0x32, 0x22, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x22, 0x37, 0x62, 0x69, 0x74, 0x22, 0x20, 0x31,
	0x36, 0x20, 0x28, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x69, 0x6e, 0x22, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x29, 0x20, 0x28, 0x22, 0x74,
	0x65, 0x78, 0x74, 0x22, 0x20, 0x22, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x22,
	0x20, 0x28, 0x22, 0x63, 0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x22, 0x20,
	0x22, 0x75, 0x73, 0x2d, 0x61, 0x73, 0x63, 0x69, 0x69, 0x22, 0x29, 0x20,
	0x4e, 0x49, 0x4c, 0x20, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x37, 0x62, 0x69,
	0x74, 0x22, 0x20, 0x31, 0x20, 0x30, 0x29, 0x20, 0x32, 0x29, 0x20, 0x22,
	0x6d, 0x69, 0x78, 0x65, 0x64, 0x22, 0x29,
};

START_TEST(test_cache_v1)
{
	struct mime_msg	*m = parse_str(v1_msg), *d;
	struct pack	 pk;
	uint32_t	 i;

	ck_assert_uint_eq(v1_cache[0], MIME_CACHE_VERSION_STRINGS);
	d = mime_cache_decode(v1_cache, sizeof(v1_cache), strlen(v1_msg));
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(d->v1_envelope);
	ck_assert_uint_eq(d->nparts, m->nparts);
	for (i = 0; i < m->nparts; i++) {
		ck_assert_mem_eq(&d->parts[i], &m->parts[i],
		    offsetof(struct mime_part, content));
		ck_assert_ptr_null(d->parts[i].content);
		ck_assert_ptr_null(d->parts[i].envelope);
	}
	/* The stored strings are what version 2 writes from its fields. */
	ck_assert_str_eq(ENV(d), ENV(m));
	ck_assert_str_eq(BS(d), BS(m));
	ck_assert_str_eq(BODY(d), BODY(m));
	ck_assert_str_eq(ENV(d), "(NIL {8}\r\n\xc3\xa4 caf\xc3\xa9 "
	    "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.test\")) "
	    "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.test\")) "
	    "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.test\")) "
	    "NIL NIL NIL NIL NIL)");
	mime_msg_free(&d);
	for (i = 0; i < sizeof(v1_cache); i++)
		ck_assert_ptr_null(mime_cache_decode(v1_cache, i,
		    strlen(v1_msg)));

	/* Written again, it is the current version, and FETCHes the same. */
	pack_init(&pk);
	mime_cache_encode(m, &pk);
	ck_assert_uint_eq(pk.buf[0], MIME_CACHE_VERSION);
	d = mime_cache_decode(pk.buf, pk.len, strlen(v1_msg));
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(d->v1_envelope);
	ck_assert_ptr_nonnull(d->parts[0].envelope);
	ck_assert_str_eq(BS(d), BS(m));
	mime_msg_free(&d);
	pack_free(&pk);
	mime_msg_free(&m);
}
END_TEST

/*
 * Version 3 keeps References (THREAD=REFERENCES reads it from there);
 * version 2, without it, still decodes and says it does not know.
 */
START_TEST(test_cache_references)
{
	static const char *refs_msg =
	    "From: a@example.com\r\nSubject: x\r\n"
	    "References: <1@x>\r\n <2@x>\r\n\r\nbody\r\n";
	static const char *plain_msg =
	    "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
	struct mime_msg	*m, *d;
	struct pack	 pk;

	m = parse_str(refs_msg);
	ck_assert_str_eq(m->parts[0].envelope->references, "<1@x>\n <2@x>");
	pack_init(&pk);
	mime_cache_encode(m, &pk);
	d = mime_cache_decode(pk.buf, pk.len, strlen(refs_msg));
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->references_unknown, 0);
	ck_assert_str_eq(d->parts[0].envelope->references, "<1@x>\n <2@x>");
	mime_msg_free(&d);
	mime_msg_free(&m);
	pack_free(&pk);

	/* Version 2 of a message without References: no final u8 0. */
	m = parse_str(plain_msg);
	ck_assert_ptr_null(m->parts[0].envelope->references);
	pack_init(&pk);
	mime_cache_encode(m, &pk);
	ck_assert_uint_eq(pk.buf[pk.len - 1], 0);
	d = mime_cache_decode(pk.buf, pk.len, strlen(plain_msg));
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->references_unknown, 0);
	mime_msg_free(&d);
	pk.buf[0] = MIME_CACHE_VERSION_NOREFS;
	ck_assert_ptr_null(mime_cache_decode(pk.buf, pk.len,
	    strlen(plain_msg)));
	d = mime_cache_decode(pk.buf, pk.len - 1, strlen(plain_msg));
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->references_unknown, 1);
	ck_assert_ptr_null(d->parts[0].envelope->references);
	ck_assert_str_eq(d->parts[0].envelope->subject, "x");
	mime_msg_free(&d);
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

START_TEST(test_cache_damage)
{
	struct mime_msg	*m = parse_str(multi), *d;
	struct pack	 pk;
	uint32_t	 i, bit;

	pack_init(&pk);
	mime_cache_encode(m, &pk);
	/* Every single bit flip either is refused or decodes sanely. */
	for (i = 0; i < pk.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			pk.buf[i] ^= 1 << bit;
			d = mime_cache_decode(pk.buf, pk.len, strlen(multi));
			if (d != NULL) {
				ck_assert_uint_ge(d->nparts, 1);
				ck_assert_uint_le(d->parts[0].body_off +
				    d->parts[0].body_len, strlen(multi));
				mime_msg_free(&d);
			}
			pk.buf[i] ^= 1 << bit;
		}
	}
	/* A part outside its parent. */
	pack_free(&pk);
	m->parts[1].hdr_off = 0;
	pack_init(&pk);
	mime_cache_encode(m, &pk);
	ck_assert_ptr_null(mime_cache_decode(pk.buf, pk.len, strlen(multi)));
	/* A cycle. */
	m->parts[1].hdr_off = m->parts[0].body_off + 10;
	m->parts[2].next = 1;
	pack_free(&pk);
	pack_init(&pk);
	mime_cache_encode(m, &pk);
	ck_assert_ptr_null(mime_cache_decode(pk.buf, pk.len, strlen(multi)));
	mime_msg_free(&m);
	pack_free(&pk);
}
END_TEST

/* RFC 2047: encoded-words decode back; each at most 75 characters. */
START_TEST(test_encode_words)
{
	/* 30 x "Grüße " : 240 bytes, the umlauts at every offset. */
	char		 in[512], *w, *line;
	struct pack	 enc, dec;
	size_t		 i;

	in[0] = '\0';
	for (i = 0; i < 30; i++)
		strcat(in, "Gr\xc3\xbc\xc3\x9f" "e ");
	ck_assert(!mime_text_is_plain(in));
	ck_assert(mime_text_is_plain("Plans for\tMonday"));
	ck_assert(!mime_text_is_plain("bell\x07"));
	pack_init(&enc);
	mime_encode_words(&enc, in);
	pack_u8(&enc, 0);
	for (line = (char *)enc.buf; line != NULL; ) {
		char *next = strstr(line, "\r\n ");

		if (next != NULL)
			*next = '\0';
		w = line;
		ck_assert_uint_le(strlen(w), 75);
		ck_assert(strncmp(w, "=?UTF-8?B?", 10) == 0);
		/* Each word alone is whole UTF-8: it ends on a boundary. */
		pack_init(&dec);
		mime_decode_words(&dec, (const uint8_t *)w, strlen(w));
		ck_assert_uint_gt(dec.len, 0);
		ck_assert((dec.buf[dec.len - 1] & 0x80) == 0 ||
		    (dec.buf[dec.len - 1] & 0xc0) == 0x80);
		pack_free(&dec);
		if (next != NULL)
			memcpy(next, "\r\n ", 3);
		line = next != NULL ? next + 3 : NULL;
	}
	/* The folded whole decodes to the input (RFC 2047 6.2). */
	pack_init(&dec);
	mime_decode_words(&dec, enc.buf, enc.len - 1);
	ck_assert_uint_eq(dec.len, strlen(in));
	ck_assert(memcmp(dec.buf, in, dec.len) == 0);
	pack_free(&dec);
	pack_free(&enc);
	/* Not UTF-8 at all (continuation bytes only): words, no crash. */
	memset(in, 0x80, 100);
	in[100] = '\0';
	pack_init(&enc);
	mime_encode_words(&enc, in);
	ck_assert_uint_gt(enc.len, 0);
	pack_free(&enc);
}
END_TEST

/* The strict conversion SEARCH CHARSET uses (imapd/cmd-search.c). */
static int
to_utf8(const char *charset, const char *in, size_t len, const char *want)
{
	struct pack	 out;
	int		 r;

	pack_init(&out);
	r = mime_charset_to_utf8(&out, charset, (const uint8_t *)in, len);
	if (r == 0 && want != NULL)
		ck_assert_msg(out.len == strlen(want) && (out.len == 0 ||
		    memcmp(out.buf, want, out.len) == 0), "%s: got %.*s",
		    charset, (int)out.len, (const char *)out.buf);
	pack_free(&out);
	return r;
}

START_TEST(test_charset_strict)
{
	ck_assert_int_eq(to_utf8("ISO-8859-1", "Gr\xfc\xdf", 4,
	    "Gr\xc3\xbc\xc3\x9f"), 0);
	ck_assert_int_eq(to_utf8("windows-1252", "\x80", 1, "\xe2\x82\xac"), 0);
	ck_assert_int_eq(to_utf8("latin1", "", 0, ""), 0);
	ck_assert_int_eq(to_utf8("ISO-2022-JP", "\x1b$B$\"\x1b(B", 8,
	    "\xe3\x81\x82"), 0);
	/* Not text in the charset: a broken byte, a character cut short. */
	ck_assert_int_eq(to_utf8("UTF-8", "a\xff", 2, NULL),
	    MIME_CHARSET_INVALID);
	ck_assert_int_eq(to_utf8("UTF-8", "a\xc3", 2, NULL),
	    MIME_CHARSET_INVALID);
	ck_assert_int_eq(to_utf8("X-NO-SUCH", "a", 1, NULL),
	    MIME_CHARSET_UNKNOWN);
	/* Whether a charset is known, with no input. */
	ck_assert_int_eq(to_utf8("ISO-8859-15", NULL, 0, NULL), 0);
	ck_assert_int_eq(to_utf8("X-NO-SUCH", NULL, 0, NULL),
	    MIME_CHARSET_UNKNOWN);
}
END_TEST

Suite *
mime_suite(void)
{
	Suite	*s = suite_create("mime");
	TCase	*tc;

	tc = tcase_create("structure");
	tcase_add_test(tc, test_simple_text);
	tcase_add_test(tc, test_empty_message);
	tcase_add_test(tc, test_multipart_tree);
	tcase_add_test(tc, test_bare_lf);
	tcase_add_test(tc, test_broken_boundaries);
	tcase_add_test(tc, test_nuls);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_limit_depth);
	tcase_add_test(tc, test_limit_parts);
	tcase_add_test(tc, test_limit_header);
	tcase_add_test(tc, test_limit_addresses);
	tcase_add_test(tc, test_limit_params);
	tcase_add_test(tc, test_root_header_end);
	suite_add_tcase(s, tc);

	tc = tcase_create("headers");
	tcase_add_test(tc, test_header_iter);
	tcase_add_test(tc, test_header_get_unfold);
	tcase_add_test(tc, test_header_fields);
	tcase_add_test(tc, test_encode_words);
	suite_add_tcase(s, tc);

	tc = tcase_create("content");
	tcase_add_test(tc, test_content_rfc2231);
	tcase_add_test(tc, test_content_rfc2231_hole);
	tcase_add_test(tc, test_charset_strict);
	suite_add_tcase(s, tc);

	tc = tcase_create("envelope");
	tcase_add_test(tc, test_envelope);
	suite_add_tcase(s, tc);

	tc = tcase_create("sections");
	tcase_add_test(tc, test_sections);
	tcase_add_test(tc, test_crlf);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, test_cache_roundtrip);
	tcase_add_test(tc, test_cache_damage);
	tcase_add_test(tc, test_cache_references);
	tcase_add_test(tc, test_cache_v1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(mime_suite());
}
