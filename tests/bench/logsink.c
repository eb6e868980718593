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
	sigset_t block, unblocked;
	unsigned long long lines = 0, lost = 0;
	int fd, i, n, more = 0, rcvbuf = 8 << 20;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: logsink PATH\n");
		return 2;
	}
	/*
	 * The signals are blocked but inside ppoll(): one that came between
	 * the test of a flag and a blocking recvmmsg() was lost, and with no
	 * more lines to read logsink then slept for good (run.py waited for
	 * it after the callgrind run).
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
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
		if (!report && !more) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (ppoll(&pfd, 1, NULL, &unblocked) < 0) {
				if (errno == EINTR)
					continue;
				perror("ppoll");
				return 1;
			}
		}
		n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
		more = n == BATCH;      /* a full batch: read on before waiting */
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (report)
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
