/* cg_harness.c — see cg_harness.h. */
#include "tests/unit/support/cg_harness.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/half.h"
#include "runtime/minifloat.h"
#include "runtime/smelt_abi.h"

struct cg_harness {
    void *dl;
    const smelt_model_desc *desc;
    cJSON *m;
    char so[64];
};

static double h_mf_decode(int t, uint32_t bits) { return mf_decode((ir_dtype)t, (uint8_t)bits); }
static uint32_t h_mf_encode(int t, double v, int sat, int round) {
    return mf_encode((ir_dtype)t, v, sat != 0, (mf_round)round);
}
static const smelt_rt_api rt_api = {rt_f16_to_f32, rt_f32_to_f16, h_mf_decode, h_mf_encode};

cg_harness *cg_harness_load(const cg_object *o, const char *symbol, diag *d) {
    cg_harness *h = calloc(1, sizeof *h);
    char obj[64] = "/tmp/cg_harness_XXXXXX.o", cmd[256];
    if (!h) return NULL;
    int fd = mkstemps(obj, 2);
    if (fd < 0 || write(fd, o->data, o->size) != (ssize_t)o->size) {
        if (fd >= 0) close(fd);
        diag_error(d, "cannot write %s", obj);
        free(h);
        return NULL;
    }
    close(fd);
    snprintf(h->so, sizeof h->so, "%.*s.so", (int)strlen(obj) - 2, obj);
    snprintf(cmd, sizeof cmd, "ld.lld-16 -shared -o %s %s", h->so, obj);
    int rc = system(cmd);
    unlink(obj);
    if (rc != 0) {
        diag_error(d, "'%s' failed", cmd);
        cg_harness_free(h);
        return NULL;
    }
    h->dl = dlopen(h->so, RTLD_NOW | RTLD_LOCAL);
    if (!h->dl) {
        diag_error(d, "dlopen: %s", dlerror());
        cg_harness_free(h);
        return NULL;
    }
    h->desc = dlsym(h->dl, symbol ? symbol : SMELT_MODEL_SYMBOL);
    if (!h->desc || h->desc->format_version != SMELT_FORMAT_VERSION || (h->desc->weights_len && (uintptr_t)h->desc->weights % SMELT_WEIGHTS_ALIGN)) {
        diag_error(d, "no valid smelt_model_desc in the object");
        cg_harness_free(h);
        return NULL;
    }
    h->m = cJSON_Parse(h->desc->manifest);
    if (!h->m || strlen(h->desc->manifest) != h->desc->manifest_len) {
        diag_error(d, "the manifest does not parse");
        cg_harness_free(h);
        return NULL;
    }
    return h;
}

void cg_harness_free(cg_harness *h) {
    if (!h) return;
    if (h->dl) dlclose(h->dl);
    if (h->so[0]) unlink(h->so);
    cJSON_Delete(h->m);
    free(h);
}

static int item(const cJSON *a, int i) { return (int)cJSON_GetArrayItem(a, i)->valuedouble; }

/* shape of buffer entry bj from the symbols; -1 when unknown */
static int shape_of(const cJSON *bj, const int64_t *syms, int64_t *shape, int *rank, int64_t *numel) {
    const cJSON *sh = cJSON_GetObjectItem(bj, "shape");
    *rank = cJSON_GetArraySize(sh);
    *numel = 1;
    for (int i = 0; i < *rank; i++) {
        const cJSON *e = cJSON_GetArrayItem(sh, i);
        shape[i] = cJSON_IsNumber(e) ? (int64_t)e->valuedouble : syms[(int)cJSON_GetObjectItem(e, "sym")->valuedouble];
        if (shape[i] < 0) return -1;
        *numel *= shape[i];
    }
    return 0;
}

