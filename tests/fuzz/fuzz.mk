# tests/fuzz/fuzz.mk - libFuzzer targets for spfpd (clang, ASan + UBSan).
#
# Included from the Makefile ("include tests/fuzz/fuzz.mk"); it also works
# alone: make -f tests/fuzz/fuzz.mk check-fuzz
#
#   make fuzz-build       build $(B)-fuzz/fuzz_codec ... fuzz_spf
#   make check-fuzz       replay the checked-in corpus once (no network,
#                         a few seconds); $(B)-fuzz/fuzz.out ends with
#                         "fuzz: N passed, M failed" (N, M: targets)
#   make fuzz             fuzz each target for FUZZ_TIME seconds (60) on a
#                         copy of its seeds in $(B)-fuzz/corpus/<x> (fuzz_x
#                         takes tests/fuzz/corpus/<x>/); new inputs stay
#                         there, crashes go to $(B)-fuzz/artifacts/<x>/
#                         with the log in $(B)-fuzz/fuzz_x.fuzz.log; one
#                         summary line per target.  FUZZ_TARGETS=fuzz_spf
#                         picks targets; make -j2 fuzz runs two at once.
#   make fuzz-fuzz_spf    one target (also fuzz-fuzz_codec, ...)
#   make clean-fuzz       remove $(B)-fuzz
#
# FUZZ_ARGS adds libFuzzer options, e.g. FUZZ_ARGS="-jobs=2 -workers=2".
# Reproduce a crash: $(B)-fuzz/fuzz_spf crash-file; minimize it:
# $(B)-fuzz/fuzz_spf -minimize_crash=1 -runs=100000 crash-file.
# A crash worth keeping goes to tests/fuzz/corpus/<x>/crash-<name>
# (replayed by check-fuzz from then on, not used as a seed by "make
# fuzz").  tests/fuzz/make_corpus.py regenerates the seeds and
# tests/fuzz/dict/<x>.dict, which "make fuzz" passes with -dict=.
#
# The targets link every src/*.c but src/spfpd.c (the main), compiled
# again with clang and -fsanitize=fuzzer-no-link,address,undefined.

# included early in the Makefile, this must not become its default goal
FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)

B ?= build
VERSION ?= 0.0.0
FUZZ_PKGS = libevent libcares
PKG_CFLAGS ?= $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
PKG_LIBS ?= $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)
LIBS ?= $(PKG_LIBS) -lspf2 -lresolv

FB           = $(B)-fuzz
FUZZ_DIR     = tests/fuzz
FUZZ_TARGETS = fuzz_codec fuzz_config fuzz_dns fuzz_spf
FUZZ_TIME   ?= 60
FUZZ_ARGS   ?=
FUZZ_CC     ?= clang
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_CFLAGS ?= -g -O1
FUZZ_ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSPFPD_VERSION='"$(VERSION)"' \
               -Iinclude -Wall -Wextra $(FUZZ_CFLAGS) $(PKG_CFLAGS) \
               -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP
FUZZ_LDFLAGS = -fsanitize=fuzzer $(FUZZ_SAN)

