/*
 * check_imap_text.c: the text SEARCH BODY and TEXT compare, read in
 * pieces (imapd/imap-text.c, mail/mime-decode.c; issue 17).  A body fed
 * in any split must decode, fold and match exactly as the whole does: a
 * needle split across two pieces (two 64 kB chunks of the sealed blob)
 * is found in base64 and quoted-printable parts, in a multibyte charset,
 * and a needle that is not there is not.  tests/imapd-search-stream.test
 * compares the same with Dovecot through the daemon.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-text.h"
#include "mime-content.h"
#include "mime-decode.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_text_suite(void);

/* Every piece size from 1 to this, and the message whole. */
#define SPLIT_MAX	9

/*
 * Feeds msg to a scan for needles in pieces of split bytes (0: each
 * range whole); found[i] gets whether needle i is there.
 */
static void
scan_split(const char *msg, const struct mime_msg *mm,
    const char *const *needles, size_t n, size_t split, int *found)
{
	struct imap_text_scan	*sc;
	uint64_t		 off, len;
	size_t			 i;

	sc = imap_text_scan_new(mm, strlen(msg), needles, n);
	while (imap_text_scan_next(sc, &off, &len))
		imap_text_scan_feed(sc, (const uint8_t *)msg + off,
		    split == 0 || split > len ? (size_t)len : split);
	for (i = 0; i < n; i++)
		found[i] = imap_text_scan_found(sc, i);
	imap_text_scan_free(&sc);
}

/* Every split finds what strstr() finds in imap_text_body(). */
static void
check_needles(const char *msg, const char *const *needles, size_t n,
    const int *want)
{
	struct mime_msg	*mm = mime_parse(msg, strlen(msg));
	char		*whole = imap_text_body(msg, strlen(msg), mm);
	int		 found[8];
	size_t		 split, i;

	ck_assert_uint_le(n, 8);
	for (i = 0; i < n; i++)
		ck_assert_msg((strstr(whole, needles[i]) != NULL) == want[i],
		    "whole text, needle \"%s\": %s", needles[i], whole);
	for (split = 0; split <= SPLIT_MAX; split++) {
		scan_split(msg, mm, needles, n, split, found);
		for (i = 0; i < n; i++)
			ck_assert_msg(found[i] == want[i],
			    "pieces of %zu, needle \"%s\"", split, needles[i]);
	}
	free(whole);
	mime_msg_free(&mm);
}

#define MULTI(b1, b2) \
	"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n" \
	"Content-Type: multipart/mixed; boundary=XX\r\n\r\n" \
	"--XX\r\n" b1 "\r\n--XX\r\n" b2 "\r\n--XX--\r\n"

/* "Die Stra\xc3\x9f" "e nach K\xc3\xb6ln f\xc3\xbchrt hier" in base64. */
START_TEST(test_base64_border)
{
	const char *msg = MULTI(
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "RGllIFN0cmHDn2UgbmFjaCBLw7ZsbiBmw7xocnQgaGllcg==",
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "c2VjcmV0IGluIGFuIGF0dGFjaG1lbnQ=");
	const char *needles[] = { "straße nach köln", "KÖLN", "köln fährt",
	    "secret", "" };
	const int want[] = { 1, 0, 0, 0, 1 };

	/* Needles are folded by the caller: "KÖLN" as such is not there. */
	check_needles(msg, needles, 5, want);
}
END_TEST

