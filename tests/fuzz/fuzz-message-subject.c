/*
 * fuzz-message-subject.c: libFuzzer target for RFC 5256 base subjects.
 *
 * Whatever the input, the result holds no NUL, is no longer than the
 * decoded input could make it, and is a fixed point: the base subject of
 * a base subject that was no reply is itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message-subject.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*base, *again;
	int	 refwd, refwd2;

	base = message_subject_base((const char *)data, size, &refwd);
	/* Encoded words never grow more than 4 times (UTF-8 of a byte). */
	if (strlen(base) > size * 4)
		abort();
	/* No encoded word is left to decode in ASCII-only text. */
	if (strstr(base, "=?") == NULL) {
		again = message_subject_base(base, strlen(base), &refwd2);
		if (strcmp(again, base) != 0 || refwd2 != 0)
			abort();
		free(again);
	}
	free(base);
	return 0;
}
