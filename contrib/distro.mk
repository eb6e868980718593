# contrib/distro.mk - "make check-distro DIST=trixie": the whole "make
# check" inside a fresh chroot of that Debian release, with its packages
# (contrib/check-distro.sh; needs root and the Debian archive).  The base
# chroot is cached in $(B)/distro/.  DISTRO_MAKE_ARGS passes arguments to
# the inner make check, DISTRO_KEEP=1 keeps the chroot afterwards.
# Included from the Makefile ("include contrib/distro.mk").

# included anywhere, this must not become the default goal
DISTRO_SAVED_GOAL := $(.DEFAULT_GOAL)

DIST ?= trixie

.PHONY: check-distro
check-distro:
	contrib/check-distro.sh $(DIST) $(B)/distro

.DEFAULT_GOAL := $(DISTRO_SAVED_GOAL)
