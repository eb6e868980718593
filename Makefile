# spfpd - Postfix policy daemon for SPF and iprev.
#
#   make            build spfpd
#   make run        install Debian packages if missing, build, run in the
#                   foreground with etc/spfpd.conf on run/spfpd.sock
#   make check      install packages if missing, build, run every test
#                   (also under AddressSanitizer + UBSan)
#   make install    PREFIX=/usr/local DESTDIR=
#   make bench      spfpd against pypolicyd-spf and the Perl daemon
#   make soak       SOAK_MINUTES of 1,000 connections, good and hostile
#   make fuzz       each libFuzzer target for FUZZ_TIME seconds
#   make fuzz-diff  spfpd against pyspf on random SPF worlds, FUZZ_TIME s
#   make clean

VERSION   = 0.1.0
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR  ?=

CC       ?= cc
B        ?= build
SANITIZE ?=

PKGS      = libevent libcares libsystemd libidn2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# -Werror where CI asks for it (make WERROR=1): a newer compiler's new
# warnings must not stop a user's build
WERROR  ?=
WARN     = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
           -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare
ifeq ($(WERROR),1)
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSPFPD_VERSION='"$(VERSION)"' \
           -Iinclude $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all
LDSAN    = -fsanitize=address,undefined
endif
LIBS     = $(PKG_LIBS) -lspf2 -lresolv

LIB_SRCS = src/log.c src/cidr.c src/codec.c src/config.c src/listener.c \
           src/session.c src/policy.c src/server.c src/addr.c \
           src/dns.c src/dnsraw.c src/spf.c src/spflib.c src/spfrec.c \
           src/compose.c src/sdnotify.c \
           src/iprev.c src/query.c src/xmalloc.c src/strbuf.c src/decision.c \
           src/metrics.c src/metrics_http.c
LIB_OBJS = $(LIB_SRCS:src/%.c=$(B)/%.o)
UNIT_TESTS = test_codec test_config test_cidr test_spfrec test_compose \
             test_dnsraw test_dnscache test_spf test_iprev test_policy \
             test_metrics

.PHONY: all deps run check check-unit check-blackbox check-golden check-spf \
	check-iprev check-rfc check-postfix check-interop check-hostile \
	check-sockrace \
	check-systemd check-metrics check-diff fuzz-diff \
	soak bench deb check-deb \
        check-asan install clean

all: $(B)/spfpd

$(B)/%.o: src/%.c | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libspfpd.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/spfpd: $(B)/spfpd.o $(B)/libspfpd.a
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/test_%: tests/unit/test_%.c $(B)/libspfpd.a
	$(CC) $(ALL_CFLAGS) $(LDSAN) $(LDFLAGS) -o $@ $(filter %.c,$^) \
	  $(filter %.a,$^) $(LIBS) -lcmocka
# the DNS cache, spf.c and iprev.c over the upstream seam: scripted
# answers from the world (tests/unit/seam.c)
$(B)/test_dnscache $(B)/test_spf $(B)/test_iprev: tests/unit/seam.c \
	  tests/unit/seam.h tests/diff/world.c tests/diff/world.h

# the scripted DNS world behind dns.c's upstream seam, and the C side of
# the differential fuzzer (tests/diff/)
$(B)/world.o: tests/diff/world.c | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(B)/spfdiff: tests/diff/spfdiff.c $(B)/world.o $(B)/libspfpd.a
	$(CC) $(ALL_CFLAGS) -Itests/diff $(LDSAN) $(LDFLAGS) -o $@ \
	  $(filter %.c %.o %.a,$^) $(LIBS)

$(B):
	mkdir -p $(B)

# The Debian packages the build and the tests need (idempotent).
deps:
	@contrib/install-deps.sh

run: deps
	$(MAKE) all
	@mkdir -p run
	@printf '%s\n' "spfpd: listening on unix:$(CURDIR)/run/spfpd.sock (Ctrl-C stops)." \
	  "Talk to it from another terminal:" \
	  "  printf 'request=smtpd_access_policy\\nclient_address=192.0.2.1\\nsender=a@example.com\\n\\n' | nc -U -q1 $(CURDIR)/run/spfpd.sock"
	$(B)/spfpd -d -c etc/spfpd.conf -l unix:$(CURDIR)/run/spfpd.sock

