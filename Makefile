# Simplix Hub: the front door. The real work is in scripts/ (see each script's header).
#
#   make / make build   configure and build build/ (nothing is installed)
#   make deps           install missing Debian packages (and the conformance tests' npm packages)
#   make test           deps, plain + ASan/UBSan builds, private PostgreSQL, ctest in both
#   make demo           deps, build, private PostgreSQL, migrate, sandbox, hub, the demo steps;
#                       waits for Ctrl-C.  `make demo ONCE=1` runs the steps once and exits.
#   make clean          stop and delete the private clusters, delete build/

SHELL := /bin/bash
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all build deps test demo clean help

all: build

build:
	@mkdir -p $(BUILD_DIR)
	cmake -S . -B $(BUILD_DIR) $(CMAKE_ARGS) >$(BUILD_DIR)/configure.log || { cat $(BUILD_DIR)/configure.log; exit 1; }
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build $(BUILD_DIR) -j $(JOBS)

deps:
	@bash scripts/deps.sh

test:
	@bash scripts/test.sh

demo:
	@bash scripts/demo.sh $(if $(filter-out 0,$(ONCE)),--once)

clean:
	@for d in $(BUILD_DIR)/pg $(BUILD_DIR)/pg-test; do \
	  if [ -d $$d ]; then bash scripts/pg.sh --dir $$d destroy; fi; \
	done
	rm -rf $(BUILD_DIR)

help:
	@sed -n '1,9p' Makefile | sed 's/^# \{0,1\}//'
