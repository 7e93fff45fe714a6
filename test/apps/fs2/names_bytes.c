/*
 * File names are bytes: every byte but '/' and NUL may be in a name, as on
 * Linux, whatever the encoding (here Latin-1 and stray UTF-8 bytes).
 * Create, stat, open, rename, link, symlink targets, readlink, getdents,
 * getcwd and /proc/self/fd and /proc/self/cwd links all keep the bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int dir_has(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, name) == 0)
			found = 1;
	closedir(d);
	return found;
}

int main(void)
{
	char dir[] = "/tmp/names_bytes_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(chdir(dir) == 0, "chdir to the test directory");

	const char latin1[] = "lat\xe9";            /* "laté" in Latin-1 */
	const char stray[] = "\x80\xff\xfe\x01\x7f"; /* not UTF-8, control bytes */
	const char moved[] = "moved\xe9\xe8";

	int fd = open(latin1, O_CREAT | O_WRONLY | O_EXCL, 0644);
	CHECK(fd >= 0, "create a Latin-1 name");
	CHECK(write(fd, "x", 1) == 1, "write to it");
	close(fd);
	struct stat st;
	CHECK(stat(latin1, &st) == 0 && st.st_size == 1, "stat it");
	CHECK(dir_has(".", latin1), "getdents lists it byte for byte");
	CHECK_ERRNO(open("lat\xe8", O_RDONLY), ENOENT, "another byte is another name");

	fd = open(stray, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0, "create a name of stray bytes");
	char fdlink[64], target[256];
	snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(fdlink, target, sizeof target - 1);
	if (n >= 0)
		target[n] = 0;
	char want[256];
	snprintf(want, sizeof want, "%s/%s", dir, stray);
	CHECK(n >= 0 && strcmp(target, want) == 0, "/proc/self/fd link keeps the bytes");
	close(fd);

	CHECK(rename(latin1, moved) == 0, "rename to another non-UTF-8 name");
	CHECK(access(moved, F_OK) == 0 && access(latin1, F_OK) == -1, "the new name only");
	CHECK(link(moved, latin1) == 0, "hard link with a Latin-1 name");
	CHECK(stat(latin1, &st) == 0 && st.st_nlink == 2, "two links");
	CHECK(unlink(latin1) == 0, "unlink the Latin-1 name");

	CHECK(symlink(moved, "sym") == 0, "symlink to a non-UTF-8 target");
	n = readlink("sym", target, sizeof target);
	CHECK(n == (ssize_t)strlen(moved) && memcmp(target, moved, n) == 0,
	      "readlink gives the target's bytes");
	CHECK(stat("sym", &st) == 0 && st.st_size == 1, "the link is followed");
	CHECK(symlink("\xff", stray) == -1 && errno == EEXIST, "symlink over a name: EEXIST");

	CHECK(mkdir(latin1, 0755) == 0, "mkdir with a Latin-1 name");
	CHECK(chdir(latin1) == 0, "chdir into it");
	char cwd[512];
	snprintf(want, sizeof want, "%s/%s", dir, latin1);
	CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, want) == 0, "getcwd gives the bytes");
	n = readlink("/proc/self/cwd", target, sizeof target - 1);
	if (n >= 0)
		target[n] = 0;
	CHECK(n >= 0 && strcmp(target, want) == 0, "/proc/self/cwd gives the bytes");
	CHECK(chdir("..") == 0, "back up");
	CHECK(rmdir(latin1) == 0, "rmdir it");

	/* A Unix socket bound at a Latin-1 path. */
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock\xe9", dir);
	CHECK(bind(srv, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(srv, 1) == 0,
	      "bind a socket at a Latin-1 path");
	CHECK(lstat("sock\xe9", &st) == 0 && S_ISSOCK(st.st_mode), "the socket inode is there");
	int cli = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(cli, (struct sockaddr *)&sa, sizeof sa) == 0, "connect to it");
	struct sockaddr_un got;
	socklen_t len = sizeof got;
	CHECK(getsockname(srv, (struct sockaddr *)&got, &len) == 0 &&
		      strcmp(got.sun_path, sa.sun_path) == 0,
	      "getsockname gives the bytes");
	close(cli);
	close(srv);
	unlink("sock\xe9");

	/* A script at a Latin-1 path runs, and sees its name as given. */
	fd = open("run\xe9", O_CREAT | O_WRONLY, 0755);
	const char script[] = "#!/bin/sh\nexit 7\n";
	CHECK(fd >= 0 && write(fd, script, sizeof script - 1) == (ssize_t)(sizeof script - 1),
	      "a script with a Latin-1 name");
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { "run\xe9", NULL };
		execv("./run\xe9", args);
		_exit(127);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7,
	      "execve of it runs it (status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	unlink("run\xe9");

	CHECK_ERRNO(open("a\nb/c", O_RDONLY), ENOENT, "a newline is an ordinary byte");
	fd = open("a\nb", O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0, "a name with a newline");
	close(fd);

	unlink("a\nb");
	unlink("sym");
	unlink(moved);
	unlink(stray);
	CHECK(chdir("/") == 0 && rmdir(dir) == 0, "the directory was emptied");
	return check_exit();
}
