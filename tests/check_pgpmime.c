/*
 * check_pgpmime.c: PGP/MIME copies (submitd/pgpmime.c).
 *
 * The fixture makes throwaway GnuPG homes in a temporary directory: one
 * per correspondent (Bob, Carol, Dave with their secret keys; Eve's key
 * expired, Rev's revoked) and the "server" home that holds only their
 * public keys, as STATE_DIR/gnupg does.  Copies are decrypted with the
 * gpg command line in the recipient's home and compared with what was
 * submitted.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "pgpmime.h"
#include "rfc5322.h"
#include "util.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*pgpmime_suite(void);

static char	 tmpdir[] = "/tmp/gbxpgp.XXXXXX";
static char	*srv_home;
static char	 fpr_bob[PGPMIME_FPR_MAX + 1], fpr_carol[PGPMIME_FPR_MAX + 1];
static char	 fpr_dave[PGPMIME_FPR_MAX + 1], fpr_eve[PGPMIME_FPR_MAX + 1];
static char	 fpr_rev[PGPMIME_FPR_MAX + 1];

static const char submitted[] =
    "From: Alice <alice@guest.test>\r\n"
    "To: Bob <bob@x.test>\r\n"
    "Cc: carol@x.test\r\n"
    "Bcc: dave@x.test\r\n"
    "Subject: Secret plans\r\n"
    "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    "Message-ID: <m1@guest.test>\r\n"
    "In-Reply-To: <p0@x.test>\r\n"
    "References: <p-1@x.test>\r\n"
    " <p0@x.test>\r\n"
    "User-Agent: TestClient/1.0\r\n"
    "X-Mozilla-Draft-Info: internal/draft; vcard=0\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"orig-b\"\r\n"
    "\r\n"
    "--orig-b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "H\xc3\xa4llo Bob, the plans are attached.\r\n"
    ".leading dot line\r\n"
    "--orig-b\r\n"
    "Content-Type: application/octet-stream; name=\"plans.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"plans.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "UExBTlMtQVRUQUNITUVOVC0xMjM0NQ==\r\n"
    "--orig-b--\r\n";

static void
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd;
	int	 rc;

	va_start(ap, fmt);
	if (xvasprintf(&cmd, fmt, ap) == -1)
		abort();
	va_end(ap);
	rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr, "failed (%d): %s\n", rc, cmd);
		abort();
	}
	free(cmd);
}

/* Makes a home with a key pair; its fingerprint goes to fpr. */
static void
make_key(const char *name, const char *uid, const char *extra,
    const char *expire, char *fpr)
{
	FILE	*f;
	char	*cmd, line[512];

	sh("mkdir -m 700 %s/%s && gpg --homedir %s/%s --batch --quiet "
	    "--passphrase '' %s --quick-gen-key '%s' future-default default "
	    "%s 2>/dev/null", tmpdir, name, tmpdir, name, extra, uid, expire);
	xasprintf(&cmd, "gpg --homedir %s/%s --with-colons --list-keys "
	    "2>/dev/null", tmpdir, name);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	fpr[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL)
		if (fpr[0] == '\0' && strncmp(line, "fpr:", 4) == 0)
			sscanf(line, "fpr:::::::::%64[0-9A-F]", fpr);
	pclose(f);
	free(cmd);
	if (strlen(fpr) != 40)
		abort();
	sh("gpg --homedir %s/%s --armor --export | gpg --homedir %s --batch "
	    "--quiet --import 2>/dev/null", tmpdir, name, srv_home);
}

