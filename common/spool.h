/*
 * spool.h: a byte stream parked on disk while it arrives, so that a
 * client that announces a large message holds a file, not memory.
 *
 * The file is unlinked at once (nothing is left after a crash) and what
 * it holds is encrypted under a key that lives in this process only
 * (XChaCha20-Poly1305 secretstream, SPOOL_CHUNK bytes a record): mail is
 * never on disk in clear, not even for a moment.  Memory: two chunks.
 *
 *	spool_new()		an empty spool in a directory
 *	spool_write()		appends bytes
 *	spool_read_all()	ends it and gives back every byte, checked
 */
#ifndef GUESTBOX_SPOOL_H
#define GUESTBOX_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_CHUNK	65536

struct spool;

/* NULL with errno (the directory is not writable, say). */
struct spool	*spool_new(const char *dir);
/* 0, or -1 with errno (ENOSPC: the disk is full). */
int		 spool_write(struct spool *, const void *, size_t);
/* Bytes written so far. */
uint64_t	 spool_size(const struct spool *);
/*
 * Every byte written, in a new buffer of *lenp bytes (free it with
 * sodium_memzero and free).  Once only; -1 with errno: EIO if the file
 * did not read back as written (changed on disk), ENOMEM.
 */
int		 spool_read_all(struct spool *, uint8_t **datap, size_t *lenp);
/* Closes the file (it is gone) and wipes the key; *sp becomes NULL. */
void		 spool_free(struct spool **sp);

#endif /* GUESTBOX_SPOOL_H */
