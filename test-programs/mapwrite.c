/* mapwrite [--wait-at 1] FILE: shared file mappings keep the access their
 * file was opened with. Creates FILE (2 pages) and maps its first page
 * shared and read-only twice: once through an O_RDWR fd (the mapping may
 * be made writable: VM_MAYWRITE) and once through an O_RDONLY fd (it may
 * not); both fds are closed. After wait point 1 (dumped there),
 * mprotect(PROT_READ | PROT_WRITE) succeeds on the first, whose store
 * reaches the file, and fails with EACCES on the second, as before the
 * dump. Prints one line per check and "result OK"; exits 1 with a FAIL
 * line if either differs. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	if (argc < 2)
		FAIL("usage: mapwrite [--wait-at 1] FILE");
	const char *path = argv[1];
	char pages[8192];
	memset(pages, 'a', sizeof(pages));
	int rw = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (rw < 0 || write(rw, pages, sizeof(pages)) != (ssize_t)sizeof(pages))
		FAIL("creating %s: %s", path, strerror(errno));
	int ro = open(path, O_RDONLY);
	if (ro < 0)
		FAIL("opening %s read-only: %s", path, strerror(errno));
	char *may = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rw, 0);
	char *may_not = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	if (may == MAP_FAILED || may_not == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
	close(rw);
	close(ro);
	printf("ready\n");
	wait_point(1);
	if (may[0] != 'a' || may_not[0] != 'a')
		FAIL("the mappings do not show the file");
	if (mprotect(may, 4096, PROT_READ | PROT_WRITE))
		FAIL("mprotect(PROT_WRITE) of the mapping from an O_RDWR fd: %s", strerror(errno));
	may[0] = 'b';
	printf("read-write file mapping: made writable, store seen: %s\n", may_not[0] == 'b' ? "yes" : "NO");
	if (may_not[0] != 'b')
		FAIL("the store through the writable mapping is not in the file");
	int rc = mprotect(may_not, 4096, PROT_READ | PROT_WRITE);
	printf("read-only file mapping: mprotect(PROT_WRITE) %s\n", rc < 0 && errno == EACCES ? "refused (EACCES)" : "ALLOWED");
	if (!(rc < 0 && errno == EACCES))
		FAIL("mprotect(PROT_WRITE) of the mapping from an O_RDONLY fd did not fail with EACCES");
	printf("result OK\n");
	return 0;
}
