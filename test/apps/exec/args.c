/*
 * The initial process stack as built by execve(): argv, envp and the
 * auxiliary vector. Run as:  args one two three
 *
 * Built as static, static PIE, with musl and glibc. The ELF header of the
 * loaded image is found through the linker-defined __ehdr_start, which lets
 * us cross-check AT_PHDR, AT_PHNUM, AT_PHENT and AT_ENTRY against what is
 * actually mapped.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "check.h"

extern const Elf64_Ehdr __ehdr_start __attribute__((visibility("hidden")));
extern char _start[];
extern char **environ;

struct phdr_info {
	int calls;
	uintptr_t addr;
	const void *phdr;
	int phnum;
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct phdr_info *pi = data;
	if (pi->calls++ == 0) {
		pi->addr = info->dlpi_addr;
		pi->phdr = info->dlpi_phdr;
		pi->phnum = info->dlpi_phnum;
	}
	return 0;
}

/* The auxiliary vector as found on the stack (filled in by main). */
static const Elf64_auxv_t *aux_vec;
static int aux_len;
static int seen[64];

#define PRESENT(t) (seen[t])

/* Value of entry t on the stack, 0 if absent. */
static unsigned long aux(unsigned long t)
{
	for (int i = 0; i < aux_len; i++)
		if (aux_vec[i].a_type == t)
			return aux_vec[i].a_un.a_val;
	return 0;
}

static const char *base_name(const char *s)
{
	const char *slash = strrchr(s, '/');
	return slash ? slash + 1 : s;
}

