/* test_link.c — unit tests of codegen/link.c and link_header.c, without a
 * code generator: the object comes from a hand-written C file that exports
 * a smelt_model_desc (one kernel, y = 2x, a weights blob, a manifest),
 * compiled with the system's compilers for the host and for aarch64.
 *
 * Checked: a shared object links, loads with dlopen, exports the desc and
 * its kernel computes; the same object links to the same bytes twice; an
 * aarch64 object links to an aarch64 shared object; a broken object gives
 * the linker's message and no result; the --emit obj header states the
 * manifest's sizes (compared with numbers written in the fixture, not with
 * the generator's output) and compiles beside smelt.h; the runtime is found
 * through SMELT_RUNTIME_DIR or named as missing. Run from the repository root.
 */
#include "codegen/link.h"
#include "runtime/smelt_abi.h"
#include "tests/unit/support/check.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static const char *fixture =
    "#include \"runtime/smelt_abi.h\"\n"
    "static int64_t ext(const smelt_kargs *a) { (void)a; return 3; }\n"
    "static void run(const smelt_kargs *a, int64_t b, int64_t e) {\n"
    "  const float *x = a->bufs[0]; float *y = a->bufs[2];\n"
    "  for (int64_t i = b; i < e; i++) y[i] = 2 * x[i];\n"
    "}\n"
    "static const smelt_kernel ks[] = {{ext, run}};\n"
    "static int syms(int64_t *s) { (void)s; return 0; }\n"
    "#define M \"{\\\"format\\\":\\\"smelt-artifact\\\",\\\"format_version\\\":1,\\\"model\\\":\\\"t.onnx\\\","
    "\\\"buffers\\\":[{\\\"name\\\":\\\"x\\\",\\\"kind\\\":\\\"input\\\",\\\"dtype\\\":\\\"f32\\\",\\\"shape\\\":[1,3]},"
    "{\\\"name\\\":\\\"w\\\",\\\"kind\\\":\\\"const\\\",\\\"dtype\\\":\\\"f32\\\",\\\"shape\\\":[8],\\\"offset\\\":0,"
    "\\\"bytes\\\":32},"
    "{\\\"name\\\":\\\"y/out\\\",\\\"kind\\\":\\\"value\\\",\\\"dtype\\\":\\\"i64\\\",\\\"shape\\\":[{\\\"sym\\\":0},5]}],"
    "\\\"inputs\\\":[0],\\\"outputs\\\":[2],\\\"arena\\\":{\\\"bytes\\\":12}}\"\n"
    "static const unsigned char w[32] __attribute__((aligned(64))) = {1};\n"
    "const smelt_model_desc SYM = {1, 1, ks, syms, M, sizeof M - 1, w, 32};\n";

