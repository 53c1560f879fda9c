# billrun - plain make. See README.md.
#   make            build ./billrun
#   make deps       install missing Debian packages (as root)
#   make test       unit + integration tests (starts its own PostgreSQL)
#   make test SANITIZE=1   the same under ASan + UBSan (build-san/)
#   make test VALGRIND=1   the unit and integration tests, and every billrun
#                   process they start, under valgrind's memcheck (build-vg/,
#                   -O1 -g, no sanitizer): an invalid access, a use of an
#                   uninitialised value or a definite/indirect leak fails
#                   the test program; tests/valgrind.supp holds the only
#                   suppressions (third-party libraries, each explained);
#                   waits are stretched (TEST_TIME_SCALE=30); the fuzz
#                   targets are skipped. About an hour on 2 busy cores.
#   make test-faults  a month of billing with the runner killed (SIGKILL) at 50
#                   random moments and PostgreSQL restarted mid-step; results
#                   must equal an uninterrupted run (FAULT_SEED, FAULT_KILLS)
#   make demo       run billrun on sample data with an embedded cluster
#   make bench      benchmarks that print their figures

CC ?= gcc
VERSION := 0.1.0
PREFIX ?= /usr
DESTDIR ?=

PKGS := libconfig libarchive libxml-2.0 openssl libpq cairo
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(FUZZ),1)
# libFuzzer build (clang): the library with coverage and sanitizers.
CC := clang
BUILD := build-fuzz
SANFLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
WFLAGS := -Wno-unknown-warning-option -Wno-error
else ifeq ($(VALGRIND),1)
# No sanitizer: valgrind's memcheck cannot run ASan code. -O1 keeps the
# reports' line numbers close to the source.
BUILD := build-vg
SANFLAGS :=
OPT := -O1
else ifeq ($(SANITIZE),1)
BUILD := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
else
BUILD := build
SANFLAGS :=
OPT := -O2
endif

CFLAGS += -std=gnu11 -pthread $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation $(WFLAGS) \
	-D_GNU_SOURCE -DBILLRUN_VERSION='"$(VERSION)"' \
	-I core -I jobs -I reports -I cmd -I $(BUILD) $(PKG_CFLAGS) $(SANFLAGS)
LDFLAGS += $(SANFLAGS) -pthread
LDLIBS += $(PKG_LIBS) -lhpdf -lm

