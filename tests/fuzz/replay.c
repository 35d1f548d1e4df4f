/*
 * replay.c: runs a libFuzzer target's entry point over files, without
 * libFuzzer, so that `make check` replays every seed and every input that
 * once crashed (tests/fuzz/regress/) on every build, sanitizers included.
 * Usage: replay-TARGET FILE|DIR...
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
replay_file(const char *path)
{
	char	*buf;
	size_t	 len;

	if (file_read_all(path, 64 * 1024 * 1024, &buf, &len) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	return 0;
}

static int
replay_path(const char *path, int *n)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		 sub[4096];
	int		 ret = 0;

	if (stat(path, &st) == -1) {
		/* A target may have no regressions yet. */
		return errno == ENOENT ? 0 : -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return replay_file(path);
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay_path(sub, n) == -1)
			ret = -1;
	}
	closedir(d);
	return ret;
}

int
main(int argc, char *argv[])
{
	int	 i, n = 0, ret = 0;

	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &n) == -1)
			ret = 1;
	printf("replayed %d inputs\n", n);
	return ret;
}
