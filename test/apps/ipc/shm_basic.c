/*
 * System V shared memory in one process: shmget's keys, sizes and flags;
 * shmat at a chosen address, rounded (SHM_RND), over a mapping
 * (SHM_REMAP), read-only (SHM_RDONLY); shm_nattch counting the regions
 * (mprotect splits one into three, shmdt removes them all); shmdt's
 * errors; shmctl's IPC_STAT, IPC_SET, IPC_RMID (SHM_DEST, the key freed,
 * attaching by id still allowed), IPC_INFO, SHM_INFO, SHM_STAT(_ANY),
 * SHM_LOCK/SHM_UNLOCK; and EINVAL, ENOENT, EEXIST, ENOMEM, EACCES, EFAULT.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>

#include "ipcutil.h"

#define PAGE 4096UL
#define BAD ((void *)16)

static struct shmid_ds st(int id)
{
	struct shmid_ds ds;
	memset(&ds, 0, sizeof ds);
	if (shmctl(id, IPC_STAT, &ds) != 0)
		ds.shm_perm.mode = 0xdead;
	return ds;
}

/* A free, page-aligned range of n pages. */
static char *free_range(size_t n)
{
	char *p = mmap(NULL, n * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, n * PAGE);
	return p;
}

int main(void)
{
	ipc_isolate();
	key_t key = test_key(1);

	/* shmget */
	CHECK_ERRNO(shmget(IPC_PRIVATE, 0, 0600), EINVAL, "shmget size 0 -> EINVAL");
	CHECK_ERRNO(shmget(IPC_PRIVATE, (size_t)-1, 0600), EINVAL, "shmget size > SHMMAX -> EINVAL");
	CHECK_ERRNO(shmget(IPC_PRIVATE, 1UL << 46, 0600), ENOMEM, "shmget 64 TiB -> ENOMEM (more than memory)");
	int huge = shmget(IPC_PRIVATE, 1UL << 46, 0600 | SHM_NORESERVE);
	CHECK(huge >= 0, "... but with SHM_NORESERVE it is made");
	CHECK(shmctl(huge, IPC_RMID, NULL) == 0, "and removed");
	int id = shmget(key, 3 * PAGE - 100, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(id >= 0, "shmget(key, 3 pages - 100, IPC_CREAT|IPC_EXCL) = %d", id);
	CHECK_ERRNO(shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "again with IPC_EXCL -> EEXIST");
	CHECK(shmget(key, 0, 0) == id && shmget(key, PAGE, IPC_CREAT) == id, "the key finds it");
	CHECK_ERRNO(shmget(key, 3 * PAGE, 0), EINVAL, "asking more than its size -> EINVAL");
	CHECK_ERRNO(shmget(test_key(2), PAGE, 0600), ENOENT, "an unknown key without IPC_CREAT -> ENOENT");

	struct shmid_ds ds = st(id);
	CHECK(ds.shm_segsz == 3 * PAGE - 100, "shm_segsz %lu", (unsigned long)ds.shm_segsz);
	CHECK((ds.shm_perm.mode & 07777) == 0600 && ds.shm_perm.__key == key, "mode 0600, key");
	CHECK(ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid(), "owner and creator");
	CHECK(ds.shm_cpid == getpid() && ds.shm_lpid == 0 && ds.shm_nattch == 0,
	      "cpid is the caller, lpid 0, nattch 0");
	CHECK(ds.shm_atime == 0 && ds.shm_dtime == 0 && ds.shm_ctime > 0, "times");

	/* shmat */
	char *a = shmat(id, NULL, 0);
	CHECK(a != (void *)-1 && ((unsigned long)a % PAGE) == 0, "shmat at an address of the kernel's choice");
	CHECK(a[0] == 0 && a[3 * PAGE - 1] == 0, "a new segment reads as zeros, up to its last page");
	strcpy(a, "hello");
	a[2 * PAGE] = 'z';
	ds = st(id);
	CHECK(ds.shm_nattch == 1 && ds.shm_lpid == getpid() && ds.shm_atime > 0, "nattch 1, lpid, atime");
	char *b = shmat(id, NULL, SHM_RDONLY);
	CHECK(b != (void *)-1 && b != a && strcmp(b, "hello") == 0 && b[2 * PAGE] == 'z',
	      "a second, read-only attachment sees the same memory");
	CHECK(st(id).shm_nattch == 2, "nattch 2");
	CHECK_ERRNO(mprotect(b, PAGE, PROT_READ | PROT_WRITE), EACCES,
		    "mprotect cannot make a SHM_RDONLY attachment writable -> EACCES");
	CHECK(mprotect(a, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == 0, "... a writable one may be made executable");
	CHECK(st(id).shm_nattch == 3, "which splits it: nattch 3 (%lu)", (unsigned long)st(id).shm_nattch);
	pid_t c = fork();
	if (c == 0) {
		b[0] = 'x';
		_exit(0);
	}
	int status = wait_status(c);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "writing to it raises SIGSEGV");
	CHECK(shmdt(b) == 0 && st(id).shm_nattch == 2, "shmdt: nattch 2");
	CHECK(st(id).shm_dtime > 0, "dtime set");
	CHECK_ERRNO(shmdt(b), EINVAL, "shmdt of it again -> EINVAL");
	CHECK_ERRNO(shmdt(a + 1), EINVAL, "shmdt of an unaligned address -> EINVAL");
	CHECK_ERRNO(shmdt(a + PAGE), EINVAL, "shmdt inside an attachment -> EINVAL");
	char *anon = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK_ERRNO(shmdt(anon), EINVAL, "shmdt of a mapping that is not a segment -> EINVAL");

	/* mprotect splits the region in three: Linux counts each. */
	CHECK(mprotect(a + PAGE, PAGE, PROT_READ) == 0, "mprotect the middle page");
	CHECK(st(id).shm_nattch == 3, "nattch counts the three regions (%lu)", (unsigned long)st(id).shm_nattch);
	CHECK(shmdt(a) == 0 && st(id).shm_nattch == 0, "shmdt removes all three");
	CHECK(mprotect(a, PAGE, PROT_READ) == -1, "nothing is left mapped there");
	/* munmap of a part, then shmdt of the rest */
	a = shmat(id, NULL, 0);
	CHECK(munmap(a, PAGE) == 0 && st(id).shm_nattch == 1, "munmap of the first page leaves one region");
	CHECK_ERRNO(shmdt(a + PAGE), EINVAL, "shmdt at the rest's start (it maps from page 1, not 0) -> EINVAL");
	CHECK(shmdt(a) == 0 && st(id).shm_nattch == 0, "shmdt at the attach address finds the rest");
	a = shmat(id, NULL, 0);
	CHECK(munmap(a, 3 * PAGE) == 0 && st(id).shm_nattch == 0, "munmap detaches too");

	/* Chosen addresses */
	char *want = free_range(4);
	CHECK(shmat(id, want, 0) == want, "shmat at a free address");
	CHECK(strcmp(want, "hello") == 0, "the data is there");
	CHECK_ERRNO((long)shmat(id, want, 0), EINVAL, "shmat over an attachment without SHM_REMAP -> EINVAL");
	CHECK(shmat(id, want, SHM_REMAP) == want, "with SHM_REMAP it replaces it");
	CHECK(st(id).shm_nattch == 1, "the replaced attachment is gone (nattch 1)");
	CHECK(shmdt(want) == 0, "shmdt");
	CHECK_ERRNO((long)shmat(id, want + 100, 0), EINVAL, "an unaligned address without SHM_RND -> EINVAL");
	CHECK(shmat(id, want + 100, SHM_RND) == want, "SHM_RND rounds it down");
	CHECK(shmdt(want) == 0, "shmdt");
	CHECK_ERRNO((long)shmat(id, NULL, SHM_REMAP), EINVAL, "SHM_REMAP without an address -> EINVAL");
	CHECK_ERRNO((long)shmat(id, (void *)100, SHM_RND | SHM_REMAP), EINVAL,
		    "SHM_REMAP at an address rounded to 0 -> EINVAL");
	char *over = mmap(want, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK_ERRNO((long)shmat(id, want, 0), EINVAL, "shmat over a mapping without SHM_REMAP -> EINVAL");
	CHECK(shmat(id, over, SHM_REMAP) == over && strcmp(over, "hello") == 0, "SHM_REMAP over a mapping");
	CHECK(shmdt(over) == 0, "shmdt");
	CHECK_ERRNO((long)shmat(-1, NULL, 0), EINVAL, "shmat id -1 -> EINVAL");
	CHECK_ERRNO((long)shmat(id + 32768 * 100, NULL, 0), EINVAL, "shmat of an unused id -> EINVAL");

	/* Grown with mremap, an attachment ends where the segment does. */
	a = shmat(id, NULL, 0);
	c = fork();
	if (c == 0) {
		char *g = mremap(a, 3 * PAGE, 5 * PAGE, MREMAP_MAYMOVE);
		if (g == MAP_FAILED)
			_exit(1);
		if (g[2 * PAGE] != 'z')
			_exit(2);
		g[4 * PAGE] = 1;
		_exit(3);
	}
	status = wait_status(c);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
	      "past the segment's end, a grown attachment raises SIGBUS (status %#x)", status);
	CHECK(shmdt(a) == 0, "shmdt");

	/* IPC_SET, IPC_INFO, SHM_INFO, SHM_STAT */
	ds = st(id);
	ds.shm_perm.mode = 0644;
	CHECK(shmctl(id, IPC_SET, &ds) == 0 && (st(id).shm_perm.mode & 0777) == 0644, "IPC_SET mode 0644");
	ds.shm_perm.gid = (gid_t)-1;
	CHECK_ERRNO(shmctl(id, IPC_SET, &ds), EINVAL, "IPC_SET gid -1 -> EINVAL");
	CHECK_ERRNO(raw_shmctl(id, IPC_SET, BAD), EFAULT, "IPC_SET from a bad buffer -> EFAULT");
	CHECK_ERRNO(raw_shmctl(id, IPC_STAT, BAD), EFAULT, "IPC_STAT to a bad buffer -> EFAULT");
	struct shminfo si;
	int max_index = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	CHECK(max_index >= id % 32768, "IPC_INFO returns the highest index in use (%d)", max_index);
	CHECK(si.shmmax == (unsigned long)sysctl_read("shmmax") || sysctl_read("shmmax") == 0x7fffffffffffffffL,
	      "shmmax %lu", si.shmmax);
	CHECK(si.shmmin == 1 && si.shmmni == (unsigned long)sysctl_read("shmmni") && si.shmseg == si.shmmni,
	      "shmmin 1, shmmni %lu, shmseg", si.shmmni);
	a = shmat(id, NULL, 0);
	a[0] = 'h';
	a[PAGE] = 1;
	struct shm_info usage;
	CHECK(shmctl(0, SHM_INFO, (struct shmid_ds *)&usage) == max_index, "SHM_INFO");
	CHECK(usage.__used_ids >= 1 && usage.shm_tot >= 3 && usage.shm_rss >= 2,
	      "SHM_INFO: %d segments, %lu pages, %lu resident", usage.__used_ids, usage.shm_tot, usage.shm_rss);
	CHECK(shmctl(id % 32768, SHM_STAT, &ds) == id && ds.shm_nattch == 1, "SHM_STAT by index returns the id");
	CHECK(shmctl(id % 32768, SHM_STAT_ANY, &ds) == id, "SHM_STAT_ANY too");
	CHECK_ERRNO(shmctl(32767, SHM_STAT, &ds), EINVAL, "SHM_STAT of a free index -> EINVAL");

	/* SHM_LOCK */
	CHECK(shmctl(id, SHM_LOCK, NULL) == 0 && (st(id).shm_perm.mode & SHM_LOCKED), "SHM_LOCK sets SHM_LOCKED");
	CHECK(shmctl(id, SHM_UNLOCK, NULL) == 0 && !(st(id).shm_perm.mode & SHM_LOCKED), "SHM_UNLOCK clears it");

	/* bad commands */
	CHECK_ERRNO(raw_shmctl(id, 99, &ds), EINVAL, "shmctl command 99 -> EINVAL");
	CHECK_ERRNO(raw_shmctl(id, -1, &ds), EINVAL, "shmctl command -1 -> EINVAL");
	CHECK_ERRNO(raw_shmctl(-1, IPC_STAT, &ds), EINVAL, "shmctl id -1 -> EINVAL");

	/* IPC_RMID while attached */
	CHECK(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID while attached");
	ds = st(id);
	CHECK((ds.shm_perm.mode & SHM_DEST) && ds.shm_perm.__key == IPC_PRIVATE && ds.shm_nattch == 1,
	      "it stays, marked SHM_DEST, its key now IPC_PRIVATE (mode %o, key %#x)", ds.shm_perm.mode,
	      ds.shm_perm.__key);
	CHECK_ERRNO(shmget(key, PAGE, 0600), ENOENT, "the key no longer finds it");
	int again = shmget(key, PAGE, IPC_CREAT | 0600);
	CHECK(again >= 0 && again != id, "a new segment can take the key");
	b = shmat(id, NULL, 0);
	CHECK(b != (void *)-1 && b[0] == 'h' && st(id).shm_nattch == 2, "Linux still lets it be attached by id");
	CHECK(shmdt(b) == 0 && shmdt(a) == 0, "detach both");
	CHECK_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL, "the last detach destroyed it");
	CHECK(shmctl(again, IPC_RMID, NULL) == 0, "IPC_RMID when not attached");
	CHECK_ERRNO(shmctl(again, IPC_STAT, &ds), EINVAL, "destroyed at once");
	CHECK_ERRNO(shmctl(again, IPC_RMID, NULL), EINVAL, "IPC_RMID twice -> EINVAL");

	/* A big segment: pages come as touched, and go back with it. */
	int big = shmget(IPC_PRIVATE, 64 << 20, 0600);
	char *p = shmat(big, NULL, 0);
	CHECK(big >= 0 && p != (void *)-1, "a 64 MiB segment");
	for (size_t off = 0; off < (64 << 20); off += 1 << 20)
		p[off] = 1;
	CHECK(shmctl(0, SHM_INFO, (struct shmid_ds *)&usage) >= 0 && usage.shm_rss >= 64,
	      "64 touched pages are resident (%lu)", usage.shm_rss);
	CHECK(shmctl(big, IPC_RMID, NULL) == 0 && shmdt(p) == 0, "removed and detached");
	return check_exit();
}
