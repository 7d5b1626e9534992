# Makefile — builds the smelt command, the compiler library, the runtime
# library and the tests. `make` builds; `make test` installs what is missing
# (tools/deps.sh), builds and runs every test; `make asan` does the same with
# AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/; `make example`
# runs the main job on the example model shipped in examples/.

BUILD ?= build
CC := gcc
PYTHON := .venv/bin/python

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Wshadow -Wstrict-prototypes \
               -Wno-unused-parameter -MMD -MP -g
ifeq ($(CI),true)
CFLAGS_BASE += -Werror
endif
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
ifeq ($(SAN),1)
OPT := -O1 -fno-omit-frame-pointer $(SANFLAGS)
LDFLAGS := $(SANFLAGS)
else
OPT := -O2
LDFLAGS :=
endif
CFLAGS := $(CFLAGS_BASE) $(OPT)
LDLIBS := -lm -lpthread

LIB_SRCS := $(sort $(wildcard ir/*.c frontend/*.c frontend/*/*.c passes/*.c codegen/*/*.c))
RT_SRCS := $(sort $(wildcard runtime/*.c))
TOOL_SRCS := $(sort $(wildcard tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_SUPPORT := $(sort $(wildcard tests/unit/support/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))
RT_OBJS := $(call obj,$(RT_SRCS))
TOOL_OBJS := $(call obj,$(TOOL_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test asan example clean unit conformance-doc
.SECONDARY:
all: $(BUILD)/smelt $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a $(UNIT_BINS)

deps: .deps-stamp
.deps-stamp: tools/deps.sh
	bash tools/deps.sh
	touch $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsmelt.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libsmeltrt.a: $(RT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/smelt: $(TOOL_OBJS) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a
	$(CC) $(LDFLAGS) $(TOOL_OBJS) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(call obj,$(TEST_SUPPORT)) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(call obj,$(TEST_SUPPORT)) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a $(LDLIBS) -o $@

test: deps
	$(MAKE) all
	bash tests/run.sh $(BUILD)

asan: deps
	$(MAKE) all BUILD=build-asan SAN=1
	ASAN_OPTIONS=exitcode=86:detect_leaks=1 UBSAN_OPTIONS=exitcode=86:print_stacktrace=1 bash tests/run.sh build-asan

example: deps all
	bash examples/run_example.sh $(BUILD)

# Rewrite tests/onnx/expected_failures.txt (reasons from the current run) and
# docs/conformance.md; review the diff before committing it.
conformance-doc: deps all
	.venv/bin/python tests/onnx/conformance.py --smelt $(BUILD)/smelt --max-gflops 5 --timeout 900 --update-expected --doc docs/conformance.md

clean:
	rm -rf build build-asan

# --- LLVM 16 C API and the sgemm benchmark (codegen/llvm/gemm.c) ---
LLVM_CONFIG ?= llvm-config-16
CFLAGS += -I$(shell $(LLVM_CONFIG) --includedir)
LDLIBS += -L$(shell $(LLVM_CONFIG) --libdir) -lLLVM-16 -ldl
.PHONY: bench-sgemm
$(BUILD)/bench/sgemm: bench/sgemm/sgemm.c $(call obj,tests/unit/support/llvm_dl.c) $(BUILD)/libsmelt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 $(LDFLAGS) $(filter %.c %.o %.a,$^) $(LDLIBS) -lopenblas -o $@
bench-sgemm: $(BUILD)/bench/sgemm
	$(BUILD)/bench/sgemm $(SIZES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
