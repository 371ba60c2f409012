/* A plain ELF that must keep running while binfmt_chkpt is loaded. */
#include <stdio.h>

int main(void)
{
	printf("hello from a plain ELF\n");
	return 0;
}
