/*
 * Directory races: several processes change and read the same directories
 * at once for a few seconds, with preemption landing anywhere in the
 * kernel's directory code. Once, a stat of a directory (its attributes,
 * then its entries) and a mkdir in it (its entries, then its link count)
 * took the two locks in opposite orders and deadlocked, and every later
 * lookup through that directory hung unkillably. Concurrent renames of two
 * directories into each other must never make a cycle cut off from the
 * tree, and a rename must never lose or duplicate an entry.
 *
 *   dir_races [SECONDS]
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char top[64];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void path(char *buf, const char *rel)
{
	snprintf(buf, 256, "%s/%s", top, rel);
}

/* The worker's loop body; each ignores its errors (the races make many). */
static void step(int kind, long i)
{
	char a[256], b[256], c[256];
	struct stat st;

	switch (kind) {
	case 0: /* mkdir and rmdir in a (entries, then link count) */
		path(a, "a/x");
		mkdir(a, 0755);
		rmdir(a);
		break;
	case 1: { /* the attributes and entries of a, in the other order */
		path(a, "a");
		stat(a, &st);
		path(b, "a/x");
		stat(b, &st);
		DIR *d = opendir(a);
		if (d) {
			while (readdir(d))
				;
			closedir(d);
		}
		break;
	}
	case 2: /* p into q and back */
		path(a, "p");
		path(b, "q/p");
		if (rename(a, b) == 0)
			rename(b, a);
		break;
	case 3: /* q into p and back: with case 2, a cycle if unserialised */
		path(a, "q");
		path(b, "p/q");
		if (rename(a, b) == 0)
			rename(b, a);
		break;
	case 4: /* files: create, link, rename over each other, unlink */
		path(a, "a/f");
		path(b, "a/g");
		path(c, "b/h");
		close(open(a, O_CREAT | O_WRONLY, 0644));
		link(a, c);
		rename(a, b);
		rename(c, a);
		if (i & 1)
			unlink(b);
		break;
	case 5: /* a directory between a and b, and over an empty one */
		path(a, "a/m");
		path(b, "b/m");
		mkdir(a, 0755);
		rename(a, b);
		mkdir(a, 0755);
		rename(b, a);
		rmdir(a);
		break;
	}
}

/* Counts the directories under dir, checking each one's link count
 * (2 plus its subdirectories, as on Linux). */
static int walk(const char *dir, int *bad_links, int *found_p, int *found_q)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int subdirs = 0, total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[512];
		struct stat st;
		snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
		if (lstat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		subdirs++;
		if (!strcmp(e->d_name, "p"))
			(*found_p)++;
		if (!strcmp(e->d_name, "q"))
			(*found_q)++;
		total += 1 + walk(sub, bad_links, found_p, found_q);
	}
	closedir(d);
	struct stat st;
	if (stat(dir, &st) == 0 && st.st_nlink != (nlink_t)(2 + subdirs)) {
		printf("info: %s has %lu links and %d subdirectories\n", dir,
		       (unsigned long)st.st_nlink, subdirs);
		(*bad_links)++;
	}
	return total;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[512];
		struct stat st;
		snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			remove_tree(sub);
			rmdir(sub);
		} else {
			unlink(sub);
		}
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 4;
	enum { KINDS = 6, PER_KIND = 2 };
	pid_t pids[KINDS * PER_KIND];
	char p[256];

	snprintf(top, sizeof top, "/tmp/dir_races.%d", getpid());
	CHECK(mkdir(top, 0755) == 0, "mkdir %s", top);
	const char *dirs[] = { "a", "b", "p", "q" };
	for (int i = 0; i < 4; i++) {
		path(p, dirs[i]);
		mkdir(p, 0755);
	}

	for (int i = 0; i < KINDS * PER_KIND; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			double end = now() + seconds;
			for (long n = 0; now() < end; n++)
				step(i % KINDS, n);
			_exit(0);
		}
	}
	/* The workers must finish: a deadlock leaves them stuck in the kernel.
	 * Poll for a generous while, then report and kill them. */
	int left = KINDS * PER_KIND, clean = 0;
	double deadline = now() + seconds + 60;
	while (left > 0 && now() < deadline) {
		int status;
		pid_t r = waitpid(-1, &status, WNOHANG);
		if (r > 0) {
			left--;
			clean += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		} else {
			usleep(20000);
		}
	}
	CHECK(left == 0, "all %d workers finished (%d still in the kernel)", KINDS * PER_KIND,
	      left);
	if (left > 0) {
		for (int i = 0; i < KINDS * PER_KIND; i++)
			kill(pids[i], SIGKILL);
		return check_exit();
	}
	CHECK(clean == KINDS * PER_KIND, "every worker exited normally");

	int bad_links = 0, found_p = 0, found_q = 0;
	walk(top, &bad_links, &found_p, &found_q);
	CHECK(found_p == 1 && found_q == 1, "p and q are each in the tree once (%d, %d)", found_p,
	      found_q);
	CHECK(bad_links == 0, "every directory's link count is 2 + its subdirectories");
	remove_tree(top);
	CHECK(rmdir(top) == 0, "the emptied tree is removed");
	return check_exit();
}