check: deps
	rm -f $(B)/*.out $(B)/*.log $(B)-asan/*.out $(B)-asan/*.log \
	  $(B)-fuzz/fuzz.out
	$(MAKE) check-unit check-golden check-blackbox check-spf check-iprev \
	  check-rfc check-postfix check-interop check-hostile check-sockrace \
	  check-systemd check-metrics check-fuzz check-diff check-deb
	$(MAKE) check-asan
	@tests/summary.sh $(B) $(B)-asan $(B)-fuzz

check-unit: $(addprefix $(B)/,$(UNIT_TESTS))
	@for t in $(UNIT_TESTS); do \
	  CMOCKA_MESSAGE_OUTPUT=stdout $(B)/$$t > $(B)/$$t.log 2>&1; rc=$$?; \
	  cat $(B)/$$t.log; [ $$rc -eq 0 ] || exit 1; done

# $(call suite,NAME,COMMAND): run a test driver, its output kept in
# $(B)/NAME.out (tests/summary.sh adds them up) and shown
suite = @$(2) > $(B)/$(1).out 2>&1; rc=$$?; cat $(B)/$(1).out; exit $$rc
# $(call driver,NAME,SCRIPT ARGS): a Python driver against $(B)/spfpd
driver = $(call suite,$(1),/usr/bin/python3 $(2) --spfpd $(B)/spfpd \
  --log $(B)/$(1).log)

check-golden: $(B)/spfpd
	$(call suite,golden,tests/golden.sh $(B)/spfpd)

check-blackbox: $(B)/spfpd
	$(call driver,blackbox,tests/blackbox.py)

# SPF end to end: knotd on loopback, the daemon, actions and headers
check-spf: $(B)/spfpd
	$(call driver,spftest,tests/spftest.py)

# reverse DNS (iprev) end to end, against knotd as well
check-iprev: $(B)/spfpd
	$(call driver,iprevtest,tests/spftest.py --suite iprev)

# a private Postfix instance asks spfpd, spawned and as a daemon
check-postfix: $(B)/spfpd
	$(call driver,postfixtest,tests/postfixtest.py)

# issue 15: spfpd's headers read by OpenDMARC (a milter of a private
# Postfix) and SpamAssassin's SPF plugin; root, in a network and mount
# namespace of its own (knotd on 127.0.0.1:53 for OpenDMARC's resolver)
check-interop: $(B)/spfpd
	$(call driver,interop,tests/interoptest.py)

# the openspf RFC 7208 and RFC 4408 suites through the policy protocol
SUITES = ../shared/data
check-rfc: $(B)/spfpd
	@for s in rfc7208 rfc4408; do \
	  f=$(SUITES)/$$s-tests.yml; \
	  [ -f $$f ] || f=/usr/share/doc/python3-spf/$$s-tests.yml.gz; \
	  /usr/bin/python3 tests/rfcsuite.py --spfpd $(B)/spfpd --suite $$f \
	    --name $$s > $(B)/$$s.out 2>&1; rc=$$?; \
	  cat $(B)/$$s.out; [ $$rc -eq 0 ] || exit 1; done

# the differential fuzzer: spfpd's SPF path (build/spfdiff, over a
# scripted DNS world) against pyspf on the same data; a fixed-seed batch
# in check (DIFF_CASES), open-ended with "make fuzz-diff FUZZ_TIME=s".
# Divergences not explained in tests/diff/known-divergences fail it, and
# are saved as replayable cases in $(B)/spfdiff-out/divergences/; the
# cases of what it found in spfpd (tests/diff/found.cases) are replayed.
DIFF_CASES = 20000
DIFF_SEED = 1
check-diff: $(B)/spfdiff
	@rm -rf $(B)/spfdiff-out; /usr/bin/python3 tests/diff/spfdiff.py \
	  --spfdiff $(B)/spfdiff --seed $(DIFF_SEED) --cases $(DIFF_CASES) \
	  --out-dir $(B)/spfdiff-out \
	  --save-dir $(B)/spfdiff-out/divergences > $(B)/spfdiff.out 2>&1; \
	  rc=$$?; \
	  tail -n 25 $(B)/spfdiff.out; \
	  /usr/bin/python3 tests/diff/spfdiff.py --spfdiff $(B)/spfdiff \
	  --replay tests/diff/found.cases --out-dir $(B)/spfdiff-out \
	  --save-dir $(B)/spfdiff-out/divergences \
	  > $(B)/spfdiff-found.out 2>&1 || rc=1; \
	  tail -n 3 $(B)/spfdiff-found.out; exit $$rc

fuzz-diff: $(B)/spfdiff
	/usr/bin/python3 tests/diff/spfdiff.py --spfdiff $(B)/spfdiff \
	  --time $(FUZZ_TIME) --out-dir $(B)/spfdiff-out \
	  --save-dir $(B)/spfdiff-out/divergences

# a DNS server that misbehaves on purpose; clients that vanish; signals
# under load
check-hostile: $(B)/spfpd
	$(call driver,hostiletest,tests/hostiletest.py)

# issue 12: a racer (tests/sockrace.c, as nobody) renames a symlink over
# spfpd's socket file right after bind(), 100 starts each way; the file
# the symlink points at must never change.  Needs root.
$(B)/sockrace: tests/sockrace.c | $(B)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<
check-sockrace: $(B)/spfpd $(B)/sockrace
	$(call driver,sockrace,tests/sockrace.py --sockrace $(B)/sockrace)

# issue 14: sd_notify (READY, RELOADING, STOPPING) to a socket of the
# test's, socket activation under systemd-socket-activate, and
# systemd-analyze verify of contrib/systemd/ (skipped where it cannot run)
check-systemd: $(B)/spfpd
	$(call driver,systemd,tests/systemdtest.py)

# issue 14: the Prometheus endpoint (metrics_listen): promtool's lint of
# /metrics, a real Prometheus server scraping it on loopback, hostile
# HTTP clients that must not delay policy answers
check-metrics: $(B)/spfpd
	$(call driver,metricstest,tests/metricstest.py)

# N minutes of 1,000 connections, good and hostile DNS mixed (not in
# check): RSS and descriptors must stay flat.  Under ASan with
# "make soak B=build-asan SANITIZE=1".
SOAK_MINUTES = 5
soak: $(B)/spfpd $(B)/loadgen
	/usr/bin/python3 tests/soak.py --spfpd $(B)/spfpd \
	  --loadgen $(B)/loadgen --minutes $(SOAK_MINUTES) --out $(B)/soak

# The benchmark (not part of check): spfpd against pypolicyd-spf and
# postfix-policyd-spf-perl in one run; BENCH_ARGS passes options to
# tests/bench/run.py, e.g. BENCH_ARGS="--duration 5 --conns 10,100".
BENCH_ARGS =
$(B)/loadgen: tests/bench/loadgen.c | $(B)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<
$(B)/logsink: tests/bench/logsink.c | $(B)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<
$(B)/nullpolicy: tests/bench/nullpolicy.c | $(B)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<

bench:
	@contrib/install-deps.sh --bench
	$(MAKE) $(B)/spfpd $(B)/loadgen $(B)/logsink $(B)/nullpolicy
	tests/bench/bench.sh $(B) $(B)/bench --command \
	  "make bench BENCH_ARGS='$(BENCH_ARGS)'" $(BENCH_ARGS)

check-asan:
	$(MAKE) B=$(B)-asan SANITIZE=1 CFLAGS="-O1 -g" DIFF_CASES=3000 \
	  check-unit check-golden check-blackbox check-spf check-iprev \
	  check-rfc check-postfix check-hostile check-sockrace check-systemd \
	  check-metrics check-diff

# The Debian package (debian/): dpkg-buildpackage -us -uc -b in a copy of
# the tree (not build*/, run/ nor .git) in $(B)/deb/, where it leaves
# spfpd_$(VERSION)-*.deb, the .buildinfo and the .changes; the work tree
# stays as it is.  This make's variables (WERROR, CFLAGS...) do not reach
# the package build: dpkg-buildflags decides.
deb: deps
	rm -rf $(B)/deb && mkdir -p $(B)/deb/spfpd-$(VERSION)
	tar -cf - --exclude=./.git --exclude='./build*' --exclude=./run \
	  --exclude='./$(B)' . | tar -C $(B)/deb/spfpd-$(VERSION) -xf -
	cd $(B)/deb/spfpd-$(VERSION) && env -u MAKEFLAGS -u MFLAGS \
	  -u MAKELEVEL -u MAKEOVERRIDES dpkg-buildpackage -us -uc -b
	@ls -1 $(B)/deb/*.deb

# make deb, then the package: files, control fields, maintainer scripts,
# lintian, and the Postfix end-to-end test run on the binary taken from
# the .deb (tests/debtest.py)
check-deb: | $(B)
	$(call suite,deb,/usr/bin/python3 tests/debtest.py --build-dir $(B) \
	  --log $(B)/deb.log)

install: $(B)/spfpd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/spfpd
	install -m 0755 $(B)/spfpd $(DESTDIR)$(SBINDIR)/spfpd
	install -m 0644 spfpd.8 $(DESTDIR)$(MANDIR)/man8/spfpd.8
	install -m 0644 spfpd.conf.5 $(DESTDIR)$(MANDIR)/man5/spfpd.conf.5
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/spfpd/spfpd.conf ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/spfpd/spfpd.conf"; \
	else install -m 0644 etc/spfpd.conf \
	  $(DESTDIR)$(SYSCONFDIR)/spfpd/spfpd.conf; fi

clean:
	rm -rf build build-asan build-fuzz run

# libFuzzer targets (clang): make fuzz, make check-fuzz (corpus replay)
include tests/fuzz/fuzz.mk

# make check-distro DIST=trixie: make check in a fresh chroot of a release
include contrib/distro.mk

-include $(wildcard $(B)/*.d)
