/*
 * check_conf.c: unit tests of common/conf.h, the guestbox.conf(5) parser.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "check-util.h"

Suite	*conf_suite(void);

static char	 err[512];

/* Parses a string as "test.conf"; fails the test if it does not parse. */
static struct conf *
parse_ok(const char *text)
{
	struct conf	*cf;

	err[0] = '\0';
	cf = conf_parse("test.conf", text, strlen(text), err, sizeof(err));
	ck_assert_msg(cf != NULL, "\"%s\" did not parse: %s", text, err);
	return cf;
}

/* Checks that text fails with an error that starts with prefix. */
static void
parse_fails(const char *text, const char *prefix)
{
	struct conf	*cf;

	memset(err, 0, sizeof(err));
	cf = conf_parse("test.conf", text, strlen(text), err, sizeof(err));
	ck_assert_msg(cf == NULL, "\"%s\" parsed but should not", text);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "\"%s\": error \"%s\" does not start with \"%s\"", text, err,
	    prefix);
}

static char *
dump(const struct conf *cf)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	conf_dump(cf, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return buf;
}

/* ---- defaults ---- */

START_TEST(test_defaults)
{
	struct conf	*cf;
	char		 host[256], *want, *p;

	cf = conf_load(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(cf);
	ck_assert_ptr_null(cf->path);
	ck_assert_str_eq(cf->state_dir, "/var/lib/guestbox");
	ck_assert_str_eq(cf->user, "guestbox");
	ck_assert_ptr_null(cf->group);
	ck_assert_ptr_null(cf->tls_cert);
	ck_assert_ptr_null(cf->smarthost);
	ck_assert_int_eq(cf->smarthost_tls, SMARTHOST_STARTTLS);
	ck_assert_int_eq(cf->smarthost_verify, 1);
	ck_assert_uint_eq(cf->queue_max_age, 5 * 86400);
	ck_assert_str_eq(cf->mailbox_sent, "Gesendet");
	ck_assert_str_eq(cf->mailbox_drafts, "Entw\xc3\xbcrfe");
	ck_assert_str_eq(cf->mailbox_trash, "Papierkorb");
	ck_assert_str_eq(cf->mailbox_archive, "Archiv");
	ck_assert_str_eq(cf->mailbox_junk, "Spam");
	ck_assert_uint_eq(cf->sent_dedup_window, 600);
	ck_assert_int_eq(cf->protect_subject, 1);
	ck_assert_uint_eq(cf->max_message_size, 50ULL << 20);
	ck_assert_uint_eq(cf->max_recipients, 100);
	ck_assert_uint_eq(cf->max_connections_per_ip, 50);
	ck_assert_uint_eq(cf->max_connections_per_account, 30);
	ck_assert_uint_eq(cf->max_mailboxes, 1000);
	ck_assert_uint_eq(cf->mailbox_quota, 2ULL << 30);
	ck_assert_uint_eq(cf->auth_cache_time, 300);
	ck_assert_uint_eq(cf->auth_workers, 2);
	ck_assert_uint_eq(cf->kdf_opslimit, 2);
	ck_assert_uint_eq(cf->kdf_memlimit, 64ULL << 20);
	ck_assert_uint_eq(cf->password_min_length, 10);
	ck_assert_uint_eq(cf->pin_length, 6);
	ck_assert_uint_eq(cf->pin_attempts, 5);
	/* SPEC: one year, 30 days for invitations. */
	ck_assert_uint_eq(cf->expire_days, 365);
	ck_assert_uint_eq(cf->invite_days, 30);
	ck_assert_uint_eq(cf->expire_warn_days, 14);
	ck_assert_uint_eq(cf->lost_password_interval, 86400);
	ck_assert_uint_eq(cf->phone_link_lifetime, 900);
	ck_assert_uint_eq(cf->db_cache_size, 64ULL << 20);
	ck_assert_uint_eq(cf->db_checkpoint_interval, 300);
	ck_assert_int_eq(cf->db_log_keep_for_backup, 1);
	/* Replication is off unless repl_site is set (issue 15). */
	ck_assert_ptr_null(cf->repl_site);
	ck_assert_ptr_null(cf->repl_peers);
	ck_assert_str_eq(cf->repl_ack_policy, "quorum");
	ck_assert_uint_eq(cf->repl_priority, 100);
	ck_assert_uint_eq(cf->repl_ack_timeout, 5);
	ck_assert_int_eq(cf->repl_group_creator, 0);
	ck_assert_ptr_null(cf->repl_master_hook);
	/* No listener unless configured. */
	ck_assert_uint_eq(cf->imap_listen.n, 0);
	ck_assert_uint_eq(cf->submission_listen.n, 0);
	ck_assert_uint_eq(cf->lmtp_listen.n, 0);
	ck_assert_uint_eq(cf->bootstrap_listen.n, 0);
	/* Derived from the host name. */
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	ck_assert_str_eq(cf->hostname, host[0] != '\0' ? host : "localhost");
	if (asprintf(&want, "https://%s", cf->hostname) == -1)
		ck_abort_msg("asprintf");
	ck_assert_str_eq(cf->public_url, want);
	free(want);
	if (asprintf(&want, "noreply@%s", cf->hostname) == -1)
		ck_abort_msg("asprintf");
	ck_assert_str_eq(cf->invite_from, want);
	free(want);
	p = conf_state_path(cf, "db");
	ck_assert_str_eq(p, "/var/lib/guestbox/db");
	free(p);
	conf_free(&cf);
	ck_assert_ptr_null(cf);
}
END_TEST

START_TEST(test_empty_is_defaults)
{
	struct conf	*a, *b;
	char		*da, *db;

	a = conf_load(NULL, err, sizeof(err));
	b = parse_ok("\n\n# nothing here\n   \n\t\n");
	da = dump(a);
	db = dump(b);
	ck_assert_str_eq(da, db);
	free(da);
	free(db);
	conf_free(&a);
	conf_free(&b);
}
END_TEST

START_TEST(test_derived_kept)
{
	struct conf	*cf;

	cf = parse_ok("hostname = mail.example.org\n");
	ck_assert_str_eq(cf->hostname, "mail.example.org");
	ck_assert_str_eq(cf->public_url, "https://mail.example.org");
	ck_assert_str_eq(cf->invite_from, "noreply@mail.example.org");
	conf_free(&cf);
	cf = parse_ok("hostname = a.example\npublic_url = https://b.example:8443\n"
	    "invite_from = invites@c.example\n");
	ck_assert_str_eq(cf->public_url, "https://b.example:8443");
	ck_assert_str_eq(cf->invite_from, "invites@c.example");
	conf_free(&cf);
}
END_TEST

/* ---- values of every type ---- */

START_TEST(test_strings_paths)
{
	struct conf	*cf;

	cf = parse_ok("state_dir = /srv/guestbox\nuser = mail\ngroup = mail\n"
	    "tls_cert = /etc/ssl/a b.pem\nsmarthost = relay.example:25\n"
	    "mailbox_sent = Sent Items\nmailbox_junk = Junk-E-Mail\n");
	ck_assert_str_eq(cf->state_dir, "/srv/guestbox");
	ck_assert_str_eq(cf->user, "mail");
	ck_assert_str_eq(cf->group, "mail");
	/* Inner blanks belong to the value. */
	ck_assert_str_eq(cf->tls_cert, "/etc/ssl/a b.pem");
	ck_assert_str_eq(cf->smarthost, "relay.example:25");
	ck_assert_str_eq(cf->mailbox_sent, "Sent Items");
	ck_assert_str_eq(cf->mailbox_junk, "Junk-E-Mail");
	conf_free(&cf);
	parse_fails("state_dir = var/lib\n", "test.conf:1: state_dir must be "
	    "an absolute path");
	parse_fails("\ntls_key = key.pem\n", "test.conf:2: tls_key");
	parse_fails("mailbox_sent = Sent/Items\n", "test.conf:1: mailbox_sent");
	parse_fails("mailbox_sent = Sent*\n", "test.conf:1: mailbox_sent");
	parse_fails("mailbox_trash = inbox\n", "test.conf:1: mailbox_trash");
	parse_fails("mailbox_trash = a\x01" "b\n", "test.conf:1: mailbox_trash");
}
END_TEST

START_TEST(test_sizes)
{
	struct conf	*cf;

	cf = parse_ok("max_message_size = 512K\nmailbox_quota = 1T\n"
	    "db_cache_size = 3G\nkdf_memlimit = 8M\n");
	ck_assert_uint_eq(cf->max_message_size, 512 * 1024);
	ck_assert_uint_eq(cf->mailbox_quota, 1ULL << 40);
	ck_assert_uint_eq(cf->db_cache_size, 3ULL << 30);
	ck_assert_uint_eq(cf->kdf_memlimit, 8ULL << 20);
	conf_free(&cf);
	/* Plain bytes, and 0 (no quota). */
	cf = parse_ok("max_message_size = 1048577\nmailbox_quota = 0\n");
	ck_assert_uint_eq(cf->max_message_size, 1048577);
	ck_assert_uint_eq(cf->mailbox_quota, 0);
	conf_free(&cf);
	parse_fails("max_message_size = 10MB\n", "test.conf:1: "
	    "max_message_size must be a size");
	parse_fails("max_message_size = M\n", "test.conf:1: max_message_size");
	parse_fails("max_message_size = -1M\n", "test.conf:1: max_message_size");
	parse_fails("max_message_size = 1.5M\n", "test.conf:1: max_message_size");
	parse_fails("max_message_size = 10X\n", "test.conf:1: max_message_size");
	/* Overflow of the number, and of the multiplication. */
	parse_fails("mailbox_quota = 99999999999999999999\n",
	    "test.conf:1: mailbox_quota");
	parse_fails("mailbox_quota = 17179869184T\n", "test.conf:1: mailbox_quota");
	/* Range: below 1K, above 2047M. */
	parse_fails("max_message_size = 1023\n", "test.conf:1: "
	    "max_message_size is out of range");
	parse_fails("max_message_size = 2G\n", "test.conf:1: "
	    "max_message_size is out of range");
	parse_fails("kdf_memlimit = 4M\n", "test.conf:1: kdf_memlimit is out "
	    "of range");
}
END_TEST

START_TEST(test_durations)
{
	struct conf	*cf;

	cf = parse_ok("queue_max_age = 2h\nsent_dedup_window = 30s\n"
	    "auth_cache_time = 0\ndb_checkpoint_interval = 5m\n");
	ck_assert_uint_eq(cf->queue_max_age, 7200);
	ck_assert_uint_eq(cf->sent_dedup_window, 30);
	ck_assert_uint_eq(cf->auth_cache_time, 0);
	ck_assert_uint_eq(cf->db_checkpoint_interval, 300);
	conf_free(&cf);
	cf = parse_ok("queue_max_age = 5d\nsent_dedup_window = 1w\n"
	    "db_checkpoint_interval = 90\n");
	ck_assert_uint_eq(cf->queue_max_age, 5 * 86400);
	ck_assert_uint_eq(cf->sent_dedup_window, 7 * 86400);
	ck_assert_uint_eq(cf->db_checkpoint_interval, 90);
	conf_free(&cf);
	cf = parse_ok("lost_password_interval = 0\n");
	ck_assert_uint_eq(cf->lost_password_interval, 0);
	conf_free(&cf);
	cf = parse_ok("lost_password_interval = 2w\n");
	ck_assert_uint_eq(cf->lost_password_interval, 14 * 86400);
	conf_free(&cf);
	cf = parse_ok("phone_link_lifetime = 5m\n");
	ck_assert_uint_eq(cf->phone_link_lifetime, 300);
	conf_free(&cf);
	parse_fails("phone_link_lifetime = 9\n", "test.conf:1: "
	    "phone_link_lifetime is out of range");
	parse_fails("lost_password_interval = 366d\n", "test.conf:1: "
	    "lost_password_interval is out of range");
	parse_fails("queue_max_age = 59\n", "test.conf:1: queue_max_age is "
	    "out of range");
	parse_fails("queue_max_age = 5y\n", "test.conf:1: queue_max_age must "
	    "be a duration");
	parse_fails("queue_max_age = 5 d\n", "test.conf:1: queue_max_age");
	parse_fails("auth_cache_time = 2d\n", "test.conf:1: auth_cache_time "
	    "is out of range");
}
END_TEST

START_TEST(test_uints)
{
	struct conf	*cf;

	cf = parse_ok("max_recipients = 1\npin_length = 12\npin_attempts=3\n"
	    "expire_days = 90\nexpire_warn_days = 0\n");
	ck_assert_uint_eq(cf->max_recipients, 1);
	ck_assert_uint_eq(cf->pin_length, 12);
	ck_assert_uint_eq(cf->pin_attempts, 3);
	ck_assert_uint_eq(cf->expire_days, 90);
	ck_assert_uint_eq(cf->expire_warn_days, 0);
	conf_free(&cf);
	parse_fails("pin_length = 3\n", "test.conf:1: pin_length is out of "
	    "range");
	parse_fails("pin_length = 13\n", "test.conf:1: pin_length is out of "
	    "range");
	parse_fails("max_recipients = 0\n", "test.conf:1: max_recipients");
	parse_fails("max_recipients = +5\n", "test.conf:1: max_recipients "
	    "must be a whole number");
	parse_fails("max_recipients = 5K\n", "test.conf:1: max_recipients "
	    "must be a whole number");
}
END_TEST

START_TEST(test_bools)
{
	struct conf	*cf;

	cf = parse_ok("smarthost_verify = no\nprotect_subject = no\n"
	    "db_log_keep_for_backup = no\n");
	ck_assert_int_eq(cf->smarthost_verify, 0);
	ck_assert_int_eq(cf->protect_subject, 0);
	ck_assert_int_eq(cf->db_log_keep_for_backup, 0);
	conf_free(&cf);
	cf = parse_ok("smarthost_verify = yes\n");
	ck_assert_int_eq(cf->smarthost_verify, 1);
	conf_free(&cf);
	parse_fails("protect_subject = true\n", "test.conf:1: protect_subject "
	    "must be yes or no");
	parse_fails("protect_subject = YES\n", "test.conf:1: protect_subject");
}
END_TEST

START_TEST(test_smarthost_tls)
{
	struct conf	*cf;

	cf = parse_ok("smarthost_tls = tls\n");
	ck_assert_int_eq(cf->smarthost_tls, SMARTHOST_TLS);
	conf_free(&cf);
	cf = parse_ok("smarthost_tls = starttls\n");
	ck_assert_int_eq(cf->smarthost_tls, SMARTHOST_STARTTLS);
	conf_free(&cf);
	/* Never in clear. */
	parse_fails("smarthost_tls = none\n", "test.conf:1: smarthost_tls");
	parse_fails("smarthost_tls = plain\n", "test.conf:1: smarthost_tls");
}
END_TEST

/* ---- listeners ---- */

static void
check_listen(const struct listen_spec *ls, const char *host, const char *port,
    enum listen_security sec)
{
	if (host == NULL)
		ck_assert_ptr_null(ls->host);
	else
		ck_assert_str_eq(ls->host, host);
	ck_assert_str_eq(ls->port, port);
	ck_assert_int_eq(ls->security, sec);
}

START_TEST(test_listen_forms)
{
	struct conf	*cf;

	cf = parse_ok("imap_listen = [::1]:993 tls\n"
	    "imap_listen = 127.0.0.1:143 starttls\n"
	    "imap_listen = 0.0.0.0:1143   plain\n"
	    "lmtp_listen = unix:/run/guestbox/lmtp.sock plain\n"
	    "submission_listen = [2001:db8::1]:465\ttls\n"
	    "bootstrap_listen = localhost:8443 tls\n");
	ck_assert_uint_eq(cf->imap_listen.n, 3);
	check_listen(&cf->imap_listen.v[0], "::1", "993", LISTEN_TLS);
	check_listen(&cf->imap_listen.v[1], "127.0.0.1", "143", LISTEN_STARTTLS);
	check_listen(&cf->imap_listen.v[2], "0.0.0.0", "1143", LISTEN_PLAIN);
	ck_assert_uint_eq(cf->lmtp_listen.n, 1);
	check_listen(&cf->lmtp_listen.v[0], NULL, "/run/guestbox/lmtp.sock",
	    LISTEN_PLAIN);
	ck_assert_uint_eq(cf->submission_listen.n, 1);
	check_listen(&cf->submission_listen.v[0], "2001:db8::1", "465",
	    LISTEN_TLS);
	ck_assert_uint_eq(cf->bootstrap_listen.n, 1);
	check_listen(&cf->bootstrap_listen.v[0], "localhost", "8443",
	    LISTEN_TLS);
	conf_free(&cf);
}
END_TEST

START_TEST(test_listen_none)
{
	struct conf	*cf;

	cf = parse_ok("imap_listen = a.example:1 tls\nimap_listen = none\n"
	    "imap_listen = b.example:2 tls\n");
	ck_assert_uint_eq(cf->imap_listen.n, 1);
	check_listen(&cf->imap_listen.v[0], "b.example", "2", LISTEN_TLS);
	conf_free(&cf);
	cf = parse_ok("lmtp_listen = unix:/x plain\nlmtp_listen = none\n");
	ck_assert_uint_eq(cf->lmtp_listen.n, 0);
	ck_assert_ptr_null(cf->lmtp_listen.v);
	conf_free(&cf);
}
END_TEST

START_TEST(test_listen_limit)
{
	struct conf	*cf;
	char		*text = NULL, *line;
	size_t		 len = 0;
	FILE		*fp;
	int		 i;

	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < 64; i++)
		fprintf(fp, "imap_listen = 127.0.0.1:%d tls\n", 10000 + i);
	ck_assert_int_eq(fclose(fp), 0);
	cf = parse_ok(text);
	ck_assert_uint_eq(cf->imap_listen.n, 64);
	check_listen(&cf->imap_listen.v[63], "127.0.0.1", "10063", LISTEN_TLS);
	conf_free(&cf);
	if (asprintf(&line, "%simap_listen = 127.0.0.1:1 tls\n", text) == -1)
		ck_abort_msg("asprintf");
	parse_fails(line, "test.conf:65: imap_listen too many listeners");
	free(line);
	free(text);
}
END_TEST

