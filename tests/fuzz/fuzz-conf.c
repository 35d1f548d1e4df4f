/*
 * fuzz-conf.c: the guestbox.conf(5) parser, and that what it dumps parses
 * again to the same dump.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
dump(const struct conf *cf, size_t *lenp)
{
	char	*buf = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&buf, lenp)) == NULL)
		abort();
	conf_dump(cf, fp);
	fclose(fp);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*cf, *again;
	char		 err[256], *d1, *d2;
	size_t		 l1, l2;

	log_init("fuzz-conf", 1, 0);
	if ((cf = conf_parse("fuzz", (const char *)data, size, err,
	    sizeof(err))) == NULL) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();	/* every error names file:line */
		return 0;
	}
	d1 = dump(cf, &l1);
	if ((again = conf_parse("dump", d1, l1, err, sizeof(err))) == NULL)
		abort();
	d2 = dump(again, &l2);
	if (l1 != l2 || memcmp(d1, d2, l1) != 0)
		abort();
	free(d1);
	free(d2);
	conf_free(&again);
	conf_free(&cf);
	return 0;
}
