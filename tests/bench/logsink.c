/*
 * logsink - the bench's syslogd: binds a datagram socket (the bench's
 * /dev/log), reads every line with recvmmsg() and counts them, and adds
 * up the "N log messages lost" that spfpd reports when its syslog socket
 * was full.  A C reader, so that the reader keeps up with ~50,000 lines/s
 * on a shared CPU as rsyslogd or journald would; a slow one would make
 * spfpd drop lines (which it counts) and so do less work than on a mail
 * server.
 *
 *   logsink PATH      prints "ready", then on SIGUSR1 "LINES LOST";
 *                     exits on SIGTERM.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH 64
#define LINE 4096

static volatile sig_atomic_t report, stop;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

int
main(int argc, char **argv)
{
	static char bufs[BATCH][LINE];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_un sun;
	struct sigaction sa;
	unsigned long long lines = 0, lost = 0;
	int fd, i, n, rcvbuf = 8 << 20;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: logsink PATH\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: recvmmsg returns */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, argv[1]);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(argv[1], 0666) < 0) {
		perror(argv[1]);
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		if (report == 2) {
			/* the socket is drained: everything sent is counted */
			report = 0;
			printf("%llu %llu\n", lines, lost);
			fflush(stdout);
		}
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = LINE - 1;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, BATCH, report ? MSG_DONTWAIT :
		    MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && report) {
				report = 2;
				continue;
			}
			perror("recvmmsg");
			return 1;
		}
		for (i = 0; i < n; i++) {
			char *p;

			lines++;
			bufs[i][mm[i].msg_len] = '\0';
			if (strstr(bufs[i], " log messages lost") != NULL &&
			    (p = strstr(bufs[i], "warning: ")) != NULL)
				lost += strtoull(p + 9, NULL, 10);
		}
	}
	unlink(argv[1]);
	return 0;
}
