/*
 * CPU affinity is obeyed on every CPU:
 *   - one thread per CPU pins itself there (sched_setaffinity(0) in the
 *     thread acts on that thread only) and, for 300 ms of spinning, always
 *     finds itself on it with sched_getcpu; its sched_getaffinity shows
 *     that CPU alone while the main thread's mask is unchanged;
 *   - this process pins itself to CPU 1 and then back to CPU 0, and runs
 *     there as soon as the call returns;
 *   - a spinning child is moved by its parent (sched_setaffinity(pid))
 *     to CPU 0, 1 and 0 again, and its reports follow within 2 s;
 *   - the errors: an empty mask, a mask of only CPUs that do not exist
 *     (EINVAL), a bad mask pointer (EFAULT), sched_getaffinity with a
 *     size of 0 or one that is not a multiple of 8 (EINVAL).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"
#include "smputil.h"

#define SPIN_NS 300000000LL

struct pinned {
	pthread_t thread;
	int cpu;
	int pin_rc;
	int mask_is_one;
	long samples;
	long elsewhere;
	int first_elsewhere;
};

static void *pinned_spinner(void *arg)
{
	struct pinned *p = arg;
	cpu_set_t set;

	p->pin_rc = pin_self(p->cpu);
	CPU_ZERO(&set);
	p->mask_is_one = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 &&
			 CPU_ISSET(p->cpu, &set);
	p->first_elsewhere = -1;
	long long end = now_ns() + SPIN_NS;
	while (now_ns() < end) {
		int c = sched_getcpu();
		p->samples++;
		if (c != p->cpu) {
			p->elsewhere++;
			if (p->first_elsewhere < 0)
				p->first_elsewhere = c;
		}
	}
	return NULL;
}

static void threads_stay_pinned(const int *cpus, int n)
{
	struct pinned p[SMP_MAX_CPUS];
	int created = 0, pinned = 0, masks = 0, stayed = 0;
	cpu_set_t before, after;

	sched_getaffinity(0, sizeof before, &before);
	for (int i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof p[i]);
		p[i].cpu = cpus[i];
		if (pthread_create(&p[i].thread, NULL, pinned_spinner, &p[i]) == 0)
			created++;
		else
			p[i].pin_rc = -2;
	}
	for (int i = 0; i < n; i++) {
		if (p[i].pin_rc == -2)
			continue;
		pthread_join(p[i].thread, NULL);
		pinned += p[i].pin_rc == 0;
		masks += p[i].mask_is_one;
		stayed += p[i].pin_rc == 0 && p[i].samples > 0 && p[i].elsewhere == 0;
		INFO("thread on CPU %d: %ld samples, %ld elsewhere (first on %d)", p[i].cpu,
		     p[i].samples, p[i].elsewhere, p[i].first_elsewhere);
	}
	sched_getaffinity(0, sizeof after, &after);
	CHECK(created == n, "created %d threads, one per CPU", created);
	CHECK(pinned == n, "each thread pinned itself to its CPU");
	CHECK(masks == n, "each thread's sched_getaffinity shows its CPU alone");
	CHECK(stayed == n, "each thread always ran on its CPU (%d of %d)", stayed, n);
	CHECK(CPU_EQUAL(&before, &after), "the main thread's mask is unchanged (%d CPUs)",
	      CPU_COUNT(&after));
}

/* Pins this process (its only thread) to `cpu`; true if it then runs there
 * at once and for 50 ms of spinning. */
static int runs_on_after_pin(int cpu)
{
	if (pin_self(cpu) == -1)
		return 0;
	int ok = sched_getcpu() == cpu;
	long long end = now_ns() + 50000000LL;
	while (now_ns() < end)
		ok &= sched_getcpu() == cpu;
	return ok;
}

/* Waits up to 2 s for the child to report `cpu`. */
static int child_reaches(volatile int *where, int cpu)
{
	long long end = now_ns() + 2000000000LL;
	while (now_ns() < end) {
		if (*where == cpu)
			return 1;
		sched_yield();
	}
	return 0;
}

static void parent_moves_child(int cpu0, int cpu1)
{
	volatile int *where = shared_alloc(sizeof(int));
	cpu_set_t set;

	*where = -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* Bounded, in case this test is stopped before it kills the child. */
		long long end = now_ns() + 20000000000LL;
		while (now_ns() < end)
			*where = sched_getcpu();
		_exit(0);
	}
	CHECK(pid > 0, "forked a spinning child");
	if (pid <= 0)
		return;
	/* CPU 0, 1, 0: the child's reports must change each time. */
	int targets[3] = { cpu0, cpu1, cpu0 };
	for (int i = 0; i < 3; i++) {
		CPU_ZERO(&set);
		CPU_SET(targets[i], &set);
		CHECK(sched_setaffinity(pid, sizeof set, &set) == 0, "sched_setaffinity(child, {%d})",
		      targets[i]);
		CHECK(child_reaches(where, targets[i]), "the child runs on CPU %d within 2 s (reports %d)",
		      targets[i], *where);
	}
	CPU_ZERO(&set);
	CHECK(sched_getaffinity(pid, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 &&
		      CPU_ISSET(cpu0, &set),
	      "sched_getaffinity(child) is {%d}", cpu0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* `ids` is one more than the highest CPU number there is. */
static void errors(int ids)
{
	unsigned char mask[128];
	long r;

	memset(mask, 0, sizeof mask);
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, sizeof mask, mask), EINVAL,
		    "sched_setaffinity(empty mask)");
	/* CPU 1023: beyond any CPU a test machine has. */
	mask[127] = 0x80;
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, sizeof mask, mask), EINVAL,
		    "sched_setaffinity({1023}): no such CPU");
	memset(mask, 0, sizeof mask);
	for (int c = ids; c < 1024; c++)
		mask[c / 8] |= (unsigned char)(1u << (c % 8));
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, sizeof mask, mask), EINVAL,
		    "sched_setaffinity(CPUs %d..1023): none exists", ids);
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, sizeof mask, (void *)8), EFAULT,
		    "sched_setaffinity(bad pointer)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof mask, (void *)8), EFAULT,
		    "sched_getaffinity(bad pointer)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, mask), EINVAL, "sched_getaffinity(size 0)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 4, mask), EINVAL, "sched_getaffinity(size 4)");
	r = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
	CHECK(r >= 8 && r <= (long)sizeof mask && r % 8 == 0,
	      "sched_getaffinity(size 128) returns the kernel's mask size (%ld)", r);
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0x3fffffff, sizeof mask, mask), ESRCH,
		    "sched_getaffinity(no such pid)");
}

int main(void)
{
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);

	smp_watchdog(40);
	smp_need_two(n);
	errors(n ? cpus[n - 1] + 1 : 1);
	threads_stay_pinned(cpus, n);
	if (n >= 2) {
		parent_moves_child(cpus[0], cpus[1]);
		CHECK(runs_on_after_pin(cpus[1]), "pinned to CPU %d, this process runs there", cpus[1]);
		CHECK(runs_on_after_pin(cpus[0]), "re-pinned to CPU %d, it moves there", cpus[0]);
	}
	return check_exit();
}
