/*
 * util.h: small helpers every program shares: addresses, files, encodings.
 */
#ifndef GUESTBOX_UTIL_H
#define GUESTBOX_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 5321 4.5.3.1.1-3: local part 64 octets, domain 255, path 256. */
#define ADDR_LOCAL_MAX	64
#define ADDR_DOMAIN_MAX	253
#define ADDR_MAX	(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

/*
 * Checks a mailbox address (dot-atom local part, a DNS domain or an
 * address literal is refused) and writes its canonical form, all lower
 * case, to out (at least ADDR_MAX + 1 bytes).  Returns 0, or -1 with a
 * reason in *whyp (a static string).
 */
int	 addr_normalize(const char *in, char *out, const char **whyp);
/* 1 if s is a host name of letters, digits, hyphens and dots. */
int	 host_name_is_valid(const char *s);
/* The domain part of a normalized address (a pointer into it). */
const char *addr_domain(const char *addr);

/* Reads a whole file into a NUL-terminated buffer; -1 with errno. */
int	 file_read_all(const char *path, size_t max, char **bufp, size_t *lenp);
/* The same from an open descriptor (standard input after a setuid). */
int	 fd_read_all(int fd, size_t max, char **bufp, size_t *lenp);
/* Writes a file atomically (temporary name, fsync, rename); -1 with errno. */
int	 file_write_atomic(const char *path, const void *, size_t, int mode);

/* base64url without padding of n bytes; returns a new string. */
char	*b64url_encode(const void *, size_t);
/* Decodes exactly n bytes of base64url; -1 on any other input. */
int	 b64url_decode(const char *, void *, size_t n);
/* The value of a character of the base64 alphabet (RFC 4648 4), or -1. */
int	 b64_value(int);
char	*hex_encode(const void *, size_t);

/*
 * Converts a message to CRLF line ends (a bare LF becomes CRLF), the form
 * IMAP serves and RFC822.SIZE counts.  A bare CR is no line end and stays,
 * byte for byte as Dovecot stores and serves it (which also drops a CR
 * just before a CRLF).  Returns a new buffer.
 */
char	*crlf_normalize(const char *, size_t, size_t *outlenp);
/* True when crlf_normalize() would change nothing. */
int	 crlf_is_normal(const char *, size_t);

/*
 * Decodes the UTF-8 character at s[*ip] into *cp and advances *ip; -1
 * for what RFC 3629 3 forbids: overlong forms, UTF-16 surrogates, more
 * than U+10FFFF, a cut sequence.
 */
int	 utf8_decode(const unsigned char *s, size_t len, size_t *ip,
	    uint32_t *cp);
/* True if s is well-formed UTF-8 without NUL. */
int	 utf8_is_valid(const char *s, size_t len);

/* Strict decimal parsing: the whole string, no sign, no overflow. */
int	 parse_u64(const char *, uint64_t max, uint64_t *);

/* "2026-11-27T13:34:51Z" into buf (at least 21 bytes). */
char	*time_iso8601(time_t, char *buf, size_t);
/* Parses that form, a plain epoch number, or "+Nd"/"+Ns" relative to now. */
int	 time_parse(const char *, time_t now, time_t *);
/* Milliseconds of CLOCK_MONOTONIC: for intervals, never for dates. */
uint64_t time_mono_ms(void);

#endif
