/*
 * fuzz_config - config_load() of arbitrary file contents, as spfpd -n /
 * a reload reads them (must_exist = 1); a config that loads is also
 * printed (spfpd -p) to /dev/null and released.
 *
 * config_load() takes a path: the input is written to one file per
 * process in /tmp, created at the first run and rewritten at each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a broken promise of the code under test: say which, then crash */
#define BUG(what) do { fprintf(stderr, "%s:%d: BUG: %s\n", __FILE__, \
	__LINE__, (what)); abort(); } while (0)

static char path[64];
static int fd = -1;
static FILE *devnull;

static void
cleanup(void)
{
	if (path[0])
		unlink(path);
}

static void
err_cb(void *arg, const char *msg)
{
	(void)arg;
	if (msg == NULL || *msg == '\0')
		BUG("an error without a message");
}

static void
setup(void)
{
	snprintf(path, sizeof(path), "/tmp/fuzz_config.%ld.XXXXXX",
	    (long)getpid());
	if ((fd = mkstemp(path)) < 0 ||
	    (devnull = fopen("/dev/null", "w")) == NULL) {
		perror("fuzz_config: setup");
		exit(1);
	}
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		setup();
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0)
			abort();
		off += (size_t)n;
	}
	c = config_load(path, 1, err_cb, NULL);
	if (c != NULL) {
		if (c->refs != 1)
			BUG("a new config without one reference");
		config_dump(c, devnull);
		fflush(devnull);
		config_unref(c);
	}
	return 0;
}