START_TEST(test_listen_bad)
{
	parse_fails("imap_listen = 127.0.0.1:993\n", "test.conf:1: imap_listen "
	    "expected ADDRESS:PORT SECURITY");
	parse_fails("imap_listen = 127.0.0.1:993 tls extra\n",
	    "test.conf:1: imap_listen expected");
	parse_fails("imap_listen = 127.0.0.1:993 ssl\n", "test.conf:1: "
	    "imap_listen security must be");
	parse_fails("imap_listen = 127.0.0.1 tls\n", "test.conf:1: "
	    "imap_listen expected ADDRESS:PORT");
	parse_fails("imap_listen = :993 tls\n", "test.conf:1: imap_listen");
	parse_fails("imap_listen = 127.0.0.1:99999 tls\n", "test.conf:1: "
	    "imap_listen the port must be");
	parse_fails("imap_listen = 127.0.0.1:imaps tls\n", "test.conf:1: "
	    "imap_listen the port must be");
	parse_fails("imap_listen = 127.0.0.1: tls\n", "test.conf:1: "
	    "imap_listen the port must be");
	parse_fails("imap_listen = [::1]993 tls\n", "test.conf:1: imap_listen "
	    "an IPv6 address");
	parse_fails("imap_listen = [::1]: tls\n", "test.conf:1: imap_listen");
	/* An empty host would dump as ":993", which does not parse. */
	parse_fails("imap_listen = []:993 tls\n", "test.conf:1: imap_listen");
	/* Brackets inside the brackets dumped as "][:57" (fuzz-conf). */
	parse_fails("submission_listen = [][]:57 tls\n", "test.conf:1: "
	    "submission_listen");
	parse_fails("imap_listen = [[::1]]:993 tls\n", "test.conf:1: "
	    "imap_listen");
	/* "[\r\r]:587" dumped as "\r\r:587", trimmed to ":587" (fuzz-conf). */
	parse_fails("submission_listen = [\r\r]:587 starttls\n",
	    "test.conf:1: submission_listen the address may not hold blanks");
	parse_fails("imap_listen = a\x01b:993 tls\n", "test.conf:1: "
	    "imap_listen the address may not hold blanks");
	/* Without brackets "::1:993" could be an address without a port. */
	parse_fails("imap_listen = ::1:993 tls\n", "test.conf:1: imap_listen "
	    "an IPv6 address is written [ADDRESS]:PORT");
	parse_fails("imap_listen = a]:993 tls\n", "test.conf:1: imap_listen");
	/* A unix socket is local: TLS on it makes no sense, a path must be. */
	parse_fails("lmtp_listen = unix:/run/lmtp.sock tls\n", "test.conf:1: "
	    "lmtp_listen a unix socket");
	parse_fails("lmtp_listen = unix: plain\n", "test.conf:1: lmtp_listen "
	    "a unix socket");
}
END_TEST

