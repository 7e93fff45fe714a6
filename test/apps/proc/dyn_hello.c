/*
 * A dynamically linked hello for exec_dynamic. Built as dyn_hello-glibc
 * (gcc, dynamic PIE) and dyn_hello-musl (musl-gcc, dynamic); never static.
 * Prints which C library it uses and whether an ELF interpreter was loaded
 * (AT_BASE is the interpreter's load address, 0 without one).
 */
#include <stdio.h>
#include <sys/auxv.h>

int main(void)
{
#ifdef __GLIBC__
	const char *libc = "glibc";
#else
	const char *libc = "musl";
#endif
	printf("hello from %s dynamic, interpreter %s.\n", libc,
	       getauxval(AT_BASE) ? "loaded" : "missing");
	return 0;
}