MIGRATIONS := $(sort $(wildcard sql/migrations/*.sql))
QUERIES := $(sort $(wildcard sql/queries/*.sql))
LIB_SRC := $(wildcard core/*.c jobs/*.c reports/*.c)
CMD_SRC := $(wildcard cmd/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/sqltext.o
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
FUZZ_SECONDS ?= 60
TEST_SUPPORT := $(BUILD)/tests/support.o

.PHONY: all deps test test-unit test-integration test-faults demo bench bench-scheduler clean install fuzz fuzz-bins deb

all: billrun

ifneq ($(BUILD),build)
billrun: $(BUILD)/billrun
else
billrun: $(BUILD)/billrun
	@cp $(BUILD)/billrun billrun
endif

$(BUILD)/billrun: $(CMD_OBJ) $(BUILD)/libbillrun.a
	@echo '  LD   $@'
	@$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libbillrun.a $(LDLIBS)

$(BUILD)/libbillrun.a: $(LIB_OBJ)
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/embed: tools/embed.c
	@mkdir -p $(BUILD)
	@$(CC) -O1 -o $@ $<

$(BUILD)/sqltext.c $(BUILD)/sqltext.h: $(BUILD)/embed $(MIGRATIONS) $(QUERIES)
	@$(BUILD)/embed $(BUILD)/sqltext.c $(BUILD)/sqltext.h $(MIGRATIONS) -- $(QUERIES)

$(BUILD)/%.o: %.c $(BUILD)/sqltext.h $(wildcard core/*.h jobs/*.h reports/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC   $<'
	@$(CC) $(CFLAGS) -c -o $@ $<

# The taxonomy is built into the binary (reports/taxonomy.c, .incbin).
$(BUILD)/reports/taxonomy.o: $(wildcard reports/taxonomy/*.xsd reports/taxonomy/*.xml)

$(BUILD)/sqltext.o: $(BUILD)/sqltext.c
	@echo '  CC   $<'
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/support.o: tests/support.c tests/support.h $(BUILD)/sqltext.h
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -I tests -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbillrun.a $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	@echo '  TEST $@'
	@$(CC) $(CFLAGS) -I tests -o $@ $< $(TEST_SUPPORT) $(BUILD)/libbillrun.a $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/integration/%.c $(wildcard tests/integration/*.h tests/*.h) $(BUILD)/libbillrun.a $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	@echo '  TEST $@'
	@$(CC) $(CFLAGS) -I tests -o $@ $< $(TEST_SUPPORT) $(BUILD)/libbillrun.a $(LDFLAGS) $(LDLIBS) -lcmocka

# Tools linked with the library: the ingest bench driver, data generators.
$(BUILD)/tools/%: tools/%.c $(BUILD)/libbillrun.a
	@mkdir -p $(dir $@)
	@echo '  TOOL $@'
	@$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbillrun.a $(LDFLAGS) $(LDLIBS)

deps:
	@VALGRIND=$(VALGRIND) sh tools/deps.sh

ifeq ($(VALGRIND),1)
# The fuzz targets are libFuzzer + ASan builds, which cannot run under
# valgrind: skipped, and said so.
test: deps
	@$(MAKE) --no-print-directory billrun $(UNIT_BIN) $(INTEG_BIN)
	@echo 'make test VALGRIND=1: the fuzz targets (libFuzzer + ASan builds) do not run under valgrind; skipped'
	@BUILD=$(BUILD) VALGRIND=1 sh tests/run.sh $(UNIT_BIN) -- $(INTEG_BIN)
else
test: deps
	@$(MAKE) --no-print-directory billrun $(UNIT_BIN) $(INTEG_BIN)
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	@BUILD=$(BUILD) FUZZ_SECONDS=$${FUZZ_SECONDS:-5} RUN_FAULTS=1 sh tests/run.sh $(UNIT_BIN) -- $(INTEG_BIN) -- $(FUZZ_BIN)
endif

# `make fuzz`: each libFuzzer target for FUZZ_SECONDS (default 60), seeded
# from tests/fuzz/corpus/TARGET and the fixtures; a crash, leak or
# sanitizer report fails it.
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tools/fuzz.sh $(FUZZ_BIN)

fuzz-bins: $(FUZZ_BIN)

build-fuzz/fuzz/%: tests/fuzz/%.c $(BUILD)/libbillrun.a
	@mkdir -p $(dir $@)
	@echo '  FUZZ $@'
	@$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libbillrun.a $(LDFLAGS) $(LDLIBS)

test-bins: billrun $(UNIT_BIN) $(INTEG_BIN)

# `make test-faults`: tests/faults/run.sh (its header says what it does).
test-faults: deps
	@$(MAKE) --no-print-directory billrun
	@BILLRUN_BIN=$(CURDIR)/$(BUILD)/billrun sh tests/faults/run.sh

test-unit: billrun $(UNIT_BIN)
	@BUILD=$(BUILD) sh tests/run.sh $(UNIT_BIN) --

demo: deps
	@$(MAKE) --no-print-directory billrun
	@sh tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory billrun
	@sh tools/bench.sh $(BENCH_ARGS)

bench-scheduler: deps
	@$(MAKE) --no-print-directory billrun
	@sh tools/bench_scheduler.sh $(BENCH_STEPS)

install: billrun
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/billrun $(DESTDIR)$(PREFIX)/share/billrun/sql
	install -m 755 billrun $(DESTDIR)$(PREFIX)/bin/billrun
	install -m 644 conf/billrun.conf $(DESTDIR)/etc/billrun/billrun.conf
	install -m 644 $(MIGRATIONS) $(DESTDIR)$(PREFIX)/share/billrun/sql/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 packaging/man/billrun.1 $(DESTDIR)$(PREFIX)/share/man/man1/billrun.1
	install -m 644 packaging/man/billrun.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/billrun.conf.5

# billrun_VERSION_ARCH.deb in $(BUILD)/ (see packaging/debian/build-deb.sh).
deb: billrun
	@sh packaging/debian/build-deb.sh $(VERSION) $(BUILD)

clean:
	rm -rf build build-san build-vg build-fuzz billrun
