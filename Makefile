# Makefile — builds the smelt command, the compiler library, the runtime
# library and the tests. `make` builds; `make test` installs what is missing
# (tools/deps.sh), builds and runs every test; `make asan` does the same with
# AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/; `make example`
# runs the main job on the example model shipped in examples/.
# `make runtime-aarch64-linux-gnu` (part of `make`) cross-builds the runtime
# that `smelt compile --target aarch64-linux-gnu --emit exe` links.

BUILD ?= build
# architectures other than the host's whose runtime is cross-built (see below)
CROSS_TRIPLES := aarch64-linux-gnu
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
# The CPU backend (codegen/llvm) uses the LLVM 16 C API and cJSON.
LLVM_CONFIG := llvm-config-16
LLVM_INCDIR := $(shell $(LLVM_CONFIG) --includedir 2>/dev/null)
LLVM_LIBDIR := $(shell $(LLVM_CONFIG) --libdir 2>/dev/null)
LDLIBS += -L$(LLVM_LIBDIR) -Wl,-rpath,$(LLVM_LIBDIR) -lLLVM-16 -lcjson -ldl
# The Vulkan backend: SPIRV-Tools (static, C++) validates and disassembles
# SPIR-V; runtime/vulkan loads libvulkan.so.1 with dlopen at run time.
LDLIBS += -lSPIRV-Tools -lstdc++
# what a program linking libsmeltrt.a needs besides it (compiled executables)
RT_LDLIBS := -lcjson -lm -lpthread -ldl

LIB_SRCS := $(sort $(wildcard ir/*.c frontend/*.c frontend/*/*.c passes/*.c codegen/*.c codegen/*/*.c))
# runtime/exe_main.c is the main() of compiled executables, not a library member
RT_SRCS := $(sort $(filter-out runtime/exe_main.c,$(wildcard runtime/*.c)))
# the Vulkan runtime: its own archive, so that the CPU runtime stays small
RT_VK_SRCS := $(sort $(wildcard runtime/vulkan/*.c))
TOOL_SRCS := $(sort $(wildcard tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_SUPPORT := $(sort $(wildcard tests/unit/support/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))
RT_OBJS := $(call obj,$(RT_SRCS))
RT_VK_OBJS := $(call obj,$(RT_VK_SRCS))
TOOL_OBJS := $(call obj,$(TOOL_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test asan example clean unit conformance-doc $(addprefix runtime-,$(CROSS_TRIPLES))
.SECONDARY:
all: $(BUILD)/smelt $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a $(BUILD)/libsmeltrt_vk.a $(BUILD)/exe_main.o $(UNIT_BINS) \
     $(addprefix runtime-,$(CROSS_TRIPLES))

deps: .deps-stamp
.deps-stamp: tools/deps.sh
	bash tools/deps.sh
	touch $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/codegen/llvm/%.o: CFLAGS += -isystem $(LLVM_INCDIR)
$(BUILD)/obj/tests/unit/support/cg_harness.o: CFLAGS += -isystem $(LLVM_INCDIR)

$(BUILD)/libsmelt.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libsmeltrt.a: $(RT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libsmeltrt_vk.a: $(RT_VK_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The runtime that compiled executables link (codegen/link.c finds it beside
# the smelt binary): the host's is $(BUILD)/libsmeltrt.a + $(BUILD)/exe_main.o,
# built with the flags above (link.c links with the same driver and LDFLAGS);
# another architecture's is cross-built with clang into $(BUILD)/TRIPLE/.
$(BUILD)/exe_main.o: runtime/exe_main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/codegen/link.o: CFLAGS += -DCG_HOST_CC='"$(CC)"' -DCG_HOST_LDFLAGS='"$(LDFLAGS)"' \
                                       -DCG_RT_LIBS='"$(RT_LDLIBS)"'

CROSS_CC := clang-16
CROSS_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -O2 -fPIC -g0
define cross_runtime
runtime-$(1): $(BUILD)/$(1)/libsmeltrt.a $(BUILD)/$(1)/exe_main.o
$(BUILD)/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(CROSS_CC) --target=$(1) $(CROSS_CFLAGS) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/libsmeltrt.a: $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(RT_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
$(BUILD)/$(1)/exe_main.o: $(BUILD)/$(1)/obj/runtime/exe_main.o
	cp $$< $$@
endef
$(foreach t,$(CROSS_TRIPLES),$(eval $(call cross_runtime,$(t))))

$(BUILD)/smelt: $(TOOL_OBJS) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt_vk.a $(BUILD)/libsmeltrt.a
	$(CC) $(LDFLAGS) $(TOOL_OBJS) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt_vk.a $(BUILD)/libsmeltrt.a $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(call obj,$(TEST_SUPPORT)) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt_vk.a $(BUILD)/libsmeltrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(call obj,$(TEST_SUPPORT)) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt_vk.a $(BUILD)/libsmeltrt.a $(LDLIBS) -o $@

# The LLVM backend's test reads ONNX test data with the CLI's tensor reader.
$(BUILD)/tests/test_cg_llvm: tests/unit/test_cg_llvm.c $(call obj,$(TEST_SUPPORT)) $(BUILD)/obj/tools/tensor_io.o $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -isystem $(LLVM_INCDIR) $(LDFLAGS) $< $(call obj,$(TEST_SUPPORT)) $(BUILD)/obj/tools/tensor_io.o $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a $(LDLIBS) -o $@

# The SPIR-V backend's test builds artifacts and runs them with the CLI's helpers.
$(BUILD)/tests/test_spirv $(BUILD)/tests/test_spirv_ggml: $(BUILD)/tests/%: tests/unit/%.c $(call obj,$(TEST_SUPPORT)) $(BUILD)/obj/tools/artifact.o $(BUILD)/obj/tools/step_profile.o $(BUILD)/obj/tools/calibrate.o $(BUILD)/obj/tools/dir_list.o $(BUILD)/obj/tools/tensor_io.o $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt_vk.a $(BUILD)/libsmeltrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o %.a,$^) $(LDLIBS) -o $@

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

# --- the GEMM engine's test and the sgemm benchmark (bench/sgemm) ---
$(BUILD)/obj/tests/unit/support/llvm_dl.o $(BUILD)/tests/test_gemm $(BUILD)/tests/test_igemm: CFLAGS += -isystem $(LLVM_INCDIR)
.PHONY: bench-sgemm
$(BUILD)/bench/sgemm: bench/sgemm/sgemm.c $(call obj,$(TEST_SUPPORT)) $(BUILD)/libsmelt.a $(BUILD)/libsmeltrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -isystem $(LLVM_INCDIR) -O3 $(LDFLAGS) $(filter %.c %.o %.a,$^) $(LDLIBS) -lopenblas -o $@
bench-sgemm: $(BUILD)/bench/sgemm
	$(BUILD)/bench/sgemm $(SIZES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- an artifact on a Vulkan device without the compiler (bench/vulkan) ---
.PHONY: bench-vulkan
$(BUILD)/bench/vk_run: bench/vulkan/vk_run.c $(BUILD)/libsmeltrt_vk.a $(BUILD)/libsmeltrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.c %.a,$^) $(RT_LDLIBS) -o $@
bench-vulkan: $(BUILD)/bench/vk_run
