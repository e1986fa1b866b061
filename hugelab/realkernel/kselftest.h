/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest helpers a test from "hugelab export-c --kselftest" uses, for building it
 * outside the kernel's tree (cc -I DIR, DIR holding this file). hugelab's own small
 * version of tools/testing/selftests/kselftest.h's interface: the same names, the same
 * TAP 13 output and the same exit codes (0 pass, 1 fail, 4 skip). In the kernel's tree
 * the test includes the real one.
 */
#ifndef HUGELAB_KSELFTEST_H
#define HUGELAB_KSELFTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

static unsigned int ksft_plan, ksft_pass, ksft_fail;

static inline unsigned int ksft_test_num(void)
{
	return ksft_pass + ksft_fail;
}

static inline void ksft_print_header(void)
{
	printf("TAP version 13\n");
	fflush(stdout);
}

static inline void ksft_set_plan(unsigned int plan)
{
	ksft_plan = plan;
	printf("1..%u\n", plan);
	fflush(stdout);
}

static inline void ksft_print_msg(const char *msg, ...)
{
	va_list args;

	va_start(args, msg);
	printf("# ");
	vprintf(msg, args);
	va_end(args);
	fflush(stdout);
}

static inline void ksft_test_result(int pass, const char *msg, ...)
{
	va_list args;

	pass ? ksft_pass++ : ksft_fail++;
	va_start(args, msg);
	printf("%s %u ", pass ? "ok" : "not ok", ksft_test_num());
	vprintf(msg, args);
	va_end(args);
	fflush(stdout);
}

static inline void ksft_exit_skip(const char *msg, ...)
{
	va_list args;

	va_start(args, msg);
	if (ksft_plan || ksft_test_num())
		printf("ok %u # SKIP ", ksft_test_num() + 1);
	else
		printf("1..0 # SKIP ");
	vprintf(msg, args);
	va_end(args);
	fflush(stdout);
	exit(KSFT_SKIP);
}

static inline void ksft_exit_fail_msg(const char *msg, ...)
{
	va_list args;

	va_start(args, msg);
	printf("Bail out! ");
	vprintf(msg, args);
	va_end(args);
	fflush(stdout);
	exit(KSFT_FAIL);
}

static inline void ksft_finished(void)
{
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n", ksft_pass, ksft_fail);
	fflush(stdout);
	exit(ksft_fail || ksft_test_num() != ksft_plan ? KSFT_FAIL : KSFT_PASS);
}

#endif
