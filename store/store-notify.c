/*
 * store-notify.c: change notification between processes.
 *
 * Each listening process binds a datagram socket in STATE_DIR/notify; a
 * commit that changed mailboxes sends one small datagram per mailbox to
 * every socket there.  Datagrams are best effort: a full receive queue
 * drops the event, so listeners also re-check mailboxes now and then.
 * A socket whose process died refuses the datagram and is removed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

#define STORE_EVENT_LEN	(8 + 4 + 8)

int
store_notify_init(struct store *st)
{
	st->send_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (st->send_fd == -1) {
		log_warn("store: notify socket");
		return -1;
	}
	return 0;
}

void
store_notify_fini(struct store *st)
{
	if (st->send_fd != -1)
		close(st->send_fd);
	st->send_fd = -1;
	if (st->notify_fd != -1) {
		close(st->notify_fd);
		unlink(st->notify_path);
	}
	st->notify_fd = -1;
	free(st->notify_path);
	st->notify_path = NULL;
}

int
store_notify_listen(struct store *st)
{
	struct sockaddr_un	 sun;
	uint32_t		 rnd;
	int			 fd;

	if (st->notify_fd != -1)
		return st->notify_fd;
	rnd = randombytes_random();
	free(st->notify_path);
	xasprintf(&st->notify_path, "%s/%ld-%08x.sock", st->notify_dir,
	    (long)getpid(), rnd);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(st->notify_path) >= sizeof(sun.sun_path)) {
		log_warnx("store: %s: path too long for a socket",
		    st->notify_path);
		return -1;
	}
	memcpy(sun.sun_path, st->notify_path, strlen(st->notify_path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("store: notify socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("store: bind %s", st->notify_path);
		close(fd);
		return -1;
	}
	st->notify_fd = fd;
	return fd;
}

int
store_notify_read(struct store *st, struct store_event *ev)
{
	uint8_t		 buf[STORE_EVENT_LEN + 1];
	ssize_t		 n;

	if (st->notify_fd == -1)
		return -1;
	for (;;) {
		n = recv(st->notify_fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			log_warn("store: notify recv");
			return -1;
		}
		if (n != STORE_EVENT_LEN)
			continue;	/* not ours: ignore */
		ev->account_id = unpack_be64(buf);
		ev->mailbox_id = unpack_be32(buf + 8);
		ev->modseq = unpack_be64(buf + 12);
		return 1;
	}
}

void
store_txn_notify(struct store_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, uint64_t modseq)
{
	size_t	 i;

	for (i = 0; i < txn->nevents; i++)
		if (txn->events[i].account_id == account_id &&
		    txn->events[i].mailbox_id == mailbox_id) {
			if (modseq > txn->events[i].modseq)
				txn->events[i].modseq = modseq;
			return;
		}
	if (txn->nevents == STORE_NOTIFY_MAX_PENDING) {
		txn->events_overflow = 1;
		return;
	}
	txn->events[txn->nevents].account_id = account_id;
	txn->events[txn->nevents].mailbox_id = mailbox_id;
	txn->events[txn->nevents].modseq = modseq;
	txn->nevents++;
}

static void
store_notify_send_one(struct store *st, const char *path, const uint8_t *buf)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (sendto(st->send_fd, buf, STORE_EVENT_LEN, MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		/* Nobody bound there any more: its process is gone. */
		if (errno == ECONNREFUSED)
			unlink(path);
		else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ENOENT)
			log_debug("store: notify %s: %s", path, strerror(errno));
	}
}

void
store_notify_send(struct store *st, const struct store_event *ev, size_t n,
    int overflow)
{
	DIR		*dir;
	struct dirent	*de;
	uint8_t		(*bufs)[STORE_EVENT_LEN];
	char		*path;
	size_t		 i, len, nbufs = n + (overflow != 0);

	if (st->send_fd == -1 || nbufs == 0)
		return;
	bufs = xreallocarray(NULL, nbufs, sizeof(*bufs));
	for (i = 0; i < n; i++) {
		pack_be64(bufs[i], ev[i].account_id);
		pack_be32(bufs[i] + 8, ev[i].mailbox_id);
		pack_be64(bufs[i] + 12, ev[i].modseq);
	}
	if (overflow) {
		/* Account 0 means "anything may have changed": rescan. */
		memset(bufs[n], 0, STORE_EVENT_LEN);
	}
	if ((dir = opendir(st->notify_dir)) == NULL) {
		log_warn("store: opendir %s", st->notify_dir);
		free(bufs);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".sock") != 0)
			continue;
		xasprintf(&path, "%s/%s", st->notify_dir, de->d_name);
		for (i = 0; i < nbufs; i++)
			store_notify_send_one(st, path, bufs[i]);
		free(path);
	}
	closedir(dir);
	free(bufs);
}

void
store_notify_rescan(struct store *st)
{
	store_notify_send(st, NULL, 0, 1);
}

void
store_notify_reopen(struct store *st)
{
	const struct store_event ev = { .account_id = 0,
	    .mailbox_id = STORE_REOPEN_EVENT, .modseq = 0 };

	store_notify_send(st, &ev, 1, 0);
}