/* ---- the file's syntax ---- */

START_TEST(test_comments_blanks)
{
	struct conf	*cf;

	cf = parse_ok("# guestbox.conf\n"
	    "\n"
	    "   # indented comment\n"
	    "\t\n"
	    "  user   =   alice   # trailing comment\n"
	    "group=staff\n"
	    "hostname = mx.example\r\n"
	    "pin_length = 8");			/* no final newline */
	ck_assert_str_eq(cf->user, "alice");
	ck_assert_str_eq(cf->group, "staff");
	/* A CRLF file is read as if it had LF. */
	ck_assert_str_eq(cf->hostname, "mx.example");
	ck_assert_uint_eq(cf->pin_length, 8);
	conf_free(&cf);
}
END_TEST

START_TEST(test_errors_name_line)
{
	parse_fails("user = a\n\n# c\nnosuchkey = 1\n", "test.conf:4: unknown "
	    "key \"nosuchkey\"");
	parse_fails("user = a\nthis line has no equals sign\n", "test.conf:2: "
	    "expected \"key = value\"");
	parse_fails("user =\n", "test.conf:1: user needs a value");
	parse_fails("user = # only a comment\n", "test.conf:1: user needs a "
	    "value");
	parse_fails("= value\n", "test.conf:1: unknown key \"\"");
	/* Keys are exact: no case folding, no prefixes. */
	parse_fails("User = a\n", "test.conf:1: unknown key \"User\"");
	parse_fails("use = a\n", "test.conf:1: unknown key \"use\"");
	parse_fails("pin_length = 99\n", "test.conf:1: "
	    "pin_length is out of range");
}
END_TEST