static char *manifest_of_fixture(void) {
    const char *a = strstr(fixture, "#define M \"") + 11, *b = strstr(a, "\"\n");
    char *m = malloc((size_t)(b - a) + 1);
    size_t n = 0;
    for (const char *c = a; c < b; c++)
        if (*c != '\\') m[n++] = *c;
    m[n] = 0;
    return m;
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

/* Compile the fixture with `cc` (a compiler command) into a cg_object. */
static int make_object(const char *cc, const char *symbol, const char *triple, cg_object *o) {
    char src[128], obj[128], cmd[1024];
    snprintf(src, sizeof src, "%s/fixture.c", tmpdir);
    snprintf(obj, sizeof obj, "%s/fixture.o", tmpdir);
    FILE *f = fopen(src, "w");
    if (!f) return -1;
    fputs(fixture, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -I. -O1 -fPIC -DSYM=%s -c %s -o %s", cc, symbol, src, obj);
    if (system(cmd) != 0) return -1;
    memset(o, 0, sizeof *o);
    o->data = slurp(obj, &o->size);
    o->manifest = manifest_of_fixture();
    o->triple = strdup(triple);
    o->cpu = strdup("generic");
    unlink(src);
    unlink(obj);
    return o->data ? 0 : -1;
}

static void free_object(cg_object *o) {
    free(o->data);
    free(o->manifest);
    free(o->triple);
    free(o->cpu);
}

static void test_shared(void) {
    cg_object o;
    CHECK(make_object("cc", "smelt_model", "x86_64-unknown-linux-gnu", &o) == 0);
    if (!o.data) return;
    diag d;
    diag_init(&d);
    cg_bytes a = {0}, b = {0};
    CHECK(cg_link_shared(&o, &a, &d) == 0);
    CHECK(cg_link_shared(&o, &b, &d) == 0);
    CHECK(a.size > 0 && a.size == b.size && !memcmp(a.data, b.data, a.size));
    CHECK(a.size > 4 && !memcmp(a.data, "\177ELF", 4));
    char so[128];
    snprintf(so, sizeof so, "%s/m.so", tmpdir);
    FILE *f = fopen(so, "wb");
    fwrite(a.data, 1, a.size, f);
    fclose(f);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL);
    const smelt_model_desc *desc = h ? dlsym(h, SMELT_MODEL_SYMBOL) : NULL;
    CHECK(desc && desc->format_version == 1 && desc->n_kernels == 1 && desc->weights_len == 32);
    if (desc) {
        CHECK(((uintptr_t)desc->weights & 63) == 0);
        float x[3] = {1, -2, 3.5f}, y[3] = {0};
        void *bufs[3] = {x, (void *)desc->weights, y};
        smelt_kargs args = {bufs, NULL, NULL};
        CHECK(desc->kernels[0].extent(&args) == 3);
        desc->kernels[0].run(&args, 0, 3);
        CHECK(y[0] == 2 && y[1] == -4 && y[2] == 7);
    }
    if (h) dlclose(h);
    unlink(so);
    cg_bytes_free(&a);
    cg_bytes_free(&b);
    /* a broken object: the linker's complaint, no bytes */
    o.data[0] ^= 0xff;
    diag_init(&d);
    CHECK(cg_link_shared(&o, &a, &d) == -1 && a.data == NULL);
    CHECK_CONTAINS(d.msg, "linking failed");
    free_object(&o);
}

static void test_cross_shared(void) {
    cg_object o;
    CHECK(make_object("clang-16 --target=aarch64-linux-gnu", "smelt_model", "aarch64-unknown-linux-gnu", &o) == 0);
    if (!o.data) return;
    diag d;
    diag_init(&d);
    cg_bytes a = {0};
    CHECK(cg_link_shared(&o, &a, &d) == 0);
    /* e_machine (offset 18) is EM_AARCH64, 183 */
    CHECK(a.size > 20 && a.data[18] == 183 && a.data[19] == 0);
    cg_bytes_free(&a);
    free_object(&o);
}

static void test_header(void) {
    cg_object o;
    CHECK(make_object("cc", "smelt_model_tiny", "x86_64-unknown-linux-gnu", &o) == 0);
    if (!o.data) return;
    diag d;
    diag_init(&d);
    cg_bytes h = {0};
    CHECK(cg_link_header(&o, "smelt_model_tiny", &h, &d) == 0);
    char *text = h.data ? strndup((const char *)h.data, h.size) : NULL;
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_WEIGHTS_BYTES 32u");
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_ARENA_BYTES 12u");
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_NUM_INPUTS 1");
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_INPUT_0_SHAPE {1, 3}");
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_INPUT_0_BYTES 12");
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_OUTPUT_0_NAME \"y/out\"");
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_OUTPUT_0_RANK 2");
    CHECK(text && !strstr(text, "OUTPUT_0_SHAPE")); /* symbolic: no shape constant */
    CHECK_CONTAINS(text, "#define SMELT_MODEL_TINY_LINK_LIBS \"");
    CHECK_CONTAINS(text, "-lm");
    /* the header compiles beside the runtime's API and names the object's desc */
    char hp[128], cp[128], cmd[512];
    snprintf(hp, sizeof hp, "%s/model.h", tmpdir);
    snprintf(cp, sizeof cp, "%s/use.c", tmpdir);
    FILE *f = fopen(hp, "w");
    if (text) fputs(text, f);
    fclose(f);
    f = fopen(cp, "w");
    fputs("#include \"smelt.h\"\n#include \"model.h\"\n"
          "const smelt_model_desc *get(void) { return SMELT_MODEL_TINY_DESC; }\n"
          "int n(void) { static const int64_t s[] = SMELT_MODEL_TINY_INPUT_0_SHAPE; return (int)s[1]; }\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -std=c11 -Wall -Werror -Iruntime -I%s -fsyntax-only %s", tmpdir, cp);
    CHECK(system(cmd) == 0);
    unlink(hp);
    unlink(cp);
    free(text);
    cg_bytes_free(&h);
    /* a manifest that is not JSON */
    free(o.manifest);
    o.manifest = strdup("{not json");
    diag_init(&d);
    CHECK(cg_link_header(&o, NULL, &h, &d) == -1);
    CHECK_CONTAINS(d.msg, "not JSON");
    free_object(&o);
}

static void test_runtime_dir(void) {
    char dir[4096];
    diag d;
    diag_init(&d);
    setenv("SMELT_RUNTIME_DIR", tmpdir, 1);
    CHECK(cg_link_runtime_dir("aarch64-unknown-linux-gnu", dir, sizeof dir, &d) == -1);
    CHECK_CONTAINS(d.msg, "aarch64-linux-gnu");
    CHECK_CONTAINS(d.msg, tmpdir);
    diag_init(&d);
    CHECK(cg_link_runtime_dir("wasm32-unknown-unknown", dir, sizeof dir, &d) == -1);
    CHECK_CONTAINS(d.msg, "wasm32");
    const char *build = getenv("BUILD");
    setenv("SMELT_RUNTIME_DIR", build ? build : "build", 1);
    diag_init(&d);
    CHECK(cg_link_runtime_dir(NULL, dir, sizeof dir, &d) == 0);
    diag_init(&d);
    CHECK(cg_link_runtime_dir("aarch64-linux-gnu", dir, sizeof dir, &d) == 0);
    CHECK_CONTAINS(dir, "/aarch64-linux-gnu");
    unsetenv("SMELT_RUNTIME_DIR");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smelt_test_link_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_shared();
    test_cross_shared();
    test_header();
    test_runtime_dir();
    rmdir(tmpdir);
    return check_summary("link");
}
