/*
 * Guest paths for test programs that run other test programs.
 *
 * In the guest the test tree is at /test/. On a Linux host it is at
 * OUT/test/, so a program that execs /test/proc/helper_exit must really exec
 * OUT/test/proc/helper_exit there. The prefix (OUT, or "" in the guest) is
 * taken from argv[0], which the runner always gives as an absolute path:
 * everything before the last "/test/" in it. If argv[0] has no "/test/",
 * /proc/self/exe is tried.
 *
 *   guest_root_init(argv[0]);             once, first thing in main()
 *   guest_path("/test/proc/helper_exit")  the real path (static buffer; a
 *                                         few results stay valid at once)
 *   guest_root()                          the prefix ("" in the guest)
 */
#ifndef TEST_APPS_GUESTPATH_H
#define TEST_APPS_GUESTPATH_H

#include <string.h>
#include <unistd.h>

static char guest_root_[1024];

__attribute__((unused))
static void guest_root_init(const char *argv0)
{
	char exe[1024];
	const char *s = argv0 ? argv0 : "";
	const char *last = NULL;

	if (s[0] != '/' || !strstr(s, "/test/")) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			s = exe;
		}
	}
	for (const char *q = strstr(s, "/test/"); q; q = strstr(q + 1, "/test/"))
		last = q;
	guest_root_[0] = '\0';
	if (last && (size_t)(last - s) < sizeof(guest_root_)) {
		memcpy(guest_root_, s, (size_t)(last - s));
		guest_root_[last - s] = '\0';
	}
}

__attribute__((unused))
static const char *guest_root(void)
{
	return guest_root_;
}

/* Maps a path starting with /test/ into the real tree; others unchanged. */
/* noinline: keeps its locals out of callers that use vfork(). */
__attribute__((unused, noinline))
static const char *guest_path(const char *path)
{
	static char bufs[8][1100];
	static unsigned next;
	char *b;

	if (strncmp(path, "/test/", 6) != 0 || !guest_root_[0])
		return path;
	b = bufs[next++ % 8];
	strcpy(b, guest_root_);
	strncat(b, path, sizeof(bufs[0]) - strlen(b) - 1);
	return b;
}

#endif /* TEST_APPS_GUESTPATH_H */