/* issue 15: the replication group's sites and policies. */
START_TEST(test_repl)
{
	struct conf	*cf;
	char		 host[256];
	unsigned	 port;

	cf = parse_ok("repl_site = 10.0.0.1:5001\n"
	    "repl_peers = db2.example:5001  [fd00::3]:5001\n"
	    "repl_ack_policy = all\nrepl_priority = 0\n"
	    "repl_ack_timeout = 1m\nrepl_group_creator = yes\n"
	    "repl_master_hook = /usr/local/sbin/take-address\n");
	ck_assert_str_eq(cf->repl_site, "10.0.0.1:5001");
	ck_assert_str_eq(cf->repl_peers, "db2.example:5001  [fd00::3]:5001");
	ck_assert_int_eq(conf_ack_policy(cf->repl_ack_policy), CONF_ACK_ALL);
	ck_assert_uint_eq(cf->repl_priority, 0);
	ck_assert_uint_eq(cf->repl_ack_timeout, 60);
	ck_assert_int_eq(cf->repl_group_creator, 1);
	ck_assert_str_eq(cf->repl_master_hook, "/usr/local/sbin/take-address");
	conf_free(&cf);

	ck_assert_int_eq(conf_site_parse("[fd00::3]:5001", 14, host,
	    sizeof(host), &port), 0);
	ck_assert_str_eq(host, "fd00::3");
	ck_assert_uint_eq(port, 5001);
	ck_assert_int_eq(conf_site_parse("a.example:7", 11, host, sizeof(host),
	    &port), 0);
	ck_assert_str_eq(host, "a.example");
	ck_assert_int_eq(conf_site_parse("a.example:", 10, host, sizeof(host),
	    &port), -1);
	ck_assert_int_eq(conf_site_parse("a.example:7", 11, host, 4, &port),
	    -1);

	parse_fails("repl_site = db1.example\n", "test.conf:1: repl_site "
	    "must be host:port");
	parse_fails("repl_site = db1.example:0\n", "test.conf:1: repl_site "
	    "must be host:port");
	parse_fails("repl_site = db1.example:65536\n", "test.conf:1: "
	    "repl_site must be host:port");
	parse_fails("repl_site = a.example:1 b.example:2\n", "test.conf:1: "
	    "repl_site must be one host:port");
	parse_fails("repl_site = a.example:1\nrepl_peers = b.example:2 c\n",
	    "test.conf:2: repl_peers must be host:port");
	parse_fails("repl_ack_policy = most\n", "test.conf:1: repl_ack_policy "
	    "must be quorum");
	parse_fails("repl_ack_timeout = 0\n", "test.conf:1: repl_ack_timeout "
	    "is out of range");
	parse_fails("repl_master_hook = take-address\n", "test.conf:1: "
	    "repl_master_hook must be an absolute path");
	parse_fails("user = a\nrepl_peers = b.example:2\n", "test.conf:2: "
	    "repl_peers needs repl_site");
}
END_TEST