static void
homes_setup(void)
{
	char	 why[256];

	if (mkdtemp(tmpdir) == NULL)
		abort();
	xasprintf(&srv_home, "%s/srv", tmpdir);
	sh("mkdir -m 700 %s", srv_home);
	make_key("bob", "Bob <bob@x.test>", "", "never", fpr_bob);
	make_key("carol", "Carol <carol@x.test>", "", "never", fpr_carol);
	make_key("dave", "Dave <dave@x.test>", "", "never", fpr_dave);
	/* Made "in 2020" to expire a year later: expired now. */
	make_key("eve", "Eve <eve@x.test>",
	    "--faked-system-time 20200101T000000", "1y", fpr_eve);
	/* Revoked with the certificate gpg made with it. */
	make_key("rev", "Rev <rev@x.test>", "", "never", fpr_rev);
	sh("sed 's/^:-----/-----/' %s/rev/openpgp-revocs.d/%s.rev | "
	    "gpg --homedir %s --batch --quiet --import 2>/dev/null",
	    tmpdir, fpr_rev, srv_home);
	if (pgpmime_init(why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		abort();
	}
}

static void
homes_teardown(void)
{
	static const char *const homes[] = { "bob", "carol", "dave", "eve",
	    "rev", "srv" };
	size_t	 i;

	for (i = 0; i < sizeof(homes) / sizeof(homes[0]); i++)
		sh("gpgconf --homedir %s/%s --kill all 2>/dev/null || true",
		    tmpdir, homes[i]);
	sh("rm -rf %s", tmpdir);
	free(srv_home);
}

/*
 * Decrypts the armoured part of a copy in a recipient's home.  Returns
 * the cleartext (a new string), or NULL if gpg cannot decrypt it.
 */
static char *
decrypt(const char *home, const char *copy)
{
	const char	*b, *e;
	char		*in, *out, *cmd, *text;
	size_t		 len;
	int		 rc;

	b = strstr(copy, "-----BEGIN PGP MESSAGE-----");
	e = strstr(copy, "-----END PGP MESSAGE-----");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(e);
	xasprintf(&in, "%s/in.asc", tmpdir);
	xasprintf(&out, "%s/out.txt", tmpdir);
	ck_assert_int_eq(file_write_atomic(in, b, (size_t)(e - b) + 25, 0600),
	    0);
	unlink(out);
	xasprintf(&cmd, "gpg --homedir %s/%s --batch --quiet --decrypt "
	    "--output %s %s 2>/dev/null", tmpdir, home, out, in);
	rc = system(cmd);
	text = NULL;
	if (rc == 0)
		ck_assert_int_eq(file_read_all(out, 1 << 24, &text, &len), 0);
	free(cmd);
	free(in);
	free(out);
	return text;
}

static int
has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/*
 * Like has(), outside the armored blocks: their base64 is random and
 * holds a short word like "Bcc" in about one message of 200.
 */
static int
has_plain(const char *hay, const char *needle)
{
	const char	*b, *e;
	char		*copy = strdup(hay), *p = copy;
	int		 found;

	ck_assert_ptr_nonnull(copy);
	while ((b = strstr(p, "-----BEGIN PGP MESSAGE-----")) != NULL &&
	    (e = strstr(b, "-----END PGP MESSAGE-----")) != NULL) {
		memset(copy + (b - copy), ' ', (size_t)(e - b));
		p = copy + (e - copy);
	}
	found = strstr(copy, needle) != NULL;
	free(copy);
	return found;
}

/* CRLF throughout: no bare LF and no bare CR. */
static void
check_crlf(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n')
			ck_assert_msg(i > 0 && s[i - 1] == '\r',
			    "bare LF at %zu", i);
		if (s[i] == '\r')
			ck_assert_msg(i + 1 < len && s[i + 1] == '\n',
			    "bare CR at %zu", i);
	}
}

/* ------------------------------------------------------------------ */
/* Without GPGME: the MIME structure                                  */
/* ------------------------------------------------------------------ */

START_TEST(payload_plain)
{
	struct rfc5322_header	*h;
	const char		*why;
	char			*p;
	size_t			 len;

	ck_assert_int_eq(rfc5322_header_parse(submitted, sizeof(submitted) - 1,
	    &h, &why), 0);
	p = pgpmime_payload(h, 0, "unused", &len);
	ck_assert_uint_eq(strlen(p), len);
	/* The body part with its Content-* fields, nothing else. */
	ck_assert(strncmp(p, "Content-Type: multipart/mixed; "
	    "boundary=\"orig-b\"\r\n\r\n--orig-b\r\n", 55) == 0);
	ck_assert(has(p, "UExBTlMtQVRUQUNITUVOVC0xMjM0NQ==\r\n--orig-b--\r\n"));
	ck_assert(!has(p, "Subject"));
	ck_assert(!has(p, "dave"));
	ck_assert(!has(p, "User-Agent"));
	ck_assert(!has(p, "MIME-Version"));
	check_crlf(p, len);
	free(p);
	rfc5322_header_free(&h);
}
END_TEST

