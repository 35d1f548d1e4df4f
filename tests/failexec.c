/*
 * tests/failexec.c: an LD_PRELOAD shim that makes chosen runs of
 * "gpg --version" fail, as a fork or pipe refused on a loaded machine
 * does: the program ends at once and prints nothing.
 *
 *   GB_FAILEXEC_FILE  a file that gets one byte per run of gpg --version
 *                     (it counts runs across the processes a daemon forks)
 *   GB_FAILEXEC_RUNS  the runs that fail, counted from 1: "2" or "2,3,4"
 *
 * Built by `make check` as tests/failexec.so with no project flags: it
 * goes into processes of every build (sanitizers' included).
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
failexec_this_run(const char *path, char *const argv[])
{
	const char	*file, *runs, *base, *p;
	struct stat	 sb;
	char		*end;
	long		 n;
	int		 fd;

	if ((file = getenv("GB_FAILEXEC_FILE")) == NULL ||
	    (runs = getenv("GB_FAILEXEC_RUNS")) == NULL)
		return 0;
	base = (base = strrchr(path, '/')) != NULL ? base + 1 : path;
	if (strcmp(base, "gpg") != 0 || argv[0] == NULL || argv[1] == NULL ||
	    strcmp(argv[1], "--version") != 0)
		return 0;
	if ((fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0666)) == -1)
		return 0;
	if (write(fd, "x", 1) != 1 || fstat(fd, &sb) == -1) {
		close(fd);
		return 0;
	}
	close(fd);
	for (p = runs; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		n = strtol(p, &end, 10);
		if (end == p)
			return 0;
		if (n == (long)sb.st_size)
			return 1;
	}
	return 0;
}

int
execv(const char *path, char *const argv[])
{
	int	(*next)(const char *, char *const[]);

	if (failexec_this_run(path, argv))
		_exit(1);
	next = (int (*)(const char *, char *const[]))dlsym(RTLD_NEXT,
	    "execv");
	return next(path, argv);
}

int
execve(const char *path, char *const argv[], char *const envp[])
{
	int	(*next)(const char *, char *const[], char *const[]);

	if (failexec_this_run(path, argv))
		_exit(1);
	next = (int (*)(const char *, char *const[], char *const[]))dlsym(
	    RTLD_NEXT, "execve");
	return next(path, argv, envp);
}