int main(int argc, char **argv, char **envp)
{
	/* argv */
	CHECK(argc == 4, "argc = %d == 4", argc);
	CHECK(argv[0] && argv[0][0], "argv[0] = \"%s\" is non-empty", argv[0] ? argv[0] : "(null)");
	if (argc == 4) {
		CHECK(strcmp(argv[1], "one") == 0, "argv[1] = \"%s\"", argv[1]);
		CHECK(strcmp(argv[2], "two") == 0, "argv[2] = \"%s\"", argv[2]);
		CHECK(strcmp(argv[3], "three") == 0, "argv[3] = \"%s\"", argv[3]);
	}
	CHECK(argv[argc] == NULL, "argv[argc] is NULL");

	/* envp follows argv directly on the stack and is NULL-terminated. */
	CHECK(envp == argv + argc + 1, "envp starts right after argv's NULL");
	CHECK(environ == envp, "environ == envp");
	int nenv = 0, env_ok = 1;
	for (char **e = envp; *e; e++, nenv++)
		if (!strchr(*e, '='))
			env_ok = 0;
	CHECK(env_ok, "all %d environment entries contain '='", nenv);

	/* The auxiliary vector follows envp's NULL. */
	Elf64_auxv_t *auxv = (Elf64_auxv_t *)(envp + nenv + 1);
	int n = 0, terminated = 0;
	for (; n < 256; n++)
		if (auxv[n].a_type == AT_NULL) {
			terminated = 1;
			break;
		}
	CHECK(terminated, "auxv after envp is AT_NULL-terminated (%d entries)", n);
	int seen_ok = 1;
	for (int i = 0; terminated && i < n; i++) {
		unsigned long t = auxv[i].a_type;
		if (t < 64)
			seen[t] = 1;
		/* glibc's getauxval(AT_HWCAP/AT_HWCAP2) reports its own CPU bits. */
		if (t == AT_HWCAP || t == AT_HWCAP2)
			continue;
		if (getauxval(t) != auxv[i].a_un.a_val) {
			INFO("getauxval(%lu) = %#lx, stack has %#lx", t, getauxval(t),
			     (unsigned long)auxv[i].a_un.a_val);
			seen_ok = 0;
		}
	}
	CHECK(seen_ok, "getauxval() agrees with the auxv on the stack");
	aux_vec = auxv;
	aux_len = terminated ? n : 0;

	CHECK(PRESENT(AT_PAGESZ) && aux(AT_PAGESZ) == 4096, "AT_PAGESZ = %lu", aux(AT_PAGESZ));

	/* Program headers. */
	const Elf64_Ehdr *eh = &__ehdr_start;
	uintptr_t phdr = aux(AT_PHDR);
	unsigned long phnum = aux(AT_PHNUM), phent = aux(AT_PHENT);
	CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0, "ELF header mapped at %p", (void *)eh);
	INFO("image type %s", eh->e_type == ET_DYN ? "ET_DYN (PIE)" : "ET_EXEC");
	CHECK(PRESENT(AT_PHDR) && phdr == (uintptr_t)eh + eh->e_phoff,
	      "AT_PHDR = %#lx == ELF header + e_phoff", (unsigned long)phdr);
	CHECK(PRESENT(AT_PHENT) && phent == sizeof(Elf64_Phdr) && phent == eh->e_phentsize,
	      "AT_PHENT = %lu == 56", phent);
	CHECK(PRESENT(AT_PHNUM) && phnum == eh->e_phnum && phnum > 0,
	      "AT_PHNUM = %lu == e_phnum", phnum);

	/* Load bias: 0 for ET_EXEC, the load address for a PIE. */
	uintptr_t bias = (uintptr_t)eh;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)phdr;
	int has_interp = 0, has_load = 0;
	for (unsigned long i = 0; phdr && i < phnum; i++) {
		if (ph[i].p_type == PT_INTERP)
			has_interp = 1;
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !has_load) {
			has_load = 1;
			bias = (uintptr_t)eh - ph[i].p_vaddr;
		}
	}
	for (unsigned long i = 0; phdr && i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			CHECK(ph[i].p_vaddr + bias == phdr, "PT_PHDR p_vaddr + bias == AT_PHDR");
	CHECK(has_load, "a PT_LOAD maps the ELF header");
	CHECK(!has_interp, "no PT_INTERP (static executable)");
	if (eh->e_type == ET_EXEC)
		CHECK(bias == 0, "ET_EXEC is loaded at its link address");
	else
		CHECK(bias != 0 && (bias & 4095) == 0, "PIE load bias %#lx is nonzero and page aligned",
		      (unsigned long)bias);

	struct phdr_info pi = { 0, 0, NULL, 0 };
	dl_iterate_phdr(phdr_cb, &pi);
	CHECK(pi.calls >= 1 && pi.addr == bias && (uintptr_t)pi.phdr == phdr &&
	      pi.phnum == (int)phnum, "dl_iterate_phdr agrees (addr %#lx, %d headers)",
	      (unsigned long)pi.addr, pi.phnum);

	uintptr_t entry = aux(AT_ENTRY);
	CHECK(PRESENT(AT_ENTRY) && entry != 0, "AT_ENTRY = %#lx is nonzero", (unsigned long)entry);
	CHECK(entry == eh->e_entry + bias, "AT_ENTRY == e_entry + load bias");
	CHECK(entry == (uintptr_t)_start, "AT_ENTRY == &_start");

	/* No interpreter: AT_BASE (the interpreter's base) is 0 on Linux. */
	CHECK(aux(AT_BASE) == 0, "AT_BASE = %#lx == 0", aux(AT_BASE));

	/* AT_RANDOM: 16 readable bytes, not all zero. */
	const unsigned char *rnd = (const unsigned char *)aux(AT_RANDOM);
	CHECK(PRESENT(AT_RANDOM) && rnd != NULL, "AT_RANDOM = %p", (const void *)rnd);
	if (rnd) {
		int nz = 0;
		for (int i = 0; i < 16; i++)
			nz |= rnd[i];
		CHECK(nz, "AT_RANDOM's 16 bytes are not all zero");
	}

	/* AT_EXECFN: the path given to execve (normally argv[0] too). */
	const char *execfn = (const char *)aux(AT_EXECFN);
	CHECK(PRESENT(AT_EXECFN) && execfn != NULL, "AT_EXECFN present");
	if (execfn && argv[0])
		CHECK(strcmp(execfn, argv[0]) == 0 ||
		      strcmp(base_name(execfn), base_name(argv[0])) == 0,
		      "AT_EXECFN = \"%s\" matches argv[0] = \"%s\"", execfn, argv[0]);

	/* Credentials. */
	CHECK(PRESENT(AT_UID) && aux(AT_UID) == getuid(), "AT_UID = %lu == getuid()", aux(AT_UID));
	CHECK(PRESENT(AT_EUID) && aux(AT_EUID) == geteuid(), "AT_EUID = %lu == geteuid()", aux(AT_EUID));
	CHECK(PRESENT(AT_GID) && aux(AT_GID) == getgid(), "AT_GID = %lu == getgid()", aux(AT_GID));
	CHECK(PRESENT(AT_EGID) && aux(AT_EGID) == getegid(), "AT_EGID = %lu == getegid()", aux(AT_EGID));
	CHECK(PRESENT(AT_SECURE) && aux(AT_SECURE) == 0, "AT_SECURE = %lu == 0", aux(AT_SECURE));

	CHECK(PRESENT(AT_CLKTCK) && aux(AT_CLKTCK) == 100, "AT_CLKTCK = %lu == 100", aux(AT_CLKTCK));
	CHECK(PRESENT(AT_HWCAP), "AT_HWCAP present (%#lx)", aux(AT_HWCAP));

	/* Informational: present on Linux but not required here. */
	if (PRESENT(AT_PLATFORM))
		INFO("AT_PLATFORM = \"%s\"", (const char *)aux(AT_PLATFORM));
	else
		INFO("AT_PLATFORM absent");
	INFO("AT_SYSINFO_EHDR (vDSO) = %#lx", PRESENT(AT_SYSINFO_EHDR) ? aux(AT_SYSINFO_EHDR) : 0UL);
	INFO("AT_HWCAP2 = %#lx, AT_FLAGS = %#lx", aux(AT_HWCAP2), aux(AT_FLAGS));

	return check_exit();
}
