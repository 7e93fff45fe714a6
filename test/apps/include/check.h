/*
 * Tiny self-checking helpers for the test apps.
 *
 * Header-only and dependency-free: works with musl and glibc, static or PIE.
 * Every line is flushed right away so that the output survives if the
 * program is later killed by a signal.
 *
 *   CHECK(cond, fmt, ...)      prints "ok: <msg>" or "FAIL: <msg> (errno=N ...)"
 *   CHECK_ERRNO(expr, E, fmt, ...)
 *                              expr (an integer/long expression, e.g. a
 *                              syscall) must yield -1 with errno == E
 *   INFO(fmt, ...)             prints "info: <msg>" (never fails)
 *   check_exit()               prints a summary; returns 0 if every check
 *                              held, else 1 (use as `return check_exit();`)
 */
#ifndef TEST_APPS_CHECK_H
#define TEST_APPS_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_total_;
static int check_failed_;

__attribute__((format(printf, 3, 4), unused))
static void check_report_(int ok, int err, const char *fmt, ...)
{
	va_list ap;

	check_total_++;
	if (!ok)
		check_failed_++;
	fputs(ok ? "ok: " : "FAIL: ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	if (!ok)
		fprintf(stdout, " (errno=%d %s)", err, strerror(err));
	fputc('\n', stdout);
	fflush(stdout);
}

/* errno is sampled right after cond is evaluated, before any printing. */
#define CHECK(cond, ...)                                        \
	do {                                                    \
		int check_ok_ = !!(cond);                       \
		int check_errno_ = errno;                       \
		check_report_(check_ok_, check_errno_, __VA_ARGS__); \
	} while (0)

#define CHECK_ERRNO(expr, expected_errno, ...)                  \
	do {                                                    \
		long check_ret_;                                \
		int check_errno_;                               \
		errno = 0;                                      \
		check_ret_ = (long)(expr);                      \
		check_errno_ = errno;                           \
		if (check_ret_ != -1)                           \
			fprintf(stdout, "  (returned %ld, expected -1)\n", check_ret_); \
		check_report_(check_ret_ == -1 && check_errno_ == (expected_errno), \
			      check_errno_, __VA_ARGS__);       \
	} while (0)

#define INFO(...)                                               \
	do {                                                    \
		fputs("info: ", stdout);                        \
		fprintf(stdout, __VA_ARGS__);                   \
		fputc('\n', stdout);                            \
		fflush(stdout);                                 \
	} while (0)

__attribute__((unused))
static int check_exit(void)
{
	if (check_failed_)
		fprintf(stdout, "%d of %d checks FAILED\n", check_failed_, check_total_);
	else
		fprintf(stdout, "all %d checks ok\n", check_total_);
	fflush(stdout);
	return check_failed_ ? 1 : 0;
}

#endif /* TEST_APPS_CHECK_H */
