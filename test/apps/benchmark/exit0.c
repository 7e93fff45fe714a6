/* The smallest program: exits 0 at once. Exec'd by the exec benchmarks. */
int main(void)
{
	return 0;
}
