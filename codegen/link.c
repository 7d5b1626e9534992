/* link.c — shared objects and executables from a backend's object file
 * (see link.h). Each link runs in a fresh folder under $TMPDIR: the object
 * is written there, the linker writes its output and messages there, the
 * output is read back into memory and the folder is removed, whatever
 * happened. The linker's messages go into the diag when it fails. */
#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/smelt_abi.h"

extern char **environ;

/* The compiler driver and flags the host's runtime was built with (the
 * Makefile passes them: a sanitized runtime needs the sanitizer's link
 * flags), and the libraries the runtime needs. */
#ifndef CG_HOST_CC
#define CG_HOST_CC "cc"
#endif
#ifndef CG_HOST_LDFLAGS
#define CG_HOST_LDFLAGS ""
#endif
#ifndef CG_RT_LIBS
#define CG_RT_LIBS "-lm -lpthread"
#endif
#define CG_CLANG "clang-16"
#define CG_LLD "ld.lld-16"

#if defined(__x86_64__)
#define CG_HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define CG_HOST_ARCH "aarch64"
#else
#define CG_HOST_ARCH "unknown"
#endif

#define MAX_ARGS 64

typedef struct link_dir {
    char path[PATH_MAX];
} link_dir;

const char *cg_link_runtime_libs(void) { return CG_RT_LIBS; }

void cg_bytes_free(cg_bytes *b) {
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

/* The architecture of a triple ("aarch64" of "aarch64-unknown-linux-gnu"),
 * with its common aliases folded; NULL triple: the host's. */
static void triple_arch(const char *triple, char *arch, size_t size) {
    if (!triple) triple = CG_HOST_ARCH;
    size_t n = strcspn(triple, "-");
    snprintf(arch, size, "%.*s", (int)n, triple);
    if (!strcmp(arch, "arm64")) snprintf(arch, size, "aarch64");
    if (!strcmp(arch, "amd64")) snprintf(arch, size, "x86_64");
}

static int is_host_arch(const char *triple) {
    char arch[32];
    triple_arch(triple, arch, sizeof arch);
    return !strcmp(arch, CG_HOST_ARCH);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_runtime(const char *dir) {
    char a[PATH_MAX], b[PATH_MAX];
    if (snprintf(a, sizeof a, "%s/libsmeltrt.a", dir) >= (int)sizeof a) return 0;
    if (snprintf(b, sizeof b, "%s/exe_main.o", dir) >= (int)sizeof b) return 0;
    return file_exists(a) && file_exists(b);
}

int cg_link_runtime_dir(const char *triple, char *dir, size_t size, diag *d) {
    char arch[32], sub[64], self[PATH_MAX] = "", tried[1024] = "";
    triple_arch(triple, arch, sizeof arch);
    snprintf(sub, sizeof sub, "%s-linux-gnu", arch);
    if (triple && !strstr(triple, "linux"))
        return diag_error(d, "cannot link an executable for '%s': supported are ARCH-linux-gnu targets", triple);
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
    }
    const char *env = getenv("SMELT_RUNTIME_DIR");
    const char *bases[3] = {env && *env ? env : NULL, self[0] ? self : NULL, self[0] ? self : NULL};
    const char *tails[3] = {"", "", "/../lib/smelt"};
    int host = is_host_arch(triple);
    for (int i = 0; i < 3; i++) {
        if (!bases[i]) continue;
        int n = snprintf(dir, size, "%s%s%s%s", bases[i], tails[i], host ? "" : "/", host ? "" : sub);
        if (n < 0 || (size_t)n >= size) return diag_error(d, "%s: path too long", bases[i]);
        if (has_runtime(dir)) return 0;
        size_t used = strlen(tried);
        if (used + 8 < sizeof tried) snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", dir);
    }
    dir[0] = 0;
    return diag_error(d, "no runtime for %s (libsmeltrt.a and exe_main.o) in %s; build it with `make%s%s` or set "
                      "SMELT_RUNTIME_DIR", sub, tried[0] ? tried : "(nowhere: no program path)",
                      host ? "" : " runtime-", host ? "" : sub);
}

/* A fresh private folder for one link. */
static int dir_make(link_dir *ld, diag *d) {
    const char *tmp = getenv("TMPDIR");
    snprintf(ld->path, sizeof ld->path, "%s/smelt-link-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(ld->path)) return diag_error(d, "cannot create a temporary folder in %s: %s",
                                              tmp && *tmp ? tmp : "/tmp", strerror(errno));
    return 0;
}

static void dir_file(const link_dir *ld, const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", ld->path, name);
}

static void dir_remove(link_dir *ld) {
    static const char *const names[] = {"model.o", "out", "link.log"};
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        dir_file(ld, names[i], p, sizeof p);
        unlink(p);
    }
    rmdir(ld->path);
}

static int write_all(const char *path, const unsigned char *data, size_t size, diag *d) {
    FILE *f = fopen(path, "wb");
    if (!f) return diag_error(d, "%s: cannot create: %s", path, strerror(errno));
    int bad = size && fwrite(data, 1, size, f) != size;
    if (fclose(f) != 0) bad = 1;
    return bad ? diag_error(d, "%s: write failed", path) : 0;
}

