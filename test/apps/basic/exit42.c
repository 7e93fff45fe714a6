/* Exits with status 42: the runner must report exactly that status. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	printf("exit42: exiting with status 42\n");
	fflush(stdout);
	exit(42);
}