START_TEST(payload_protected)
{
	struct rfc5322_header	*h, *ih;
	const char		*why;
	char			*p;
	size_t			 len;

	ck_assert_int_eq(rfc5322_header_parse(submitted, sizeof(submitted) - 1,
	    &h, &why), 0);
	p = pgpmime_payload(h, PGPMIME_PROTECT_SUBJECT, "gbx.mix.1", &len);
	check_crlf(p, len);
	ck_assert_int_eq(rfc5322_header_parse(p, len, &ih, &why), 0);
	ck_assert_str_eq(rfc5322_header_value(ih, "Content-Type"),
	    "multipart/mixed; boundary=\"gbx.mix.1\"; "
	    "protected-headers=\"v1\"");
	ck_assert_str_eq(rfc5322_header_value(ih, "Subject"), "Secret plans");
	ck_assert_str_eq(rfc5322_header_value(ih, "From"),
	    "Alice <alice@guest.test>");
	ck_assert_str_eq(rfc5322_header_value(ih, "To"), "Bob <bob@x.test>");
	ck_assert_str_eq(rfc5322_header_value(ih, "Cc"), "carol@x.test");
	ck_assert_str_eq(rfc5322_header_value(ih, "Message-ID"),
	    "<m1@guest.test>");
	ck_assert_str_eq(rfc5322_header_value(ih, "References"),
	    "<p-1@x.test> <p0@x.test>");
	ck_assert_ptr_nonnull(rfc5322_header_value(ih, "Date"));
	ck_assert_ptr_null(rfc5322_header_value(ih, "Bcc"));
	ck_assert_ptr_null(rfc5322_header_value(ih, "User-Agent"));
	ck_assert_ptr_null(rfc5322_header_value(ih, "X-Mozilla-Draft-Info"));
	/* One part: the original body part, whole. */
	ck_assert(strncmp(ih->body, "--gbx.mix.1\r\nContent-Type: "
	    "multipart/mixed; boundary=\"orig-b\"\r\n\r\n--orig-b\r\n", 66) ==
	    0);
	ck_assert(has(ih->body, "--orig-b--\r\n\r\n--gbx.mix.1--\r\n"));
	ck_assert(!has(p, "dave"));
	rfc5322_header_free(&ih);
	free(p);
	rfc5322_header_free(&h);
}
END_TEST

