/* gguf_import.c — a GGUF model as a graph (gguf_import.h): opens the file,
 * hands its mapping to the graph (weights are constants pointing into it,
 * never copied or dequantized here), checks that general.architecture is
 * one the builder knows (arch_hparams.c), builds and infers the graph. Also the helpers the
 * builders share (gguf_build.h).
 */
#include "gguf_import.h"

#include <stdio.h>
#include <string.h>

#include "arch_hparams.h"
#include "gguf_build.h"
#include "ir/arena.h"
#include "runtime/qmatmul.h"


/* "ARCH.key" into k: 1 when it is absent and optional (the default
 * applies), 0 when it is to be read, -1 on error. */
static int arch_key(gguf_builder *b, const char *key, bool required, char *k, size_t cap) {
    if (snprintf(k, cap, "%s.%s", b->arch, key) >= (int)cap)
        return diag_error(b->d, "%s: key '%s.%s' too long", b->f->path, b->arch, key);
    return !required && !gguf_find(b->f, k);
}

int gb_arch_u64(gguf_builder *b, const char *key, bool required, uint64_t dflt, uint64_t *out) {
    char k[160];
    int r = arch_key(b, key, required, k, sizeof k);
    if (r > 0) *out = dflt;
    return r ? (r < 0 ? -1 : 0) : gguf_get_u64(b->f, k, out, b->d);
}

int gb_arch_f64(gguf_builder *b, const char *key, bool required, double dflt, double *out) {
    char k[160];
    int r = arch_key(b, key, required, k, sizeof k);
    if (r > 0) *out = dflt;
    return r ? (r < 0 ? -1 : 0) : gguf_get_f64(b->f, k, out, b->d);
}

ir_id gb_node(gguf_builder *b, ir_op op, const ir_id *in, uint32_t n_in, const char *origin) {
    ir_id n = ir_add_node(b->g, op, in, n_in, NULL, 1, origin, b->d);
    return n == IR_NONE ? IR_NONE : b->g->nodes[n].out[0];
}

ir_id gb_const_i64(gguf_builder *b, const int64_t *v, int64_t n, bool scalar) {
    ir_dim dim = ir_dim_const(n);
    void *data = arena_memdup(&b->g->arena, v, (size_t)n, sizeof *v);
    if (!data) return IR_NONE;
    return ir_add_const(b->g, ir_fresh_name(b->g, "const"), IR_I64, scalar ? 0 : 1, &dim, data,
                        (uint64_t)n * sizeof *v, -1, b->d);
}

ir_id gb_const_f32(gguf_builder *b, const float *v, int rank, const int64_t *dims) {
    ir_dim dm[IR_MAX_RANK];
    int64_t n = 1;
    for (int i = 0; i < rank; i++) dm[i] = ir_dim_const(dims[i]), n *= dims[i];
    void *data = arena_memdup(&b->g->arena, v, (size_t)n, sizeof *v);
    if (!data) return IR_NONE;
    return ir_add_const(b->g, ir_fresh_name(b->g, "const"), IR_F32, rank, dm, data, (uint64_t)n * sizeof *v, -1,
                        b->d);
}

static ir_id weight(gguf_builder *b, const char *name, int n, const int64_t *want, bool required, bool *quant) {
    const gguf_tensor *t = gguf_find_tensor(b->f, name);
    if (!t) {
        if (required) diag_error(b->d, "%s: tensor '%s' is missing", b->f->path, name);
        return IR_NONE;
    }
    ir_dim dims[4];
    bool same = (int)t->n_dims == n;
    for (int i = 0; i < n && same; i++) same = t->ne[n - 1 - i] == (uint64_t)want[i];
    if (!same) {
        char got[96], exp[96];
        size_t gl = 0, el = 0;
        for (uint32_t i = 0; i < t->n_dims; i++)
            gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%llu", i ? "," : "",
                                   (unsigned long long)t->ne[t->n_dims - 1 - i]);
        got[gl] = 0;
        for (int i = 0; i < n; i++) el += (size_t)snprintf(exp + el, sizeof exp - el, "%s%lld", i ? "," : "", (long long)want[i]);
        exp[el] = 0;
        diag_error(b->d, "%s: tensor '%s': shape [%s], expected [%s] (outermost first)", b->f->path, name, got, exp);
        return IR_NONE;
    }
    for (int i = 0; i < n; i++) dims[i] = ir_dim_const(want[i]);
    ir_id c = ir_add_const(b->g, name, t->dtype, n, dims, t->data, t->nbytes, b->mapping, b->d);
    if (c == IR_NONE || t->dtype == IR_F32) return c;
    if (quant && rt_qmatmul_supported(t->dtype)) {
        *quant = true;
        return c;
    }
    if (ir_dtype_is_quant(t->dtype)) return gb_node(b, IR_OP_DequantizeGGML, &c, 1, name);
    if (t->dtype != IR_F16 && t->dtype != IR_BF16) {
        diag_error(b->d, "%s: tensor '%s': type %s where a float weight is expected", b->f->path, name,
                   ir_dtype_name(t->dtype));
        return IR_NONE;
    }
    ir_id v = gb_node(b, IR_OP_Cast, &c, 1, name);
    if (v == IR_NONE || ir_set_attr_int(b->g, b->g->values[v].producer, "to", IR_F32, b->d)) return IR_NONE;
    return v;
}

ir_id gb_weight(gguf_builder *b, const char *name, int n, const int64_t *want, bool required) {
    return weight(b, name, n, want, required, NULL);
}

ir_id gb_weight_q(gguf_builder *b, const char *name, int n, const int64_t *want, bool *quant) {
    *quant = false;
    return weight(b, name, n, want, true, quant);
}

static ir_graph *import(const char *path, bool kv_cache, diag *d) {
    gguf_file *f = gguf_open(path, d);
    if (!f) return NULL;
    gguf_builder b = {.f = f, .d = d, .kv_cache = kv_cache};
    gguf_str arch;
    if (gguf_get_str(f, "general.architecture", &arch, d)) {
        gguf_close(f);
        return NULL;
    }
    bool known = false;
    if (arch.len < sizeof b.arch) {
        memcpy(b.arch, arch.ptr, arch.len);
        b.arch[arch.len] = 0;
        known = strlen(b.arch) == arch.len && decoder_traits_of(b.arch);
    }
    if (!known) {
        char names[128];
        decoder_arch_names(names, sizeof names);
        diag_error(d, "%s: architecture '%.*s' is not supported (supported: %s)", path,
                   (int)(arch.len > 64 ? 64 : arch.len), arch.ptr, names);
        gguf_close(f);
        return NULL;
    }
    b.g = ir_graph_new(b.arch, path);
    if (!b.g || (b.mapping = ir_add_mapping(b.g, path, f->base, f->size, true)) < 0) {
        diag_error(d, "%s: out of memory", path);
        ir_graph_free(b.g);
        gguf_close(f);
        return NULL;
    }
    f->base = NULL; /* the graph owns the mapping now: gguf_close leaves it */
    char ver[16];
    snprintf(ver, sizeof ver, "%u", f->version);
    ir_add_meta(b.g, "format", "gguf");
    ir_add_meta(b.g, "gguf_version", ver);
    ir_add_meta(b.g, "architecture", b.arch);
    int rc = gguf_build_llama(&b);
    gguf_close(f);
    if (rc || ir_infer(b.g, d)) {
        ir_graph_free(b.g);
        return NULL;
    }
    return b.g;
}

ir_graph *gguf_import_file(const char *path, diag *d) { return import(path, false, d); }

ir_graph *gguf_import_file_kv(const char *path, diag *d) { return import(path, true, d); }