FUZZ_LIB_SRCS = $(filter-out src/spfpd.c,$(wildcard src/*.c))
FUZZ_LIB_OBJS = $(FUZZ_LIB_SRCS:src/%.c=$(FB)/obj/%.o) $(FB)/obj/world.o
FUZZ_BINS     = $(addprefix $(FB)/,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-build check-fuzz clean-fuzz \
	$(addprefix fuzz-,$(FUZZ_TARGETS))

fuzz-build: $(FUZZ_BINS)

$(FB)/obj/%.o: src/%.c | $(FB)/obj
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -c -o $@ $<

$(FB)/obj/fuzz_%.o: $(FUZZ_DIR)/fuzz_%.c | $(FB)/obj
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -Itests/diff -c -o $@ $<

# the scripted DNS world (tests/diff/world.c) behind dns.c's seam
$(FB)/obj/world.o: tests/diff/world.c | $(FB)/obj
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -c -o $@ $<

# keep the targets' objects (make would delete them as intermediate)
.SECONDARY: $(FUZZ_TARGETS:%=$(FB)/obj/%.o)

$(FB)/libspfpd-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FB)/fuzz_%: $(FB)/obj/fuzz_%.o $(FB)/libspfpd-fuzz.a
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(LIBS)

$(FB)/obj:
	mkdir -p $@

# fuzz-<target>: fuzz one target for FUZZ_TIME seconds, print one line
# (fuzz_x takes its seeds from corpus/x and dict/x.dict)
$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-fuzz_%: $(FB)/fuzz_%
	@mkdir -p $(FB)/corpus/$* $(FB)/artifacts/$*
	@for f in $(FUZZ_DIR)/corpus/$*/*; do \
	  case $$f in */crash-*) continue;; esac; \
	  [ -f "$$f" ] && cp -n "$$f" $(FB)/corpus/$*/ ; done; true
	@dict=; [ -f $(FUZZ_DIR)/dict/$*.dict ] && \
	  dict=-dict=$(FUZZ_DIR)/dict/$*.dict; \
	start=$$(date +%s); \
	$(FB)/fuzz_$* -max_total_time=$(FUZZ_TIME) -timeout=25 \
	  -print_final_stats=1 -artifact_prefix=$(FB)/artifacts/$*/ \
	  $$dict $(FUZZ_ARGS) $(FB)/corpus/$* > $(FB)/fuzz_$*.fuzz.log 2>&1; \
	rc=$$?; end=$$(date +%s); \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
	  $(FB)/fuzz_$*.fuzz.log | tail -1); \
	cov=$$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' \
	  $(FB)/fuzz_$*.fuzz.log | tail -1); \
	crashes=$$(ls $(FB)/artifacts/$* | wc -l); \
	printf '%s: %ss, %s execs, %s, %s artifacts, %s (log %s)\n' \
	  fuzz_$* $$((end - start)) "$${execs:-?}" "$${cov:-cov: ?}" \
	  $$crashes "$$( [ $$rc -eq 0 ] && echo ok || echo "FAILED rc=$$rc")" \
	  $(FB)/fuzz_$*.fuzz.log; \
	[ $$rc -eq 0 ]

fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))

# check-fuzz: each checked-in input run once; a target passes when none
# crashes, leaks or trips a sanitizer.  After a crash the replay goes on
# with the inputs after the one that crashed, to list every one.
FUZZ_REPLAY = -timeout=25 -rss_limit_mb=2048
check-fuzz: $(FUZZ_BINS)
	@pass=0; fail=0; : > $(FB)/fuzz.out; \
	for t in $(FUZZ_TARGETS); do \
	  c=$(FUZZ_DIR)/corpus/$${t#fuzz_}; files=$$(ls -d $$c/*); \
	  n=$$(echo "$$files" | wc -w); bad=0; : > $(FB)/$$t.replay.log; \
	  while [ -n "$$files" ]; do \
	    $(FB)/$$t $(FUZZ_REPLAY) $$files > $(FB)/$$t.one.log 2>&1 && break; \
	    cat $(FB)/$$t.one.log >> $(FB)/$$t.replay.log; bad=$$((bad + 1)); \
	    f=$$(sed -n 's/^Running: //p' $(FB)/$$t.one.log | tail -1); \
	    why=$$(grep -m1 -E 'BUG:|SUMMARY:|smashing|CHECK failed' \
	      $(FB)/$$t.one.log); \
	    if grep -q LeakSanitizer $(FB)/$$t.one.log; then \
	      echo "  $$t: a leak in one of the inputs: $$why" \
	        >> $(FB)/fuzz.out; break; fi; \
	    echo "  $$f: $$why" >> $(FB)/fuzz.out; \
	    [ -n "$$f" ] || break; \
	    files=$$(printf '%s\n' $$files | \
	      awk -v b="$$f" 'x; $$0 == b { x = 1 }'); \
	  done; rm -f $(FB)/$$t.one.log; \
	  if [ $$bad -eq 0 ]; then pass=$$((pass + 1)); \
	    echo "ok $$t ($$n inputs)" >> $(FB)/fuzz.out; \
	  else fail=$$((fail + 1)); \
	    echo "FAIL $$t ($$n inputs; log $(FB)/$$t.replay.log)" \
	      >> $(FB)/fuzz.out; fi; \
	done; \
	echo "fuzz: $$pass passed, $$fail failed" >> $(FB)/fuzz.out; \
	cat $(FB)/fuzz.out; [ $$fail -eq 0 ]

clean-fuzz:
	rm -rf $(FB)

-include $(wildcard $(FB)/obj/*.d)

# last, after every target above (the .d files hold targets too)
ifneq ($(filter-out %fuzz.mk %.d,$(MAKEFILE_LIST)),)
.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
endif