/* issue 16: a key given twice was silently the later value. */
START_TEST(test_duplicate_key)
{
	struct conf	*cf;

	parse_fails("pin_length = 6\n# c\npin_length = 8\n", "test.conf:3: "
	    "pin_length is already set on line 1");
	parse_fails("user = a\nuser = a\n", "test.conf:2: user is already "
	    "set on line 1");
	parse_fails("public_url = https://a.example\n"
	    "public_url = https://b.example\n", "test.conf:2: public_url is "
	    "already set on line 1");
	/* The listener keys are lists: each line adds one. */
	cf = parse_ok("imap_listen = 127.0.0.1:993 tls\n"
	    "imap_listen = 127.0.0.1:143 starttls\n");
	ck_assert_uint_eq(cf->imap_listen.n, 2);
	conf_free(&cf);
}
END_TEST

/* issue 16: hostname = "localhost" made invite_from noreply@"localhost". */
START_TEST(test_quotes)
{
	struct conf	*cf;

	cf = parse_ok("hostname = \"localhost\"\nuser = \" mail \"\n"
	    "imap_listen = \"127.0.0.1:993 tls\"\n"
	    "mailbox_sent = \"Sent Items\"  # a comment\n");
	ck_assert_str_eq(cf->hostname, "localhost");
	ck_assert_str_eq(cf->invite_from, "noreply@localhost");
	ck_assert_str_eq(cf->public_url, "https://localhost");
	ck_assert_str_eq(cf->user, "mail");
	ck_assert_str_eq(cf->mailbox_sent, "Sent Items");
	ck_assert_uint_eq(cf->imap_listen.n, 1);
	conf_free(&cf);
	parse_fails("invite_from = noreply@\"localhost\"\n", "test.conf:1: "
	    "invite_from may hold a double quote only as one pair around "
	    "the whole value");
	parse_fails("user = \"mail\n", "test.conf:1: user has an opening "
	    "double quote without a closing one");
	parse_fails("user = \"\n", "test.conf:1: user has an opening");
	parse_fails("mailbox_sent = \"a#b\"\n", "test.conf:1: mailbox_sent "
	    "has an opening");
	parse_fails("user = \"\"\n", "test.conf:1: user needs a value");
	parse_fails("user = \"\"x\"\"\n", "test.conf:1: user may hold");
	parse_fails("user = \"  \"\n", "test.conf:1: user needs a value");
}
END_TEST

