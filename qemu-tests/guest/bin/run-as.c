/* run-as UID GID PROG [ARGS...]: drop to UID/GID (no supplementary groups)
 * and exec PROG; busybox's setpriv cannot change uids. */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: run-as UID GID PROG [ARGS...]\n");
		return 2;
	}
	gid_t gid = (gid_t)atoi(argv[2]);
	if (setgroups(0, NULL) || setgid(gid) || setuid((uid_t)atoi(argv[1]))) {
		perror("run-as");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