START_TEST(outer_shape)
{
	struct rfc5322_header	*h, *oh;
	const char		*why, *armor = "-----BEGIN PGP MESSAGE-----\n\n"
	    "hQEMA\n=abcd\n-----END PGP MESSAGE-----\n";
	char			*o;
	size_t			 len;

	ck_assert_int_eq(rfc5322_header_parse(submitted, sizeof(submitted) - 1,
	    &h, &why), 0);
	o = pgpmime_outer(h, PGPMIME_PROTECT_SUBJECT, "gbx.enc.1", armor,
	    strlen(armor), &len);
	check_crlf(o, len);
	ck_assert_int_eq(rfc5322_header_parse(o, len, &oh, &why), 0);
	ck_assert_str_eq(rfc5322_header_value(oh, "Subject"), "...");
	ck_assert_str_eq(rfc5322_header_value(oh, "From"),
	    "Alice <alice@guest.test>");
	ck_assert_str_eq(rfc5322_header_value(oh, "To"), "Bob <bob@x.test>");
	ck_assert_str_eq(rfc5322_header_value(oh, "Cc"), "carol@x.test");
	ck_assert_str_eq(rfc5322_header_value(oh, "Date"),
	    "Fri, 21 Nov 1997 09:55:06 -0600");
	ck_assert_str_eq(rfc5322_header_value(oh, "Message-ID"),
	    "<m1@guest.test>");
	ck_assert_str_eq(rfc5322_header_value(oh, "In-Reply-To"),
	    "<p0@x.test>");
	ck_assert_str_eq(rfc5322_header_value(oh, "References"),
	    "<p-1@x.test> <p0@x.test>");
	ck_assert_str_eq(rfc5322_header_value(oh, "MIME-Version"), "1.0");
	ck_assert_str_eq(rfc5322_header_value(oh, "Content-Type"),
	    "multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
	    "boundary=\"gbx.enc.1\"");
	ck_assert_uint_eq(rfc5322_header_count(oh, "MIME-Version"), 1);
	ck_assert_uint_eq(rfc5322_header_count(oh, "Content-Type"), 1);
	ck_assert_ptr_null(rfc5322_header_value(oh, "Bcc"));
	ck_assert_ptr_null(rfc5322_header_value(oh, "User-Agent"));
	ck_assert(!has_plain(o, "Secret plans"));
	ck_assert(!has_plain(o, "dave"));
	/* RFC 3156 4: version part, then the data part. */
	ck_assert(has(oh->body, "--gbx.enc.1\r\nContent-Type: "
	    "application/pgp-encrypted\r\n"));
	ck_assert(has(oh->body, "\r\n\r\nVersion: 1\r\n\r\n--gbx.enc.1\r\n"
	    "Content-Type: application/octet-stream"));
	ck_assert(has(oh->body, "\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA"
	    "\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n\r\n--gbx.enc.1--\r\n"));
	rfc5322_header_free(&oh);
	free(o);

	/* Without protection the Subject travels as it was. */
	o = pgpmime_outer(h, 0, "gbx.enc.1", armor, strlen(armor), &len);
	ck_assert_int_eq(rfc5322_header_parse(o, len, &oh, &why), 0);
	ck_assert_str_eq(rfc5322_header_value(oh, "Subject"), "Secret plans");
	rfc5322_header_free(&oh);
	free(o);
	rfc5322_header_free(&h);
}
END_TEST

START_TEST(classify)
{
	struct rfc5322_header	*h;
	struct pgpmime_rcpt	 r[4] = {
		{ .addr = "bob@x.test" }, { .addr = "dave@x.test" },
		{ .addr = "carol@x.test" }, { .addr = "erin@x.test" },
	};
	const char		*why, *m;

	ck_assert_int_eq(rfc5322_header_parse(submitted, sizeof(submitted) - 1,
	    &h, &why), 0);
	ck_assert_int_eq(pgpmime_classify(h, r, 4, &why), 0);
	ck_assert_int_eq(r[0].bcc, 0);
	ck_assert_int_eq(r[1].bcc, 1);
	ck_assert_int_eq(r[2].bcc, 0);
	ck_assert_int_eq(r[3].bcc, 1);
	rfc5322_header_free(&h);

	m = "To: undisclosed-recipients:;\r\n\r\nhi\r\n";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_int_eq(pgpmime_classify(h, r, 1, &why), 0);
	ck_assert_int_eq(r[0].bcc, 1);
	rfc5322_header_free(&h);

	m = "To: Bob <bob@x.test\r\n\r\nhi\r\n";
	ck_assert_int_eq(rfc5322_header_parse(m, strlen(m), &h, &why), 0);
	ck_assert_int_eq(pgpmime_classify(h, r, 1, &why), -1);
	ck_assert_ptr_nonnull(why);
	rfc5322_header_free(&h);
}
END_TEST

/* ------------------------------------------------------------------ */
/* With GPGME and gpg                                                 */
/* ------------------------------------------------------------------ */

static struct pgpmime_opts	 opts;

static void
opts_setup(void)
{
	opts.gnupg_home = srv_home;
	opts.flags = PGPMIME_PROTECT_SUBJECT;
}

