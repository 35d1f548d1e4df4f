/*
 * check_spool.c: unit tests of common/spool.h, the encrypted temporary
 * file a large literal waits in.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "spool.h"
#include "check-util.h"

Suite	*spool_suite(void);

static char	dir[] = "/tmp/check_spool.XXXXXX";

static void
setup(void)
{
	ck_assert_int_ne(sodium_init(), -1);
	strcpy(dir, "/tmp/check_spool.XXXXXX");
	check_util_tmpdir(dir);
}

static void
teardown(void)
{
	check_util_rm_rf(dir);
}

/* Entries of the directory besides . and .. */
static int
dir_entries(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The descriptor of the spool's (deleted) file, found in /proc. */
static int
spool_fd_of_test(void)
{
	char	 link[64], target[PATH_MAX];
	ssize_t	 n;
	int	 fd;

	for (fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, target, sizeof(target) - 1)) == -1)
			continue;
		target[n] = '\0';
		if (strstr(target, "/.spool-") != NULL)
			return fd;
	}
	return -1;
}

/* The spool's file as it is on disk. */
static uint8_t *
file_bytes(size_t *lenp)
{
	struct stat	 sb;
	uint8_t		*b;
	int		 fd;

	ck_assert_int_ne(fd = spool_fd_of_test(), -1);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_ptr_nonnull(b = malloc((size_t)sb.st_size + 1));
	ck_assert_int_eq(pread(fd, b, (size_t)sb.st_size, 0), sb.st_size);
	*lenp = (size_t)sb.st_size;
	return b;
}

/* Written in uneven pieces, read back whole, for sizes around chunks. */
START_TEST(test_roundtrip)
{
	static const size_t	 sizes[] = { 0, 1, SPOOL_CHUNK - 1, SPOOL_CHUNK,
				    SPOOL_CHUNK + 1, 3 * SPOOL_CHUNK + 17 };
	struct spool		*sp;
	uint8_t			*in, *out;
	size_t			 len = sizes[_i], off, n, outlen;

	ck_assert_ptr_nonnull(in = malloc(len + 1));
	randombytes_buf(in, len);
	ck_assert_ptr_nonnull(sp = spool_new(dir));
	for (off = 0; off < len; off += n) {
		n = 1 + randombytes_uniform(9000);
		if (n > len - off)
			n = len - off;
		ck_assert_int_eq(spool_write(sp, in + off, n), 0);
	}
	ck_assert_uint_eq(spool_size(sp), len);
	ck_assert_int_eq(spool_read_all(sp, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, len);
	if (len > 0)
		ck_assert_mem_eq(out, in, len);
	free(out);
	/* Once only, and nothing more to write after it. */
	ck_assert_int_eq(spool_read_all(sp, &out, &outlen), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(spool_write(sp, "x", 1), -1);
	spool_free(&sp);
	ck_assert_ptr_null(sp);
	free(in);
}
END_TEST

/* Nothing in the directory, nothing in clear in the file. */
START_TEST(test_unlinked_and_sealed)
{
	static const char	 marker[] = "marker-in-clear-Zq7";
	struct spool		*sp;
	uint8_t			*disk, *out;
	size_t			 i, disklen, outlen;

	ck_assert_ptr_nonnull(sp = spool_new(dir));
	ck_assert_int_eq(dir_entries(dir), 0);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(spool_write(sp, marker, sizeof(marker) - 1), 0);
	disk = file_bytes(&disklen);
	ck_assert_uint_ge(disklen, 2 * SPOOL_CHUNK);
	ck_assert_ptr_null(memmem(disk, disklen, marker, sizeof(marker) - 1));
	free(disk);
	ck_assert_int_eq(spool_read_all(sp, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, 10000 * (sizeof(marker) - 1));
	ck_assert_ptr_nonnull(memmem(out, outlen, marker, sizeof(marker) - 1));
	free(out);
	spool_free(&sp);
	ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

/* One byte changed on disk: the read fails, and says EIO. */
START_TEST(test_tampered)
{
	struct spool	*sp;
	static uint8_t	 sentinel[1];
	uint8_t		 buf[3 * 1000], *out = sentinel, b;
	size_t		 outlen = 7;
	off_t		 at = (off_t)(_i == 0 ? 30 : SPOOL_CHUNK + 40);
	int		 fd;

	memset(buf, 'a', sizeof(buf));
	ck_assert_ptr_nonnull(sp = spool_new(dir));
	while (spool_size(sp) < 2 * SPOOL_CHUNK)
		ck_assert_int_eq(spool_write(sp, buf, sizeof(buf)), 0);
	ck_assert_int_ne(fd = spool_fd_of_test(), -1);
	ck_assert_int_eq(pread(fd, &b, 1, at), 1);
	b ^= 0x01;
	ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
	ck_assert_int_eq(spool_read_all(sp, &out, &outlen), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(outlen, 0);
	spool_free(&sp);
}
END_TEST

/* A directory that is not there: NULL and the reason. */
START_TEST(test_no_dir)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_ptr_null(spool_new(path));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

Suite *
spool_suite(void)
{
	Suite	*s = suite_create("spool");
	TCase	*tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_roundtrip, 0, 6);
	tcase_add_test(tc, test_unlinked_and_sealed);
	tcase_add_loop_test(tc, test_tampered, 0, 2);
	tcase_add_test(tc, test_no_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(spool_suite());
}