static int read_all(const char *path, cg_bytes *out, diag *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return diag_error(d, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return diag_error(d, "%s: cannot read: %s", path, strerror(errno));
    }
    out->size = (size_t)st.st_size;
    out->data = malloc(out->size ? out->size : 1);
    if (!out->data || fread(out->data, 1, out->size, f) != out->size) {
        fclose(f);
        cg_bytes_free(out);
        return diag_error(d, "%s: cannot read", path);
    }
    fclose(f);
    return 0;
}

/* Split a flags string on spaces into argv (the strings are copied into
 * store, which must outlive argv). */
static int add_words(const char **argv, int *argc, char *store, size_t size, const char *words) {
    snprintf(store, size, "%s", words);
    for (char *w = strtok(store, " "); w; w = strtok(NULL, " ")) {
        if (*argc >= MAX_ARGS - 1) return -1;
        argv[(*argc)++] = w;
    }
    return 0;
}

/* Run argv with stdout and stderr into DIR/link.log; a failure puts the
 * command and the log's start into the diag. */
static int run_tool(const link_dir *ld, const char *const *argv, diag *d) {
    char log[PATH_MAX + 32];
    dir_file(ld, "link.log", log, sizeof log);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return diag_error(d, "cannot run %s: %s (tools/deps.sh installs it)", argv[0], strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return diag_error(d, "%s: wait failed: %s", argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    char msg[1536] = "";
    FILE *f = fopen(log, "rb");
    if (f) {
        size_t n = fread(msg, 1, sizeof msg - 1, f);
        msg[n] = 0;
        fclose(f);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = 0;
    }
    return diag_error(d, "linking failed (%s exited with %d):\n%s", argv[0],
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1, msg);
}

/* Write obj to DIR/model.o, run the command built by `make_args` (which
 * names DIR/out as its output), read DIR/out back. */
static int link_in_dir(const cg_object *obj, const char *const *argv_tail, int n_tail, const char *const *argv_head,
                       int n_head, cg_bytes *out, diag *d) {
    link_dir ld;
    if (dir_make(&ld, d)) return -1;
    char model[PATH_MAX + 32], result[PATH_MAX + 32];
    dir_file(&ld, "model.o", model, sizeof model);
    dir_file(&ld, "out", result, sizeof result);
    const char *argv[MAX_ARGS];
    int argc = 0, rc = -1;
    for (int i = 0; i < n_head; i++) argv[argc++] = argv_head[i];
    argv[argc++] = "-o";
    argv[argc++] = result;
    argv[argc++] = model;
    for (int i = 0; i < n_tail && argc < MAX_ARGS - 1; i++) argv[argc++] = argv_tail[i];
    argv[argc] = NULL;
    if (!write_all(model, obj->data, obj->size, d) && !run_tool(&ld, argv, d) && !read_all(result, out, d)) rc = 0;
    dir_remove(&ld);
    return rc;
}

int cg_link_shared(const cg_object *obj, cg_bytes *out, diag *d) {
    static const char *const head[] = {CG_LLD, "-shared", "--build-id=none", "--hash-style=gnu",
                                       "-z", "noexecstack", "-z", "relro", "-z", "now", "-O1"};
    return link_in_dir(obj, NULL, 0, head, (int)(sizeof head / sizeof head[0]), out, d);
}

int cg_link_exe(const cg_object *obj, const char *rt_dir, const char *symbol, cg_bytes *out, diag *d) {
    const char *head[MAX_ARGS], *tail[MAX_ARGS];
    int n_head = 0, n_tail = 0;
    char flags[1024], libs[512], target[96], arch[32], defsym[256], main_o[PATH_MAX + 32], lib_a[PATH_MAX + 32];
    if (is_host_arch(obj->triple)) {
        head[n_head++] = CG_HOST_CC;
        if (add_words(head, &n_head, flags, sizeof flags, CG_HOST_LDFLAGS))
            return diag_error(d, "too many link flags");
    } else {
        triple_arch(obj->triple, arch, sizeof arch);
        snprintf(target, sizeof target, "--target=%s-linux-gnu", arch);
        head[n_head++] = CG_CLANG;
        head[n_head++] = target;
        head[n_head++] = "-fuse-ld=lld";
    }
    head[n_head++] = "-Wl,--build-id=none";
    snprintf(main_o, sizeof main_o, "%s/exe_main.o", rt_dir);
    snprintf(lib_a, sizeof lib_a, "%s/libsmeltrt.a", rt_dir);
    tail[n_tail++] = main_o;
    tail[n_tail++] = lib_a;
    if (symbol && strcmp(symbol, SMELT_MODEL_SYMBOL)) {
        snprintf(defsym, sizeof defsym, "-Wl,--defsym=%s=%s", SMELT_MODEL_SYMBOL, symbol);
        tail[n_tail++] = defsym;
    }
    if (add_words(tail, &n_tail, libs, sizeof libs, CG_RT_LIBS)) return diag_error(d, "too many link flags");
    return link_in_dir(obj, tail, n_tail, head, n_head, out, d);
}