/* issue 16: public_url = 127.0.0.1:8443 made links nobody could click. */
START_TEST(test_public_url)
{
	static const char *good[] = {
		"https://guestbox.example", "https://127.0.0.1:8443",
		"HTTPS://a-b.example.org/gb", "https://[::1]:8443/x/y",
		"https://[2001:db8::1]",
	};
	static const char *bad[] = {
		"127.0.0.1:8443", "http://guestbox.example", "https://",
		"https:///path", "https://:8443", "https://a.example:",
		"https://a.example:0", "https://a.example:65536",
		"https://a.example:84x3", "https://user@a.example",
		"https://a.example/x?y=1", "https://a.example/x y",
		"https://a example", "https://[]:1", "https://[::1",
		"https://a_b.example", "ftp://a.example",
	};
	struct conf	*cf;
	char		 text[256];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "public_url = %s\n", good[i]);
		cf = parse_ok(text);
		ck_assert_str_eq(cf->public_url, good[i]);
		conf_free(&cf);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "\npublic_url = %s\n", bad[i]);
		parse_fails(text, "test.conf:2: public_url ");
	}
	parse_fails("public_url = 127.0.0.1:8443\n", "test.conf:1: public_url "
	    "must start with https://");
	/* A trailing slash would double the one of "/i/". */
	cf = parse_ok("public_url = https://a.example:8443/gb//\n");
	ck_assert_str_eq(cf->public_url, "https://a.example:8443/gb");
	conf_free(&cf);
}
END_TEST

