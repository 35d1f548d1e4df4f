/*
 * check-util.h: what every Check program in tests/ shares: running a
 * suite (check_util_run, the body of each main()), and a temporary
 * directory that goes away with everything in it.
 */
#ifndef CHECK_UTIL_H
#define CHECK_UTIL_H

#include <check.h>

/* Runs every test of s (which it frees); EXIT_SUCCESS if none failed. */
int	check_util_run(Suite *s);

/*
 * Makes a fresh directory from template (mkdtemp(3): it ends in XXXXXX
 * and is overwritten with the name); fails the test if it cannot.
 */
void	check_util_tmpdir(char *template);

/* Removes path and everything under it; what is gone already is fine. */
void	check_util_rm_rf(const char *path);

#endif
