/*
 * mime-encode.c: RFC 2047 encoded-words for header text that is not
 * plain ASCII (a Subject or display name of UTF-8).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "mime-encode.h"
#include "pack.h"

/*
 * RFC 2047 2: an encoded-word is at most 75 characters; "=?UTF-8?B?" and
 * "?=" take 12, and 45 bytes are 60 characters of base64.
 */
#define MIME_EW_BYTES	45

int
mime_text_is_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x7f || ((unsigned char)*s < 0x20 &&
		    *s != '\t'))
			return 0;
	return 1;
}

void
mime_encode_words(struct pack *out, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), n;
	char			 b64[sodium_base64_ENCODED_LEN(MIME_EW_BYTES,
				    sodium_base64_VARIANT_ORIGINAL)];
	int			 first = 1;

	while (len > 0) {
		n = len < MIME_EW_BYTES ? len : MIME_EW_BYTES;
		/* Back to the start of a UTF-8 sequence, if s is UTF-8. */
		while (n < len && n > 0 && (p[n] & 0xc0) == 0x80)
			n--;
		if (n == 0)	/* 45 continuation bytes: not UTF-8 at all */
			n = MIME_EW_BYTES;
		sodium_bin2base64(b64, sizeof(b64), p, n,
		    sodium_base64_VARIANT_ORIGINAL);
		if (!first)
			pack_raw(out, "\r\n ", 3);
		pack_raw(out, "=?UTF-8?B?", 10);
		pack_raw(out, b64, strlen(b64));
		pack_raw(out, "?=", 2);
		first = 0;
		p += n;
		len -= n;
	}
}
