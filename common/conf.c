/*
 * conf.c: the guestbox.conf(5) parser, driven by one table of keys.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

/* A config file larger than this is not a config file. */
#define CONF_MAX_FILE		(1024 * 1024)
#define CONF_MAX_LISTEN	64

enum conf_type {
	CT_STRING,
	CT_PATH,		/* must be absolute */
	CT_UINT,
	CT_SIZE,		/* 10M, 2G, plain bytes */
	CT_DURATION,		/* 30s, 5m, 2h, 5d, plain seconds */
	CT_BOOL,
	CT_LISTEN,
	CT_SMARTHOST_TLS,
	CT_MAILBOX,		/* a mailbox name: no control characters or '/' */
	CT_URL,			/* https://host[:port][/path] */
	CT_HOST,		/* a DNS host name */
	CT_SITES,		/* host:port, blank-separated if a list */
	CT_ACK_POLICY,		/* a Berkeley DB repmgr ack policy */
};

struct conf_key {
	const char		*name;
	enum conf_type	 type;
	size_t			 offset;
	const char		*defval;	/* applied before the file; NULL: unset */
	uint64_t		 min;
	uint64_t		 max;
};

#define K(n, t, d, lo, hi) { .name = #n, .type = (t), \
	.offset = offsetof(struct conf, n), .defval = (d), .min = (lo), .max = (hi) }