/*
 * hostname goes into EHLO, Message-IDs, the default public_url and the
 * profile's identifiers: a DNS name (the fuzzer had "h/x/" accepted).
 */
START_TEST(test_hostname)
{
	static const char *good[] = {
		"mail.example.org", "localhost", "a-b.c1.example", "xn--bcher-kva.example",
		"123.example",
	};
	static const char *bad[] = {
		"h/x/", "a b", "a_b.example", "-a.example", "a-.example",
		"a..example", ".example", "example.", "a.example:25",
		"[127.0.0.1]", "m\xc3\xa4il.example",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
	};
	struct conf	*cf;
	char		 text[512];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "hostname = %s\n", good[i]);
		cf = parse_ok(text);
		ck_assert_str_eq(cf->hostname, good[i]);
		conf_free(&cf);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "user = a\nhostname = %s\n",
		    bad[i]);
		parse_fails(text, "test.conf:2: hostname is not a host name");
	}
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char	 text[] = "user = a\nuser = b\0c\nuser = d\n";
	struct conf		*cf;

	cf = conf_parse("test.conf", text, sizeof(text) - 1, err, sizeof(err));
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(err, "test.conf:2: the line holds a NUL byte");
	/* Also in a comment: the file is not a text file. */
	cf = conf_parse("test.conf", "# a\0b\n", 6, err, sizeof(err));
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(err, "test.conf:1: the line holds a NUL byte");
}
END_TEST