int cg_harness_run(cg_harness *h, const interp_tensor *in, uint32_t n_in, interp_tensor *out, uint32_t n_out,
                   diag *d) {
    const cJSON *bufs = cJSON_GetObjectItem(h->m, "buffers"), *steps = cJSON_GetObjectItem(h->m, "steps");
    const cJSON *ins = cJSON_GetObjectItem(h->m, "inputs"), *outs = cJSON_GetObjectItem(h->m, "outputs");
    const cJSON *syml = cJSON_GetObjectItem(h->m, "symbols");
    int nb = cJSON_GetArraySize(bufs), ns = cJSON_GetArraySize(syml), rc = -1;
    const cJSON *st;
    cJSON_ArrayForEach(st, steps) if (cJSON_GetObjectItem(st, "lib")) return 1;
    if ((uint32_t)cJSON_GetArraySize(ins) != n_in || (uint32_t)cJSON_GetArraySize(outs) != n_out)
        return diag_error(d, "manifest inputs/outputs do not match");
    int64_t *syms = malloc((ns ? ns : 1) * sizeof *syms);
    void **ptr = calloc(nb ? nb : 1, sizeof *ptr);
    unsigned char *owned = calloc(nb ? nb : 1, 1);
    if (!syms || !ptr || !owned) goto done;
    for (int s = 0; s < ns; s++) syms[s] = -1;
    for (uint32_t i = 0; i < n_in; i++) { /* bind named symbols from the input shapes */
        const cJSON *sh = cJSON_GetObjectItem(cJSON_GetArrayItem(bufs, item(ins, (int)i)), "shape");
        for (int ax = 0; ax < cJSON_GetArraySize(sh); ax++) {
            const cJSON *e = cJSON_GetArrayItem(sh, ax);
            if (cJSON_IsObject(e)) {
                int s = (int)cJSON_GetObjectItem(e, "sym")->valuedouble;
                if (cJSON_GetObjectItem(cJSON_GetArrayItem(syml, s), "name")) syms[s] = in[i].shape[ax];
            }
        }
    }
    if (h->desc->eval_symbols(syms)) {
        diag_error(d, "eval_symbols failed");
        goto done;
    }
    for (int b = 0; b < nb; b++) {
        const cJSON *bj = cJSON_GetArrayItem(bufs, b);
        const char *kind = cJSON_GetObjectItem(bj, "kind")->valuestring;
        if (!strcmp(kind, "const")) {
            ptr[b] = (void *)(h->desc->weights + (int64_t)cJSON_GetObjectItem(bj, "offset")->valuedouble);
            continue;
        }
        int64_t shape[IR_MAX_RANK], numel;
        int rank;
        if (shape_of(bj, syms, shape, &rank, &numel)) {
            diag_error(d, "size of buffer %d unknown", b);
            goto done;
        }
        int64_t bytes = ir_dtype_storage_bytes(ir_dtype_from_name(cJSON_GetObjectItem(bj, "dtype")->valuestring, -1), numel);
        ptr[b] = calloc(1, (size_t)bytes + 64);
        owned[b] = 1;
    }
    for (uint32_t i = 0; i < n_in; i++) {
        int b = item(ins, (int)i);
        if (owned[b]) free(ptr[b]);
        owned[b] = 0;
        ptr[b] = in[i].data;
    }
    smelt_kargs ka = {(void *const *)ptr, syms, &rt_api};
    cJSON_ArrayForEach(st, steps) {
        const smelt_kernel *k = &h->desc->kernels[(int)cJSON_GetObjectItem(st, "kernel")->valuedouble];
        int64_t ext = k->extent(&ka);
        /* uneven chunks: [0, e/7), [e/7, 3e/7), [3e/7, e) */
        int64_t cuts[4] = {0, ext / 7, ext * 3 / 7, ext};
        for (int c = 0; c < 3; c++)
            if (cuts[c + 1] > cuts[c]) k->run(&ka, cuts[c], cuts[c + 1]);
    }
    for (uint32_t o = 0; o < n_out; o++) {
        int b = item(outs, (int)o);
        const cJSON *bj = cJSON_GetArrayItem(bufs, b);
        interp_tensor *t = &out[o];
        int64_t numel;
        shape_of(bj, syms, t->shape, &t->rank, &numel);
        t->dtype = ir_dtype_from_name(cJSON_GetObjectItem(bj, "dtype")->valuestring, -1);
        t->nbytes = (size_t)ir_dtype_storage_bytes(t->dtype, numel);
        t->data = malloc(t->nbytes + 1);
        memcpy(t->data, ptr[b], t->nbytes);
    }
    rc = 0;
done:
    for (int b = 0; owned && b < nb; b++)
        if (owned[b]) free(ptr[b]);
    free(syms);
    free(ptr);
    free(owned);
    return rc;
}