static const struct conf_key conf_keys[] = {
	K(state_dir,		CT_PATH,	"/var/lib/guestbox", 0, 0),
	K(hostname,		CT_HOST,	NULL, 0, 0),
	K(public_url,		CT_URL,		NULL, 0, 0),
	K(user,			CT_STRING,	"guestbox", 0, 0),
	K(group,		CT_STRING,	NULL, 0, 0),
	K(templates_dir,	CT_PATH,	NULL, 0, 0),
	K(tls_cert,		CT_PATH,	NULL, 0, 0),
	K(tls_key,		CT_PATH,	NULL, 0, 0),
	K(imap_listen,		CT_LISTEN,	NULL, 0, 0),
	K(submission_listen,	CT_LISTEN,	NULL, 0, 0),
	K(lmtp_listen,		CT_LISTEN,	NULL, 0, 0),
	K(bootstrap_listen,	CT_LISTEN,	NULL, 0, 0),
	K(gateway_listen,	CT_LISTEN,	NULL, 0, 0),
	K(smarthost,		CT_STRING,	NULL, 0, 0),
	K(smarthost_tls,	CT_SMARTHOST_TLS, "starttls", 0, 0),
	K(smarthost_verify,	CT_BOOL,	"yes", 0, 0),
	K(smarthost_ca,		CT_PATH,	NULL, 0, 0),
	K(smarthost_user,	CT_STRING,	NULL, 0, 0),
	K(smarthost_password_file, CT_PATH,	NULL, 0, 0),
	K(queue_max_age,	CT_DURATION,	"5d", 60, 365 * 86400ULL),
	K(queue_retry,		CT_DURATION,	"1m", 1, 4 * 3600),
	K(invite_from,		CT_STRING,	NULL, 0, 0),
	K(gateway_reinject,	CT_STRING,	NULL, 0, 0),
	K(gateway_domains,	CT_STRING,	NULL, 0, 0),
	K(gateway_header,	CT_STRING,	"X-Guestbox-Encrypt: yes", 0, 0),
	K(gateway_subject_tags,	CT_STRING,	"[secure] [vertraulich]", 0, 0),
	K(gateway_encrypt_from,	CT_STRING,	NULL, 0, 0),
	K(gateway_keyring,	CT_PATH,	NULL, 0, 0),
	K(gateway_wkd,		CT_STRING,	"none", 0, 0),
	K(gateway_wkd_ca,	CT_PATH,	NULL, 0, 0),
	K(mailbox_sent,		CT_MAILBOX,	"Gesendet", 0, 0),
	K(mailbox_drafts,	CT_MAILBOX,	"Entw\xc3\xbcrfe", 0, 0),
	K(mailbox_trash,	CT_MAILBOX,	"Papierkorb", 0, 0),
	K(mailbox_archive,	CT_MAILBOX,	"Archiv", 0, 0),
	K(mailbox_junk,		CT_MAILBOX,	"Spam", 0, 0),
	K(sent_dedup_window,	CT_DURATION,	"10m", 0, 7 * 86400ULL),
	K(protect_subject,	CT_BOOL,	"yes", 0, 0),
	K(max_message_size,	CT_SIZE,	"50M", 1024, 2047ULL << 20),
	K(max_recipients,	CT_UINT,	"100", 1, 10000),
	K(max_connections_per_ip, CT_UINT,	"50", 1, 1000000),
	K(max_connections_per_account, CT_UINT,	"30", 1, 100000),
	K(max_mailboxes,	CT_UINT,	"1000", 1, 1000000),
	K(mailbox_quota,	CT_SIZE,	"2G", 0, 1ULL << 50),
	K(imap_login_timeout,	CT_DURATION,	"1m", 1, 3600),
	K(imap_timeout,		CT_DURATION,	"30m", 1, 86400),
	K(imap_workers,		CT_UINT,	"0", 0, 64),
	K(smtp_timeout,		CT_DURATION,	"5m", 1, 3600),
	K(smtp_data_timeout,	CT_DURATION,	"10m", 1, 3600),
	K(auth_cache_time,	CT_DURATION,	"5m", 0, 86400),
	K(auth_workers,		CT_UINT,	"2", 1, 64),
	K(auth_account_rate,	CT_UINT,	"12", 1, 100000),
	K(kdf_opslimit,		CT_UINT,	"2", 1, 100),
	K(kdf_memlimit,		CT_SIZE,	"64M", 8ULL << 20, 4ULL << 30),
	K(password_min_length,	CT_UINT,	"10", 8, 1024),
	K(pin_length,		CT_UINT,	"6", 4, 12),
	K(pin_attempts,		CT_UINT,	"5", 1, 100),
	K(bootstrap_rate,	CT_UINT,	"30", 1, 100000),
	K(bootstrap_max_connections, CT_UINT,	"256", 1, 100000),
	K(bootstrap_max_connections_per_ip, CT_UINT, "8", 1, 100000),
	K(bootstrap_request_timeout, CT_DURATION, "15s", 1, 3600),
	K(expire_days,		CT_UINT,	"365", 1, 36500),
	K(invite_days,		CT_UINT,	"30", 1, 3650),
	K(expire_warn_days,	CT_UINT,	"14", 0, 3650),
	K(notice_interval,	CT_DURATION,	"1d", 0, 365 * 86400ULL),
	K(notice_idle,		CT_DURATION,	"1d", 1, 365 * 86400ULL),
	K(lost_password_interval, CT_DURATION,	"1d", 0, 365 * 86400ULL),
	K(phone_link_lifetime,	CT_DURATION,	"15m", 10, 86400),
	K(db_cache_size,	CT_SIZE,	"64M", 1ULL << 20, 64ULL << 30),
	K(db_checkpoint_interval, CT_DURATION,	"5m", 1, 86400),
	K(db_log_keep_for_backup, CT_BOOL,	"yes", 0, 0),
	K(repl_site,		CT_SITES,	NULL, 1, 1),
	K(repl_peers,		CT_SITES,	NULL, 1, CONF_MAX_REPL_PEERS),
	K(repl_ack_policy,	CT_ACK_POLICY,	"quorum", 0, 0),
	K(repl_priority,	CT_UINT,	"100", 0, 1000000),
	K(repl_ack_timeout,	CT_DURATION,	"5s", 1, 3600),
	K(repl_group_creator,	CT_BOOL,	"no", 0, 0),
	K(repl_master_hook,	CT_PATH,	NULL, 0, 0),
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

static void	conf_error(char *, size_t, const char *, unsigned,
		    const char *, ...) printflike(5, 6);
static int	conf_set(struct conf *, const struct conf_key *,
		    const char *, const char **);
static int	conf_check_url(const char *, const char **);
static int	conf_check_sites(const char *, uint64_t, uint64_t,
		    const char **);
static int	conf_unquote(char *, const char **);
static size_t	strspn_back(const char *, int);

static void
conf_error(char *err, size_t errlen, const char *file, unsigned line,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(err, errlen, "%s:%u: ", file, line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static const struct conf_key *
conf_find_key(const char *name)
{
	size_t	 i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Number with an optional unit suffix; units maps suffix to multiplier. */
static int
conf_parse_scaled(const char *s, const char *units, const uint64_t *mult,
    uint64_t *vp)
{
	char		 num[32];
	size_t		 n = strlen(s);
	const char	*u;
	uint64_t	 v, m = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if (!isdigit((unsigned char)num[n - 1])) {
		if ((u = strchr(units, num[n - 1])) == NULL)
			return -1;
		m = mult[u - units];
		num[n - 1] = '\0';
	}
	if (parse_u64(num, UINT64_MAX, &v) == -1 || (v != 0 && m > UINT64_MAX / v))
		return -1;
	*vp = v * m;
	return 0;
}

static int
conf_parse_listen(const char *val, struct listen_spec *ls, const char **whyp)
{
	char		*copy, *addr, *sec, *extra, *colon, *save = NULL;
	int		 ret = -1;

	memset(ls, 0, sizeof(*ls));
	copy = xstrdup(val);
	addr = strtok_r(copy, " \t", &save);
	sec = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (addr == NULL || sec == NULL || extra != NULL) {
		*whyp = "expected ADDRESS:PORT SECURITY or unix:PATH SECURITY";
		goto out;
	}
	if (strcmp(sec, "tls") == 0)
		ls->security = LISTEN_TLS;
	else if (strcmp(sec, "starttls") == 0)
		ls->security = LISTEN_STARTTLS;
	else if (strcmp(sec, "plain") == 0)
		ls->security = LISTEN_PLAIN;
	else {
		*whyp = "security must be tls, starttls or plain";
		goto out;
	}
	if (strncmp(addr, "unix:", 5) == 0) {
		if (addr[5] == '\0' || ls->security != LISTEN_PLAIN) {
			*whyp = "a unix socket needs a path and security plain";
			goto out;
		}
		ls->port = xstrdup(addr + 5);
		ret = 0;
		goto out;
	}
	if (addr[0] == '[') {
		/* [IPv6]:port */
		if ((colon = strstr(addr, "]:")) == NULL) {
			*whyp = "an IPv6 address is written [ADDRESS]:PORT";
			goto out;
		}
		*colon = '\0';
		/*
		 * "[]:993" would come out of conf_dump as ":993", and
		 * "[][]:993" as "][:993" (found by fuzz-conf).
		 */
		if (addr[1] == '\0' || strpbrk(addr + 1, "[]") != NULL) {
			*whyp = "expected [ADDRESS]:PORT";
			goto out;
		}
		ls->host = xstrdup(addr + 1);
		ls->port = xstrdup(colon + 2);
	} else {
		if ((colon = strrchr(addr, ':')) == NULL || colon == addr) {
			*whyp = "expected ADDRESS:PORT";
			goto out;
		}
		*colon = '\0';
		/*
		 * "::1:993" could be ::1 port 993 or ::1:993 without a
		 * port: only the brackets say which.
		 */
		if (strpbrk(addr, ":[]") != NULL) {
			*whyp = "an IPv6 address is written [ADDRESS]:PORT";
			goto out;
		}
		ls->host = xstrdup(addr);
		ls->port = xstrdup(colon + 1);
	}
	/*
	 * An address of blanks or control characters is none, and
	 * "[\r]:587" would come out of conf_dump as "\r:587", whose
	 * blank the next parse trims (found by fuzz-conf).
	 */
	for (colon = ls->host; *colon != '\0'; colon++)
		if ((unsigned char)*colon <= ' ' || *colon == 0x7f) {
			*whyp = "the address may not hold blanks or control "
			    "characters";
			free(ls->host);
			free(ls->port);
			ls->host = ls->port = NULL;
			goto out;
		}
	{
		uint64_t	 port;

		if (parse_u64(ls->port, 65535, &port) == -1) {
			*whyp = "the port must be a number from 0 to 65535";
			free(ls->host);
			free(ls->port);
			ls->host = ls->port = NULL;
			goto out;
		}
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

/*
 * public_url ends up only in invitation mails, so a URL no browser opens
 * (no scheme, plain http, a blank) costs every invitation made until it
 * is noticed.  Accepted: https://host[:port][/path], host a DNS name, an
 * IPv4 address or a bracketed IPv6 address (RFC 3986 3.2.2); no user
 * info, query or fragment, which a link prefix cannot carry.
 */
/* Links are public_url "/i/" token: no doubled slash. */
static void
conf_url_trim(char *url)
{
	url[strlen(url) - strspn_back(url, '/')] = '\0';
}

static int
conf_check_url(const char *url, const char **whyp)
{
	const char	*h, *p, *end;
	uint64_t	 port;
	char		 num[8];

	if (strncasecmp(url, "https://", 8) != 0) {
		*whyp = "must start with https:// (the invitation links are "
		    "made from it), e.g. https://guestbox.example.org:8443";
		return -1;
	}
	h = url + 8;
	end = h + strcspn(h, "/");
	if (*h == '[') {
		for (p = h + 1; p < end && (isxdigit((unsigned char)*p) ||
		    *p == ':' || *p == '.'); p++)
			;
		if (p == h + 1 || p >= end || *p != ']') {
			*whyp = "has a bad [IPv6] host";
			return -1;
		}
		p++;
	} else {
		for (p = h; p < end && (isalnum((unsigned char)*p) ||
		    *p == '-' || *p == '.'); p++)
			;
		if (p == h || (p < end && *p != ':')) {
			*whyp = "needs a host name after https:// (letters, "
			    "digits, '-' and '.')";
			return -1;
		}
	}
	if (p < end) {
		if (*p != ':' || end - p - 1 < 1 ||
		    (size_t)(end - p - 1) >= sizeof(num)) {
			*whyp = "has a bad port";
			return -1;
		}
		memcpy(num, p + 1, (size_t)(end - p - 1));
		num[end - p - 1] = '\0';
		if (parse_u64(num, 65535, &port) == -1 || port == 0) {
			*whyp = "has a bad port (1 to 65535)";
			return -1;
		}
	}
	for (p = end; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '?' || *p == '#' || *p == '"' || *p == '<' ||
		    *p == '>' || *p == '\\') {
			*whyp = "may hold only a path after the host, without "
			    "blanks, '?' or quotes";
			return -1;
		}
	return 0;
}

/*
 * The quoting rule of guestbox.conf(5): a value may stand in one pair of
 * double quotes, which are removed; no other double quote is allowed, so
 * that "noreply@\"localhost\"" never reaches a mail header.  The quotes
 * protect nothing: blanks at their inside ends are removed too.
 */
static int
conf_unquote(char *val, const char **whyp)
{
	size_t	 n = strlen(val);
	char	*p;

	if (val[0] == '"') {
		if (n < 2 || val[n - 1] != '"') {
			*whyp = "has an opening double quote without a closing "
			    "one (a '#' inside quotes still starts a comment)";
			return -1;
		}
		memmove(val, val + 1, n - 2);
		val[n - 2] = '\0';
		for (p = val + strlen(val); p > val &&
		    isspace((unsigned char)p[-1]);)
			*--p = '\0';
		for (p = val; isspace((unsigned char)*p); p++)
			;
		memmove(val, p, strlen(p) + 1);
	}
	if (strchr(val, '"') != NULL) {
		*whyp = "may hold a double quote only as one pair around the "
		    "whole value";
		return -1;
	}
	return 0;
}

/* How many c end s. */
static size_t
strspn_back(const char *s, int c)
{
	size_t	 n = strlen(s), i = 0;

	while (i < n && s[n - 1 - i] == c)
		i++;
	return i;
}

/*
 * One host:port of a replication site (a DNS name, an IPv4 address or
 * [IPv6]), port 1-65535; host is hostlen bytes at most with its NUL.
 */
int
conf_site_parse(const char *s, size_t len, char *host, size_t hostlen,
    unsigned *portp)
{
	const char	*colon, *h = s, *hend;
	char		 port[8];
	uint64_t	 v;
	size_t		 plen;

	if (len == 0 || (colon = memrchr(s, ':', len)) == NULL)
		return -1;
	hend = colon;
	if (s[0] == '[') {
		if (colon == s || colon[-1] != ']')
			return -1;
		h = s + 1;
		hend = colon - 1;
	}
	plen = len - (size_t)(colon + 1 - s);
	if (hend <= h || (size_t)(hend - h) >= hostlen || plen == 0 ||
	    plen >= sizeof(port))
		return -1;
	memcpy(port, colon + 1, plen);
	port[plen] = '\0';
	if (parse_u64(port, 65535, &v) == -1 || v == 0)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (s[0] != '[' && !host_name_is_valid(host))
		return -1;
	*portp = (unsigned)v;
	return 0;
}

static int
conf_check_sites(const char *val, uint64_t min, uint64_t max,
    const char **whyp)
{
	char		 host[256];
	unsigned	 port;
	uint64_t	 n = 0;
	size_t		 len;

	for (;;) {
		val += strspn(val, " \t");
		if (*val == '\0')
			break;
		len = strcspn(val, " \t");
		if (conf_site_parse(val, len, host, sizeof(host), &port) == -1) {
			*whyp = "must be host:port (a host name or address, "
			    "[IPv6]:port), blank-separated if a list";
			return -1;
		}
		n++;
		val += len;
	}
	if (n < min || n > max) {
		*whyp = max == 1 ? "must be one host:port" :
		    "has too few or too many sites";
		return -1;
	}
	return 0;
}

int
conf_ack_policy(const char *val)
{
	static const char *const names[] = {
		[CONF_ACK_QUORUM] = "quorum",
		[CONF_ACK_ALL] = "all",
		[CONF_ACK_ALL_PEERS] = "all_peers",
		[CONF_ACK_ONE] = "one",
		[CONF_ACK_ONE_PEER] = "one_peer",
		[CONF_ACK_NONE] = "none",
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(val, names[i]) == 0)
			return (int)i;
	return CONF_ACK_INVALID;
}

static void
conf_listen_free(struct listen_list *ll)
{
	size_t	 i;

	for (i = 0; i < ll->n; i++) {
		free(ll->v[i].host);
		free(ll->v[i].port);
	}
	free(ll->v);
	ll->v = NULL;
	ll->n = 0;
}

static int
conf_set(struct conf *cf, const struct conf_key *k, const char *val,
    const char **whyp)
{
	static const uint64_t size_mult[] = { 1024, 1024 * 1024,
	    1024 * 1024 * 1024ULL, 1024ULL * 1024 * 1024 * 1024 };
	static const uint64_t dur_mult[] = { 1, 60, 3600, 86400, 7 * 86400 };
	void		*field = (char *)cf + k->offset;
	char		**sp = field;
	uint64_t	*up = field, v;
	int		*bp = field;
	struct listen_list *ll = field;
	struct listen_spec ls;
	const char	*p;

	*whyp = NULL;
	switch (k->type) {
	case CT_PATH:
		if (val[0] != '/') {
			*whyp = "must be an absolute path";
			return -1;
		}
		__attribute__((fallthrough));	/* a path is a string too */
	case CT_STRING:
		free(*sp);
		*sp = xstrdup(val);
		return 0;
	case CT_HOST:
		/* It goes into EHLO, Message-IDs, URLs and the profile. */
		if (!host_name_is_valid(val)) {
			*whyp = "is not a host name: letters, digits and "
			    "hyphens in labels separated by dots, such as "
			    "mail.example.org";
			return -1;
		}
		free(*sp);
		*sp = xstrdup(val);
		return 0;
	case CT_URL:
		if (conf_check_url(val, whyp) == -1)
			return -1;
		free(*sp);
		*sp = xstrdup(val);
		conf_url_trim(*sp);
		return 0;
	case CT_MAILBOX:
		for (p = val; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' ||
			    *p == '*' || *p == '%') {
				*whyp = "a mailbox name may not hold control "
				    "characters, '/', '*' or '%'";
				return -1;
			}
		if (val[0] == '\0' || strcasecmp(val, "INBOX") == 0 ||
		    strlen(val) > 200) {
			*whyp = "must be a name other than INBOX, at most 200 bytes";
			return -1;
		}
		free(*sp);
		*sp = xstrdup(val);
		return 0;
	case CT_SITES:
		if (conf_check_sites(val, k->min, k->max, whyp) == -1)
			return -1;
		free(*sp);
		*sp = xstrdup(val);
		return 0;
	case CT_ACK_POLICY:
		if (conf_ack_policy(val) == CONF_ACK_INVALID) {
			*whyp = "must be quorum, all, all_peers, one, one_peer "
			    "or none";
			return -1;
		}
		free(*sp);
		*sp = xstrdup(val);
		return 0;
	case CT_UINT:
		if (parse_u64(val, UINT64_MAX, &v) == -1) {
			*whyp = "must be a whole number";
			return -1;
		}
		break;
	case CT_SIZE:
		if (conf_parse_scaled(val, "KMGT", size_mult, &v) == -1) {
			*whyp = "must be a size such as 512K, 50M or 2G";
			return -1;
		}
		break;
	case CT_DURATION:
		if (conf_parse_scaled(val, "smhdw", dur_mult, &v) == -1) {
			*whyp = "must be a duration such as 30s, 5m, 2h or 5d";
			return -1;
		}
		break;
	case CT_BOOL:
		if (strcmp(val, "yes") == 0)
			*bp = 1;
		else if (strcmp(val, "no") == 0)
			*bp = 0;
		else {
			*whyp = "must be yes or no";
			return -1;
		}
		return 0;
	case CT_SMARTHOST_TLS:
		if (strcmp(val, "starttls") == 0)
			cf->smarthost_tls = SMARTHOST_STARTTLS;
		else if (strcmp(val, "tls") == 0)
			cf->smarthost_tls = SMARTHOST_TLS;
		else {
			/* guestbox never relays in clear, even encrypted mail. */
			*whyp = "must be starttls or tls";
			return -1;
		}
		return 0;
	case CT_LISTEN:
		if (strcmp(val, "none") == 0) {
			conf_listen_free(ll);
			return 0;
		}
		if (ll->n >= CONF_MAX_LISTEN) {
			*whyp = "too many listeners";
			return -1;
		}
		if (conf_parse_listen(val, &ls, whyp) == -1)
			return -1;
		ll->v = xreallocarray(ll->v, ll->n + 1, sizeof(*ll->v));
		ll->v[ll->n++] = ls;
		return 0;
	}
	if (v < k->min || v > k->max) {
		*whyp = "is out of range";
		return -1;
	}
	*up = v;
	return 0;
}

static void
conf_apply_defaults(struct conf *cf)
{
	const char	*why;
	size_t		 i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].defval != NULL &&
		    conf_set(cf, &conf_keys[i], conf_keys[i].defval,
		    &why) == -1)
			fatalx("config default for %s: %s", conf_keys[i].name,
			    why);
}

/*
 * Values derived from others once the file is read.  A host name is a
 * DNS name (CT_HOST, or held to it here), so https://HOSTNAME is always
 * a public_url that conf_check_url() takes.
 */
static void
conf_finish(struct conf *cf)
{
	char	 host[256];

	if (cf->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		/* Held to what a set one must be (an empty one is not). */
		if (!host_name_is_valid(host))
			snprintf(host, sizeof(host), "localhost");
		cf->hostname = xstrdup(host);
	}
	if (cf->public_url == NULL)
		xasprintf(&cf->public_url, "https://%s", cf->hostname);
	if (cf->invite_from == NULL)
		xasprintf(&cf->invite_from, "noreply@%s", cf->hostname);
}

struct conf *
conf_parse(const char *name, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct conf		*cf;
	const struct conf_key	*k;
	const char		*why, *end = text + len, *nl;
	char			*line, *key, *val, *eq, *p;
	unsigned		 lineno = 0, seen[CONF_NKEYS];
	size_t			 n;

	memset(seen, 0, sizeof(seen));
	cf = xcalloc(1, sizeof(*cf));
	conf_apply_defaults(cf);
	while (text < end) {
		lineno++;
		nl = memchr(text, '\n', (size_t)(end - text));
		n = nl == NULL ? (size_t)(end - text) : (size_t)(nl - text);
		if (memchr(text, '\0', n) != NULL) {
			conf_error(err, errlen, name, lineno,
			    "the line holds a NUL byte");
			goto fail;
		}
		line = xstrndup(text, n);
		text += n + (nl != NULL);
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line + strlen(line); p > line && isspace((unsigned char)p[-1]);)
			*--p = '\0';
		for (key = line; isspace((unsigned char)*key); key++)
			;
		if (*key == '\0') {
			free(line);
			continue;
		}
		if ((eq = strchr(key, '=')) == NULL) {
			conf_error(err, errlen, name, lineno,
			    "expected \"key = value\"");
			free(line);
			goto fail;
		}
		for (val = eq + 1; isspace((unsigned char)*val); val++)
			;
		for (p = eq; p > key && isspace((unsigned char)p[-1]); p--)
			;
		*p = '\0';
		if ((k = conf_find_key(key)) == NULL) {
			conf_error(err, errlen, name, lineno,
			    "unknown key \"%s\"", key);
			free(line);
			goto fail;
		}
		if (conf_unquote(val, &why) == -1) {
			conf_error(err, errlen, name, lineno, "%s %s", key,
			    why);
			free(line);
			goto fail;
		}
		if (*val == '\0') {
			conf_error(err, errlen, name, lineno,
			    "%s needs a value", key);
			free(line);
			goto fail;
		}
		/* Only a list (the listeners) takes a key more than once. */
		if (seen[k - conf_keys] != 0 && k->type != CT_LISTEN) {
			conf_error(err, errlen, name, lineno,
			    "%s is already set on line %u; remove one of the "
			    "two", key, seen[k - conf_keys]);
			free(line);
			goto fail;
		}
		seen[k - conf_keys] = lineno;
		if (conf_set(cf, k, val, &why) == -1) {
			conf_error(err, errlen, name, lineno, "%s %s", key,
			    why);
			free(line);
			goto fail;
		}
		free(line);
	}
	/* Peers without a site of our own would replicate nowhere. */
	if (cf->repl_peers != NULL && cf->repl_site == NULL) {
		conf_error(err, errlen, name, seen[conf_find_key("repl_peers") -
		    conf_keys], "repl_peers needs repl_site (this site's "
		    "host:port)");
		goto fail;
	}
	conf_finish(cf);
	return cf;
fail:
	conf_free(&cf);
	return NULL;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf	*cf;
	char		*text;
	size_t		 len;

	if (path == NULL)
		return conf_parse("(defaults)", "", 0, err, errlen);
	if (file_read_all(path, CONF_MAX_FILE, &text, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	cf = conf_parse(path, text, len, err, errlen);
	free(text);
	if (cf != NULL)
		cf->path = xstrdup(path);
	return cf;
}

void
conf_free(struct conf **cfp)
{
	struct conf	*cf = *cfp;
	size_t		 i;
	void		*field;

	if (cf == NULL)
		return;
	for (i = 0; i < CONF_NKEYS; i++) {
		field = (char *)cf + conf_keys[i].offset;
		switch (conf_keys[i].type) {
		case CT_STRING:
		case CT_PATH:
		case CT_URL:
		case CT_HOST:
		case CT_MAILBOX:
		case CT_SITES:
		case CT_ACK_POLICY:
			free(*(char **)field);
			break;
		case CT_LISTEN:
			conf_listen_free(field);
			break;
		default:
			break;
		}
	}
	free(cf->path);
	free(cf);
	*cfp = NULL;
}

char *
conf_state_path(const struct conf *cf, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/%s", cf->state_dir, name);
	return p;
}

void
conf_dump(const struct conf *cf, FILE *fp)
{
	static const char *sec[] = {
		[LISTEN_TLS] = "tls",
		[LISTEN_STARTTLS] = "starttls",
		[LISTEN_PLAIN] = "plain",
	};
	const struct conf_key	*k;
	const void		*field;
	const struct listen_list *ll;
	size_t			 i, j;

	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		field = (const char *)cf + k->offset;
		switch (k->type) {
		case CT_STRING:
		case CT_PATH:
		case CT_URL:
		case CT_HOST:
		case CT_MAILBOX:
		case CT_SITES:
		case CT_ACK_POLICY:
			if (*(char *const *)field != NULL)
				fprintf(fp, "%s = %s\n", k->name,
				    *(char *const *)field);
			break;
		case CT_UINT:
		case CT_SIZE:
		case CT_DURATION:
			fprintf(fp, "%s = %llu\n", k->name,
			    (unsigned long long)*(const uint64_t *)field);
			break;
		case CT_BOOL:
			fprintf(fp, "%s = %s\n", k->name,
			    *(const int *)field ? "yes" : "no");
			break;
		case CT_SMARTHOST_TLS:
			fprintf(fp, "%s = %s\n", k->name,
			    cf->smarthost_tls == SMARTHOST_TLS ? "tls" : "starttls");
			break;
		case CT_LISTEN:
			ll = field;
			for (j = 0; j < ll->n; j++) {
				if (ll->v[j].host == NULL)
					fprintf(fp, "%s = unix:%s %s\n", k->name,
					    ll->v[j].port, sec[ll->v[j].security]);
				else
					fprintf(fp, "%s = %s%s%s:%s %s\n", k->name,
					    strchr(ll->v[j].host, ':') ? "[" : "",
					    ll->v[j].host,
					    strchr(ll->v[j].host, ':') ? "]" : "",
					    ll->v[j].port, sec[ll->v[j].security]);
			}
			break;
		}
	}
}