START_TEST(test_error_truncated)
{
	struct conf	*cf;
	char		 small[12];

	/* A short buffer gets a NUL-terminated prefix, never an overrun. */
	memset(small, 'x', sizeof(small));
	cf = conf_parse("test.conf", "nosuchkey = 1\n", 14, small,
	    sizeof(small));
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(small, "test.conf:1");
}
END_TEST

START_TEST(test_load_file)
{
	char		 path[] = "/tmp/check_conf.XXXXXX";
	struct conf	*cf;
	FILE		*fp;
	int		 fd;

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("user = fileuser\n\nbogus = 1\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	cf = conf_load(path, err, sizeof(err));
	ck_assert_ptr_null(cf);
	/* The error names the real file. */
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0 &&
	    strncmp(err + strlen(path), ":3: ", 4) == 0, "error \"%s\"", err);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("user = fileuser\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	cf = conf_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(cf);
	ck_assert_str_eq(cf->user, "fileuser");
	ck_assert_str_eq(cf->path, path);
	conf_free(&cf);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, path) != NULL, "error \"%s\"", err);
}
END_TEST

/* ---- conf_dump ---- */

static void
check_roundtrip(const char *text)
{
	struct conf	*a, *b;
	char		*da, *db;

	a = parse_ok(text);
	da = dump(a);
	b = parse_ok(da);
	db = dump(b);
	ck_assert_str_eq(da, db);
	free(da);
	free(db);
	conf_free(&a);
	conf_free(&b);
}

START_TEST(test_dump_roundtrip)
{
	check_roundtrip("");
	check_roundtrip("state_dir = /srv/gb\nhostname = mx.example\n"
	    "group = mail\ntemplates_dir = /usr/share/gb\n"
	    "tls_cert = /etc/c.pem\ntls_key = /etc/k.pem\n"
	    "imap_listen = [::1]:993 tls\nimap_listen = 127.0.0.1:143 starttls\n"
	    "lmtp_listen = unix:/run/gb/lmtp.sock plain\n"
	    "submission_listen = 0.0.0.0:587 starttls\n"
	    "bootstrap_listen = [::]:443 tls\n"
	    "smarthost = relay.example:25\nsmarthost_tls = tls\n"
	    "smarthost_verify = no\nsmarthost_ca = /etc/ca.pem\n"
	    "smarthost_user = u\nsmarthost_password_file = /etc/pw\n"
	    "queue_max_age = 2d\nmailbox_sent = Sent Items\n"
	    "mailbox_drafts = Drafts\nmax_message_size = 10M\n"
	    "mailbox_quota = 0\nauth_cache_time = 0\nkdf_memlimit = 8M\n"
	    "protect_subject = no\ndb_log_keep_for_backup = no\n");
}
END_TEST

START_TEST(test_dump_content)
{
	struct conf	*cf;
	char		*d;

	cf = parse_ok("imap_listen = [::1]:993 tls\n"
	    "lmtp_listen = unix:/run/lmtp.sock plain\n"
	    "max_message_size = 10M\nsmarthost_tls = tls\n");
	d = dump(cf);
	ck_assert_ptr_nonnull(strstr(d, "imap_listen = [::1]:993 tls\n"));
	ck_assert_ptr_nonnull(strstr(d, "lmtp_listen = unix:/run/lmtp.sock "
	    "plain\n"));
	ck_assert_ptr_nonnull(strstr(d, "max_message_size = 10485760\n"));
	ck_assert_ptr_nonnull(strstr(d, "smarthost_tls = tls\n"));
	ck_assert_ptr_nonnull(strstr(d, "smarthost_verify = yes\n"));
	/* Unset keys are left out, so that the dump parses. */
	ck_assert_ptr_null(strstr(d, "tls_cert"));
	free(d);
	conf_free(&cf);
}
END_TEST

Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_is_defaults);
	tcase_add_test(tc, test_derived_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("types");
	tcase_add_test(tc, test_strings_paths);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_uints);
	tcase_add_test(tc, test_bools);
	tcase_add_test(tc, test_smarthost_tls);
	tcase_add_test(tc, test_repl);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_forms);
	tcase_add_test(tc, test_listen_none);
	tcase_add_test(tc, test_listen_limit);
	tcase_add_test(tc, test_listen_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_test(tc, test_comments_blanks);
	tcase_add_test(tc, test_errors_name_line);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_public_url);
	tcase_add_test(tc, test_hostname);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_error_truncated);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_test(tc, test_dump_roundtrip);
	tcase_add_test(tc, test_dump_content);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_util_run(conf_suite());
}
