/*
 * fuzz-mutf7.c: libFuzzer target for modified UTF-7.
 *
 * The decoder is strict, so whatever it accepts must encode back to the
 * very same bytes; whatever UTF-8 the encoder accepts must decode back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*in = (const char *)data, *error;
	char		*dec, *enc, *back;

	if (mutf7_decode(in, size, &dec, &error) == 0) {
		if (!utf8_is_valid(dec, strlen(dec)))
			abort();
		if (mutf7_encode(dec, strlen(dec), &enc, &error) != 0)
			abort();
		if (strlen(enc) != size || memcmp(enc, in, size) != 0)
			abort();
		free(enc);
		free(dec);
	} else if (mutf7_is_valid(in, size))
		abort();

	if (mutf7_encode(in, size, &enc, &error) == 0) {
		if (!utf8_is_valid(in, size))
			abort();
		if (mutf7_decode(enc, strlen(enc), &back, &error) != 0)
			abort();
		if (strlen(back) != size || memcmp(back, in, size) != 0)
			abort();
		free(back);
		free(enc);
	} else if (size > 0 && utf8_is_valid(in, size))
		abort();
	return 0;
}
