/*
 * conf.h: guestbox.conf(5), the one file every guestbox program reads.
 *
 * The file is "key = value" lines; '#' starts a comment.  Keys that take a
 * list (the listeners) may repeat.  Unknown keys and bad values are errors
 * that name file:line.  conf_load() without a file gives the defaults.
 */
#ifndef GUESTBOX_CONF_H
#define GUESTBOX_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_DEFAULT_PATH	SYSCONFDIR_GUESTBOX "/guestbox.conf"

enum listen_security {
	LISTEN_TLS,		/* implicit TLS (RFC 8314) */
	LISTEN_STARTTLS,	/* plain, upgraded by STARTTLS */
	LISTEN_PLAIN,		/* loopback, unix sockets, behind a proxy */
};

struct listen_spec {
	char			*host;	/* NULL for a unix socket */
	char			*port;	/* or the socket's path */
	enum listen_security	 security;
};

struct listen_list {
	struct listen_spec	*v;
	size_t			 n;
};

enum smarthost_tls {
	SMARTHOST_STARTTLS,
	SMARTHOST_TLS,
};

struct conf {
	char		*path;			/* the file read, or NULL */

	/* Where things are. */
	char		*state_dir;
	char		*hostname;
	char		*public_url;
	char		*user;
	char		*group;
	char		*templates_dir;

	/* TLS */
	char		*tls_cert;
	char		*tls_key;

	/* Listeners */
	struct listen_list imap_listen;
	struct listen_list submission_listen;
	struct listen_list lmtp_listen;
	struct listen_list bootstrap_listen;
	struct listen_list gateway_listen;

	/* Relay */
	char		*smarthost;		/* host:port, or NULL */
	enum smarthost_tls smarthost_tls;
	int		 smarthost_verify;
	char		*smarthost_ca;
	char		*smarthost_user;
	char		*smarthost_password_file;
	uint64_t	 queue_max_age;		/* seconds */
	uint64_t	 queue_retry;		/* first retry after, seconds */
	char		*invite_from;

	/* The gateway (guestbox-submitd(8)): lists are blank-separated. */
	char		*gateway_reinject;	/* host:port of the home MTA */
	char		*gateway_domains;	/* the home domains */
	char		*gateway_header;	/* "Name: value", or "none" */
	char		*gateway_subject_tags;	/* or "none" */
	char		*gateway_encrypt_from;	/* addresses, @domains */
	char		*gateway_keyring;	/* the home users' public keys */
	char		*gateway_wkd;		/* none, direct or a base URL */
	char		*gateway_wkd_ca;	/* CA file for it, or NULL */

	/* Mailboxes created with every account. */
	char		*mailbox_sent;
	char		*mailbox_drafts;
	char		*mailbox_trash;
	char		*mailbox_archive;
	char		*mailbox_junk;
	uint64_t	 sent_dedup_window;	/* seconds */
	int		 protect_subject;

	/* Limits */
	uint64_t	 max_message_size;
	uint64_t	 max_recipients;
	uint64_t	 max_connections_per_ip;
	uint64_t	 max_connections_per_account;
	uint64_t	 max_mailboxes;		/* per account, INBOX counted */
	uint64_t	 mailbox_quota;		/* bytes per account, 0 none */

	/* Idle timeouts (seconds): a client silent this long is dropped. */
	uint64_t	 imap_login_timeout;	/* before login */
	uint64_t	 imap_timeout;		/* after login; IDLE gets 1m more */
	uint64_t	 imap_workers;	/* processes; 0: the online cores */
	uint64_t	 smtp_timeout;		/* between SMTP and LMTP commands */
	uint64_t	 smtp_data_timeout;	/* inside DATA */

	/* Authentication */
	uint64_t	 auth_cache_time;	/* seconds, 0 disables */
	uint64_t	 auth_workers;
	uint64_t	 auth_account_rate;	/* hashes per minute per account */
	uint64_t	 kdf_opslimit;
	uint64_t	 kdf_memlimit;
	uint64_t	 password_min_length;
	uint64_t	 pin_length;
	uint64_t	 pin_attempts;
	uint64_t	 bootstrap_rate;	/* form posts per minute per address */
	/* guestbox-bootstrapd's connections (issue 19) */
	uint64_t	 bootstrap_max_connections;
	uint64_t	 bootstrap_max_connections_per_ip;
	uint64_t	 bootstrap_request_timeout;	/* seconds */

	/* Lifetime */
	uint64_t	 expire_days;
	uint64_t	 invite_days;
	uint64_t	 expire_warn_days;
	/* The new-mail notice (daemon/doorbell.h) */
	uint64_t	 notice_interval;	/* seconds; 0: no notices */
	uint64_t	 notice_idle;		/* no client for this long */
	/* The lost-password mail (provision/bootstrap-lost.c) */
	uint64_t	 lost_password_interval; /* seconds; 0: no mails */
	/* A phone's one-time profile link (provision/bootstrap-phone.c) */
	uint64_t	 phone_link_lifetime;	/* seconds */

	/* Berkeley DB */
	uint64_t	 db_cache_size;
	uint64_t	 db_checkpoint_interval;	/* seconds */
	int		 db_log_keep_for_backup;

	/*
	 * Replication (Berkeley DB's Replication Manager): off while
	 * repl_site is unset.  Strings as written; conf_site_parse() splits
	 * them.
	 */
	char		*repl_site;		/* this site's host:port */
	char		*repl_peers;		/* the others, blank-separated */
	char		*repl_ack_policy;	/* conf_ack_policy() */
	uint64_t	 repl_priority;		/* elections; 0: never master */
	uint64_t	 repl_ack_timeout;	/* seconds */
	int		 repl_group_creator;	/* the group's first site */
	char		*repl_master_hook;	/* run when we become master */
};

#define CONF_MAX_REPL_PEERS	32

enum conf_ack {
	CONF_ACK_INVALID = -1,
	CONF_ACK_QUORUM,
	CONF_ACK_ALL,
	CONF_ACK_ALL_PEERS,
	CONF_ACK_ONE,
	CONF_ACK_ONE_PEER,
	CONF_ACK_NONE,
};

/* A repl_ack_policy value as enum conf_ack; CONF_ACK_INVALID if none. */
int		 conf_ack_policy(const char *);
/*
 * Splits the len bytes at s, one "host:port" or "[v6]:port", into host
 * (hostlen bytes with the NUL) and *portp; -1 if it is not one.
 */
int		 conf_site_parse(const char *s, size_t len, char *host,
		    size_t hostlen, unsigned *portp);

/*
 * Loads path (NULL: only defaults).  On error returns NULL and writes a
 * message naming file:line to err (errlen bytes).
 */
struct conf	*conf_load(const char *path, char *err, size_t errlen);
/* Parses text as if it were the file name; for tests and fuzzing. */
struct conf	*conf_parse(const char *name, const char *text, size_t len,
		    char *err, size_t errlen);
void		 conf_free(struct conf **);

/* Joins the state directory and a relative name; caller frees. */
char		*conf_state_path(const struct conf *, const char *name);

/* Prints every key with its value, as a config file would hold it. */
void		 conf_dump(const struct conf *, FILE *);

#endif
