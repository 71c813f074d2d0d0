/*
 * Linked without relro, with lazy binding and an executable stack, so
 * that elf_hardening_selftest sees test_elf.sh refuse all three.
 */
int
main(void)
{
	return 0;
}
