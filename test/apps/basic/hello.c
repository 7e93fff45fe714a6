/*
 * The smallest useful program: prints which C library it was built with and
 * whether the executable is a static non-PIE (ET_EXEC) or a static PIE
 * (ET_DYN) image, then exits 0.
 *
 * The kind is read from our own ELF header as loaded in memory
 * (__ehdr_start is defined by the linker), not from compiler macros, so it
 * reflects the file the kernel actually loaded.
 */
#include <elf.h>
#include <stdio.h>

extern const Elf64_Ehdr __ehdr_start __attribute__((visibility("hidden")));

int main(void)
{
#ifdef __GLIBC__
	const char *libc = "glibc";
#else
	const char *libc = "musl";
#endif
	const char *kind = __ehdr_start.e_type == ET_DYN ? "static-pie" : "static";

	/* The trailing '.' keeps "static." distinct from "static-pie." */
	printf("hello from %s %s.\n", libc, kind);
	return 0;
}
