/*
 * check-util.c: the shared part of the Check programs (check-util.h).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check-util.h"

static int	check_util_rm_one(const char *, const struct stat *, int,
		    struct FTW *);

int
check_util_run(Suite *s)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void
check_util_tmpdir(char *template)
{
	ck_assert_msg(mkdtemp(template) != NULL, "mkdtemp %s: %s", template,
	    strerror(errno));
}

static int
check_util_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) == -1 && errno != ENOENT)
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
	return 0;
}

void
check_util_rm_rf(const char *path)
{
	nftw(path, check_util_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