static void
check_payload(const char *text)
{
	ck_assert_ptr_nonnull(text);
	ck_assert(has(text, "protected-headers=\"v1\""));
	ck_assert(has(text, "\r\nSubject: Secret plans\r\n"));
	ck_assert(has(text, "H\xc3\xa4llo Bob, the plans are attached.\r\n"
	    ".leading dot line\r\n"));
	ck_assert(has(text, "Content-Disposition: attachment; "
	    "filename=\"plans.bin\"\r\n"));
	ck_assert(has(text, "UExBTlMtQVRUQUNITUVOVC0xMjM0NQ==\r\n--orig-b--"));
	ck_assert(!has(text, "dave"));
	ck_assert(!has(text, "Bcc"));
	ck_assert(!has(text, "User-Agent"));
}

START_TEST(bcc_copies)
{
	struct pgpmime_rcpt	 r[3] = {
		{ .addr = "bob@x.test", .fpr = fpr_bob },
		{ .addr = "carol@x.test", .fpr = fpr_carol },
		{ .addr = "dave@x.test", .fpr = fpr_dave, .bcc = 1 },
	};
	struct pgpmime_copy	*c;
	char			 why[256], *text, *again;
	size_t			 n, bad, i;

	ck_assert_msg(pgpmime_build(&opts, submitted, sizeof(submitted) - 1, r,
	    3, &c, &n, &bad, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(n, 2);
	/* One copy to To and Cc together, one of its own for the Bcc. */
	ck_assert_uint_eq(c[0].nrcpts, 2);
	ck_assert_uint_eq(c[0].rcpts[0], 0);
	ck_assert_uint_eq(c[0].rcpts[1], 1);
	ck_assert_uint_eq(c[1].nrcpts, 1);
	ck_assert_uint_eq(c[1].rcpts[0], 2);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(strlen(c[i].msg), c[i].len);
		check_crlf(c[i].msg, c[i].len);
		ck_assert(has(c[i].msg, "\r\nSubject: ...\r\n"));
		ck_assert(has(c[i].msg, "multipart/encrypted"));
		ck_assert(!has_plain(c[i].msg, "Secret plans"));
		ck_assert(!has_plain(c[i].msg, "dave"));
		ck_assert(!has_plain(c[i].msg, "Bcc"));
		ck_assert(!has_plain(c[i].msg, "plans.bin"));
	}
	/* The To/Cc copy: Bob and Carol read it, Dave cannot. */
	text = decrypt("bob", c[0].msg);
	check_payload(text);
	again = decrypt("carol", c[0].msg);
	ck_assert_ptr_nonnull(again);
	ck_assert_str_eq(again, text);
	free(again);
	ck_assert_ptr_null(decrypt("dave", c[0].msg));
	free(text);
	/* The Bcc copy: Dave alone. */
	text = decrypt("dave", c[1].msg);
	check_payload(text);
	free(text);
	ck_assert_ptr_null(decrypt("bob", c[1].msg));
	ck_assert_ptr_null(decrypt("carol", c[1].msg));
	pgpmime_copies_free(&c, n);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(unprotected_and_all_bcc)
{
	static const char m[] =
	    "From: alice@guest.test\n"
	    "To: undisclosed-recipients:;\n"
	    "Subject: Plain subject\n"
	    "\n"
	    "just text\n";
	struct pgpmime_rcpt	 r[2] = {
		{ .addr = "bob@x.test", .fpr = fpr_bob, .bcc = 1 },
		{ .addr = "carol@x.test", .fpr = fpr_carol, .bcc = 1 },
	};
	struct pgpmime_copy	*c;
	char			 why[256], *text;
	size_t			 n, bad;

	opts.flags = 0;
	ck_assert_msg(pgpmime_build(&opts, m, sizeof(m) - 1, r, 2, &c, &n, &bad,
	    why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(c[0].rcpts[0], 0);
	ck_assert_uint_eq(c[1].rcpts[0], 1);
	check_crlf(c[0].msg, c[0].len);
	ck_assert(has(c[0].msg, "\r\nSubject: Plain subject\r\n"));
	ck_assert(has(c[0].msg, "To: undisclosed-recipients:;\r\n"));
	text = decrypt("bob", c[0].msg);
	ck_assert_ptr_nonnull(text);
	/* No Content-* fields: an empty header, then the body. */
	ck_assert_str_eq(text, "\r\njust text\r\n");
	free(text);
	ck_assert_ptr_null(decrypt("bob", c[1].msg));
	text = decrypt("carol", c[1].msg);
	ck_assert_str_eq(text, "\r\njust text\r\n");
	free(text);
	pgpmime_copies_free(&c, n);
}
END_TEST

static void
check_refused(struct pgpmime_rcpt *r, size_t n, size_t want_bad,
    const char *w1, const char *w2)
{
	struct pgpmime_copy	*c;
	char			 why[256];
	size_t			 nc = 99, bad;

	ck_assert_int_eq(pgpmime_build(&opts, submitted, sizeof(submitted) - 1,
	    r, n, &c, &nc, &bad, why, sizeof(why)), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(nc, 0);
	ck_assert_uint_eq(bad, want_bad);
	ck_assert_msg(has(why, w1) && has(why, w2), "%s", why);
	ck_assert_int_eq(pgpmime_keys_check(&opts, r, n, &bad, why,
	    sizeof(why)), -1);
	ck_assert_uint_eq(bad, want_bad);
	ck_assert_msg(has(why, w1) && has(why, w2), "%s", why);
}

START_TEST(bad_keys)
{
	struct pgpmime_rcpt	 r[2] = {
		{ .addr = "bob@x.test", .fpr = fpr_bob },
	};
	char			 why[256];
	size_t			 bad;

	ck_assert_msg(pgpmime_keys_check(&opts, r, 1, &bad, why,
	    sizeof(why)) == 0, "%s", why);

	r[1] = (struct pgpmime_rcpt){ .addr = "eve@x.test", .fpr = fpr_eve };
	check_refused(r, 2, 1, "eve@x.test", "expired");
	r[1] = (struct pgpmime_rcpt){ .addr = "rev@x.test", .fpr = fpr_rev,
	    .bcc = 1 };
	check_refused(r, 2, 1, "rev@x.test", "revoked");
	r[1] = (struct pgpmime_rcpt){ .addr = "nokey@x.test",
	    .fpr = "0123456789ABCDEF0123456789ABCDEF01234567" };
	check_refused(r, 2, 1, "nokey@x.test", "no OpenPGP key");
	r[0] = (struct pgpmime_rcpt){ .addr = "junk@x.test",
	    .fpr = "bob@x.test" };
	check_refused(r, 2, 0, "junk@x.test", "fingerprint");
	r[0] = (struct pgpmime_rcpt){ .addr = "null@x.test", .fpr = NULL };
	check_refused(r, 1, 0, "null@x.test", "fingerprint");
}
END_TEST

START_TEST(bad_message)
{
	struct pgpmime_rcpt	 r[1] = {
		{ .addr = "bob@x.test", .fpr = fpr_bob },
	};
	struct pgpmime_copy	*c;
	char			 why[256];
	size_t			 n, bad;

	ck_assert_int_eq(pgpmime_build(&opts, "no header line\r\n\r\n", 18, r,
	    1, &c, &n, &bad, why, sizeof(why)), -1);
	ck_assert_uint_eq(bad, 1);
	ck_assert(has(why, "header"));
	ck_assert_int_eq(pgpmime_build(&opts, submitted, sizeof(submitted) - 1,
	    r, 0, &c, &n, &bad, why, sizeof(why)), -1);
}
END_TEST

Suite *
pgpmime_suite(void)
{
	Suite	*s = suite_create("pgpmime");
	TCase	*tc;

	tc = tcase_create("mime");
	tcase_add_test(tc, payload_plain);
	tcase_add_test(tc, payload_protected);
	tcase_add_test(tc, outer_shape);
	tcase_add_test(tc, classify);
	suite_add_tcase(s, tc);

	tc = tcase_create("gpg");
	tcase_add_unchecked_fixture(tc, homes_setup, homes_teardown);
	tcase_add_checked_fixture(tc, opts_setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, bcc_copies);
	tcase_add_test(tc, unprotected_and_all_bcc);
	tcase_add_test(tc, bad_keys);
	tcase_add_test(tc, bad_message);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(pgpmime_suite());
}
