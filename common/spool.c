/*
 * spool.c: an encrypted, unlinked temporary file for a stream of bytes
 * (spool.h).  Record k of the file is chunk k sealed with the stream's
 * state: XChaCha20-Poly1305 secretstream, so records cannot be cut,
 * reordered or swapped with another spool's without the read failing.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "spool.h"
#include "xmalloc.h"

#define SPOOL_RECORD	(SPOOL_CHUNK + \
			    crypto_secretstream_xchacha20poly1305_ABYTES)

/* In secret memory, whole: the key, the stream state, the open chunk. */
struct spool {
	int			 fd;
	int			 ended;		/* read back: no more writes */
	uint64_t		 size;		/* plaintext bytes written */
	size_t			 fill;		/* of chunk */
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t			 key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	uint8_t			 chunk[SPOOL_CHUNK];
	uint8_t			 record[SPOOL_RECORD];
};

static int
spool_write_fd(int fd, const uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Exactly len bytes, or -1: EIO for a file that ends early. */
static int
spool_read_fd(int fd, uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = read(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct spool *
spool_new(const char *dir)
{
	struct spool	*sp;
	uint8_t		 header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	char		 path[PATH_MAX];
	int		 save;

	if ((size_t)snprintf(path, sizeof(path), "%s/.spool-XXXXXX", dir) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	sp = xsecret_alloc(sizeof(*sp));
	memset(sp, 0, sizeof(*sp));
	if ((sp->fd = mkostemp(path, O_CLOEXEC)) == -1) {
		save = errno;
		xsecret_free(sp);
		errno = save;
		return NULL;
	}
	/* Gone from the directory at once: a crash leaves nothing. */
	(void)unlink(path);
	crypto_secretstream_xchacha20poly1305_keygen(sp->key);
	crypto_secretstream_xchacha20poly1305_init_push(&sp->st, header,
	    sp->key);
	if (spool_write_fd(sp->fd, header, sizeof(header)) == -1) {
		save = errno;
		spool_free(&sp);
		errno = save;
		return NULL;
	}
	return sp;
}

/* Seals the open chunk as the next record (tag FINAL: the last one). */
static int
spool_flush(struct spool *sp, unsigned char tag)
{
	unsigned long long	 clen;

	crypto_secretstream_xchacha20poly1305_push(&sp->st, sp->record, &clen,
	    sp->chunk, sp->fill, NULL, 0, tag);
	sodium_memzero(sp->chunk, sp->fill);
	sp->fill = 0;
	return spool_write_fd(sp->fd, sp->record, (size_t)clen);
}

int
spool_write(struct spool *sp, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	if (sp->ended) {
		errno = EINVAL;
		return -1;
	}
	while (len > 0) {
		n = SPOOL_CHUNK - sp->fill;
		if (n > len)
			n = len;
		memcpy(sp->chunk + sp->fill, p, n);
		sp->fill += n;
		sp->size += n;
		p += n;
		len -= n;
		if (sp->fill == SPOOL_CHUNK && spool_flush(sp,
		    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) == -1)
			return -1;
	}
	return 0;
}

uint64_t
spool_size(const struct spool *sp)
{
	return sp->size;
}

int
spool_read_all(struct spool *sp, uint8_t **datap, size_t *lenp)
{
	uint8_t			 header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	uint8_t			*out;
	unsigned long long	 mlen;
	unsigned char		 tag;
	uint64_t		 off, full;
	size_t			 rlen;
	int			 last;

	*datap = NULL;
	*lenp = 0;
	if (sp->ended || sp->size > SIZE_MAX - 1) {
		errno = sp->ended ? EINVAL : ENOMEM;
		return -1;
	}
	sp->ended = 1;
	/* The rest, maybe nothing, as the record that says "the end". */
	if (spool_flush(sp, crypto_secretstream_xchacha20poly1305_TAG_FINAL) ==
	    -1 || lseek(sp->fd, 0, SEEK_SET) == -1 ||
	    spool_read_fd(sp->fd, header, sizeof(header)) == -1)
		return -1;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&sp->st, header,
	    sp->key) != 0) {
		errno = EIO;
		return -1;
	}
	out = xmalloc(sp->size > 0 ? (size_t)sp->size : 1);
	full = sp->size / SPOOL_CHUNK;
	for (off = 0;; off += mlen) {
		last = off / SPOOL_CHUNK == full;
		rlen = last ? (size_t)(sp->size - off) +
		    crypto_secretstream_xchacha20poly1305_ABYTES : SPOOL_RECORD;
		if (spool_read_fd(sp->fd, sp->record, rlen) == -1)
			goto fail;
		if (crypto_secretstream_xchacha20poly1305_pull(&sp->st,
		    out + off, &mlen, &tag, sp->record, rlen, NULL, 0) != 0 ||
		    tag != (last ?
		    crypto_secretstream_xchacha20poly1305_TAG_FINAL :
		    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)) {
			errno = EIO;
			goto fail;
		}
		if (last)
			break;
	}
	*datap = out;
	*lenp = (size_t)sp->size;
	return 0;
fail:
	sodium_memzero(out, (size_t)sp->size);
	free(out);
	return -1;
}

void
spool_free(struct spool **spp)
{
	struct spool	*sp = *spp;

	if (sp == NULL)
		return;
	if (sp->fd != -1)
		close(sp->fd);
	/* sodium_free wipes it all: the key, the state, the chunk. */
	xsecret_free(sp);
	*spp = NULL;
}
