/*
 * fuzz-mutf7.c: modified UTF-7 (RFC 3501 5.1.3).  What decodes must
 * encode back to the same wire form (the decoder accepts only canonical
 * encodings), and what we encode must decode back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*in, *utf8, *wire, *back;
	const char	*why;

	in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	if ((utf8 = mutf7_decode(in, &why)) != NULL) {
		wire = mutf7_encode(utf8);
		if (strlen(in) == size && strcmp(wire, in) != 0)
			abort();
		free(wire);
		free(utf8);
	}
	/* The input as a UTF-8 name: encoding then decoding gives it back. */
	wire = mutf7_encode(in);
	if ((back = mutf7_decode(wire, &why)) != NULL) {
		if (strcmp(back, in) != 0 && strstr(back, "\xef\xbf\xbd") == NULL)
			abort();
		free(back);
	}
	free(wire);
	free(in);
	return 0;
}