START_TEST(test_qp_border)
{
	const char *msg = MULTI(
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Gr=FC=DFe aus der Stra=DFe, ein sehr langes Wort: Donau=\r\n"
	    "dampfschiff=\nfahrt und =E9t=E9=",
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<p>caf=C3=A9 cr=C3=A8me =3D done=4");
	const char *needles[] = { "grüße aus der straße",
	    "donaudampfschifffahrt", "été=\n", "café crème = done=4",
	    "donau=", "=fc" };
	const int want[] = { 1, 1, 1, 1, 0, 0 };

	check_needles(msg, needles, 6, want);
}
END_TEST

/* A multibyte and a stateful charset, split inside their characters. */
START_TEST(test_charset_border)
{
	const char *msg = MULTI(
	    "Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n"
	    "\x1b$B$3$s$K$A$O\x1b(B world",
	    "Content-Type: text/plain; charset=shift_jis\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "k4yLnoLFgrc=");
	const char *needles[] = { "こんにちは world", "東京です", "東京で",
	    "こんばんは" };
	const int want[] = { 1, 1, 1, 0 };

	check_needles(msg, needles, 4, want);
}
END_TEST

/* An embedded message's header is text, the outer header is not. */
START_TEST(test_embedded_header)
{
	const char *msg = MULTI(
	    "Content-Type: text/plain\r\n\r\nfirst part \xc3\x96LFELD",
	    "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= inside\r\n\r\n"
	    "inner body");
	const char *needles[] = { "subject: grüße inside", "inner body",
	    "part ölfeld\n", "a@example.org" };
	const int want[] = { 1, 1, 1, 0 };

	/* "Ö" split between two pieces is folded all the same. */
	check_needles(msg, needles, 4, want);
}
END_TEST

/* The decoder alone: any split gives the whole's bytes. */
START_TEST(test_decoder_split)
{
	static const struct {
		const char	*enc, *charset, *body;
	} cases[] = {
		{ "base64", NULL, "aGVsbG8g\r\nd29ybGQ=ignored" },
		{ "quoted-printable", NULL, "a=3Db=\r\nc=\rd=\ne=4" },
		{ "quoted-printable", NULL, "end=" },
		{ "quoted-printable", "utf-8", "=C3=A9=C3" },
		{ NULL, "iso-2022-jp", "\x1b$B$3$s\x1b(B" },
		{ NULL, "euc-jp", "\xc5\xec\xb5\xfe\xa4" },
		{ NULL, "x-no-such-charset", "\xff\xfe" },
	};
	struct mime_param	 param;
	struct mime_content	 ct;
	struct mime_decoder	 d;
	struct pack		 whole, piece;
	size_t			 i, split, off, n, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ct, 0, sizeof(ct));
		ct.encoding = (char *)(uintptr_t)cases[i].enc;
		if (cases[i].charset != NULL) {
			memset(&param, 0, sizeof(param));
			param.name = (char *)(uintptr_t)"charset";
			param.value = (char *)(uintptr_t)cases[i].charset;
			ct.params = &param;
			ct.nparams = 1;
		}
		len = strlen(cases[i].body);
		pack_init(&whole);
		mime_decoder_init(&d, &ct);
		mime_decoder_feed(&d, &whole, (const uint8_t *)cases[i].body,
		    len);
		mime_decoder_finish(&d, &whole);
		mime_decoder_clear(&d);
		for (split = 1; split <= SPLIT_MAX; split++) {
			pack_init(&piece);
			mime_decoder_init(&d, &ct);
			for (off = 0; off < len; off += n) {
				n = len - off < split ? len - off : split;
				mime_decoder_feed(&d, &piece,
				    (const uint8_t *)cases[i].body + off, n);
			}
			mime_decoder_finish(&d, &piece);
			mime_decoder_clear(&d);
			ck_assert_msg(piece.len == whole.len && (whole.len == 0 ||
			    memcmp(piece.buf, whole.buf, whole.len) == 0),
			    "case %zu, pieces of %zu", i, split);
			pack_free(&piece);
		}
		pack_free(&whole);
	}
}
END_TEST

/* A large body fed as 64 kB chunks, the needle across two. */
START_TEST(test_chunk_border)
{
	const size_t	 chunk = 64 * 1024;
	struct pack	 msg;
	const char	*head = "Subject: big\r\nContent-Type: text/plain\r\n"
			    "Content-Transfer-Encoding: base64\r\n\r\n";
	const char	*needles[] = { "needle across a border", "absent" };
	struct mime_msg	*mm;
	int		 found[2];
	size_t		 hl = strlen(head);
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*t = needles[0];
	uint32_t	 bits = 0;
	int		 nbits = 0;
	size_t		 i, ni = 0, line = 0, start = 0, end = 0;
	char		 c;

	/*
	 * "x" * ~96 kB with the needle starting a few bytes before byte
	 * 65536 of the message (the first chunk's end): base64 by hand, 76
	 * a line.
	 */
	pack_init(&msg);
	pack_raw(&msg, head, hl);
	for (i = 0; i < 3 * 33000; i++) {
		if (start == 0 && msg.len >= chunk - 12) {
			start = msg.len;
			ni = 0;
		}
		c = start != 0 && ni < strlen(t) ? t[ni++] : 'x';
		bits = (bits << 8) | (uint8_t)c;
		nbits += 8;
		while (nbits >= 6) {
			nbits -= 6;
			pack_u8(&msg, (uint8_t)b64[(bits >> nbits) & 63]);
			if (++line == 76) {
				pack_raw(&msg, "\r\n", 2);
				line = 0;
			}
		}
		if (ni == strlen(t) && end == 0)
			end = msg.len;
	}
	pack_u8(&msg, 0);
	ck_assert_uint_lt(start, chunk);
	ck_assert_uint_gt(end, chunk);
	mm = mime_parse(msg.buf, msg.len - 1);
	scan_split((const char *)msg.buf, mm, needles, 2, chunk, found);
	ck_assert_int_eq(found[0], 1);
	ck_assert_int_eq(found[1], 0);
	mime_msg_free(&mm);
	pack_free(&msg);
}
END_TEST

Suite *
imap_text_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_text");
	tc = tcase_create("pieces");
	tcase_add_test(tc, test_base64_border);
	tcase_add_test(tc, test_qp_border);
	tcase_add_test(tc, test_charset_border);
	tcase_add_test(tc, test_embedded_header);
	tcase_add_test(tc, test_decoder_split);
	tcase_add_test(tc, test_chunk_border);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(imap_text_suite());
}
