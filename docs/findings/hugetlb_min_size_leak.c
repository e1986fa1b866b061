// SPDX-License-Identifier: GPL-2.0
/*
 * hugetlb reservations, one test per line of this trace (hugelab export-c --kselftest):
 *   pool 3
 *   mount q size=4 min_size=2
 *   file f on q
 *   fallocate f 0 4
 * After each line HugePages_* (and statfs of each size= mount, in huge pages) must read what hugelab's model of
 * linux-6.12 computes; last, the pool must be bare once everything is gone.
 * Linux 6.15+ can keep a min_size mount's reservations until reboot: it runs only
 * with --may-leak, on a throw-away machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "kselftest.h"

struct pages { long size, free; };	/* statfs of a size= mount, in huge pages */
struct expect {
	const char *outcome;	/* "ok", an errno name, SIGBUS, SIGSEGV or "skipped" */
	unsigned long total, free, rsvd, surp;	/* HugePages_* after the line */
	struct pages q;	/* mount q */
};

static unsigned long hpage;
static int fd_f = -1;	/* file f */

static unsigned long meminfo(const char *field)
{
	char line[128];
	unsigned long value = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			value = strtoul(line + strlen(field), NULL, 10);
	if (f)
		fclose(f);
	return value;
}

static unsigned long sysctl(const char *name, long value)	/* the old value; value < 0: only read */
{
	char path[64];
	unsigned long old = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/vm/%s", name);
	if (!(f = fopen(path, "r")) || fscanf(f, "%lu", &old) != 1 || fclose(f) ||
	    (value >= 0 && (!(f = fopen(path, "w")) || fprintf(f, "%ld\n", value) < 0 || fclose(f))))
		ksft_exit_fail_msg("%s: %s\n", path, strerror(errno));
	return old;
}

static const char *outcome(int ret)
{
	return ret < 0 ? strerrorname_np(errno) : "ok";
}

static int mounted(const char *mount, struct pages *pages)	/* one of the trace's mounts, now? */
{
	struct statfs st;

	if (statfs(mount, &st) || st.f_type != 0x958458f6)	/* HUGETLBFS_MAGIC */
		return 0;
	if (pages)
		*pages = (struct pages){ st.f_blocks, st.f_bfree };
	return 1;
}

static const char *do_mount(const char *dir, long size, long min_size)	/* in huge pages; -1: not given */
{
	char options[64] = "";

	if (size >= 0)
		snprintf(options, sizeof(options), "size=%lu,", size * hpage);
	if (min_size >= 0)
		snprintf(options + strlen(options), 32, "min_size=%lu", min_size * hpage);
	return outcome(mkdir(dir, 0700) && errno != EEXIST ? -1 : mount("none", dir, "hugetlbfs", 0, options));
}

static const char *do_file(int *fd, const char *mount, const char *name)
{
	char path[256];

	if (!mounted(mount, NULL))
		return "skipped";
	snprintf(path, sizeof(path), "%s/%s", mount, name);
	return outcome(*fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600));
}

static void check(const char *line, const char *got, struct expect want)
{
	unsigned long total = meminfo("HugePages_Total:"), free = meminfo("HugePages_Free:");
	unsigned long rsvd = meminfo("HugePages_Rsvd:"), surp = meminfo("HugePages_Surp:");
	struct pages q = { 0, 0 };
	mounted("q", &q);
	int same = !strcmp(got, want.outcome) && total == want.total && free == want.free &&
		   rsvd == want.rsvd && surp == want.surp &&
		   q.size == want.q.size && q.free == want.q.free;

	ksft_test_result(same, "%s: %s, Total %lu Free %lu Rsvd %lu Surp %lu, q %ld free of %ld\n", line, got,
			 total, free, rsvd, surp, q.free, q.size);
	if (!same)
		ksft_print_msg("expected %s, Total %lu Free %lu Rsvd %lu Surp %lu, q %ld free of %ld\n", want.outcome,
			       want.total, want.free, want.rsvd, want.surp, want.q.free, want.q.size);
}

int main(int argc, char **argv)
{
	char root[] = "/tmp/hugetlb-test-XXXXXX";
	unsigned long nr, overcommit;

	ksft_print_header();
	if (argc < 2 || strcmp(argv[1], "--may-leak"))
		ksft_exit_skip("line 2 mounts with min_size=: Linux 6.15+ can keep its reservations until reboot; "
			       "run with --may-leak, on a throw-away machine only\n");
	if (geteuid())
		ksft_exit_skip("needs root (it sets vm.nr_hugepages)\n");
	hpage = meminfo("Hugepagesize:") * 1024;
	if (!hpage || meminfo("HugePages_Total:") != meminfo("HugePages_Free:") ||
	    meminfo("HugePages_Rsvd:") || meminfo("HugePages_Surp:"))
		ksft_exit_skip("needs hugetlb and an idle huge page pool\n");
	if (3UL * hpage / 1024 > meminfo("MemAvailable:") / 4)
		ksft_exit_skip("the trace's pool is more than a quarter of MemAvailable\n");
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || !mkdtemp(root) ||
	    mount("none", root, "tmpfs", 0, "mode=0700") || chdir(root))	/* the mounts go in there */
		ksft_exit_skip("cannot make a private mount namespace: %s\n", strerror(errno));
	nr = sysctl("nr_hugepages", -1);
	overcommit = sysctl("nr_overcommit_hugepages", -1);
	ksft_set_plan(5);

	check("pool 3", (sysctl("nr_overcommit_hugepages", 0), sysctl("nr_hugepages", 3), "ok"),
	      (struct expect){ .outcome = "ok", .total = 3, .free = 3, .rsvd = 0, .surp = 0 });
	check("mount q size=4 min_size=2", do_mount("q", 4, 2),
	      (struct expect){ .outcome = "ok", .total = 3, .free = 3, .rsvd = 2, .surp = 0, .q = { 4, 4 } });
	check("file f on q", do_file(&fd_f, "q", "f"),
	      (struct expect){ .outcome = "ok", .total = 3, .free = 3, .rsvd = 2, .surp = 0, .q = { 4, 4 } });
	check("fallocate f 0 4", (fd_f == -1 ? "skipped" : outcome(fallocate(fd_f, 0, 0UL * hpage, 4UL * hpage))),
	      (struct expect){ .outcome = "ENOSPC", .total = 3, .free = 0, .rsvd = 0, .surp = 0, .q = { 4, 1 } });
	/* everything the trace made goes, the pool is emptied: nothing may stay reserved */
	if (fd_f >= 0)
		close(fd_f);
	umount("q");
	sysctl("nr_overcommit_hugepages", 0);
	sysctl("nr_hugepages", 0);
	check("all gone, pool 0", "ok", (struct expect){ .outcome = "ok" });
	sysctl("nr_overcommit_hugepages", overcommit);
	sysctl("nr_hugepages", nr);
	ksft_finished();
}
