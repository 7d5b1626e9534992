/* session.c — a session of a loaded model: inputs and their shape checks,
 * symbol binding, buffer sizes, the arena, outputs (rt_session.h).
 *
 * Before each run the named symbols are bound from the input shapes
 * (consistently across inputs), eval_symbols derives the rest, and every
 * buffer not waiting on a data-dependent size is sized; when the symbols
 * differ from the last run's the arena is planned again (plan.c) and grown
 * if needed. Otherwise a run allocates nothing. Library steps that fix a
 * data-dependent size call rt_session_lib_output, which binds the symbol
 * and gives every buffer that was waiting on it its storage.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "runtime/rt_session.h"

static int errf(const smelt_session *s, char *err, size_t err_size, const char *fmt, ...) {
    if (!err || !err_size) return -1;
    int k = snprintf(err, err_size, "%s: ", s->m->name);
    if (k < 0 || (size_t)k >= err_size) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, err_size - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static void *alloc64(uint64_t bytes) {
    uint64_t n = (bytes + RT_PLAN_ALIGN - 1) / RT_PLAN_ALIGN * RT_PLAN_ALIGN;
    if (n < bytes || n > SIZE_MAX) return NULL;
    return aligned_alloc(RT_PLAN_ALIGN, n ? (size_t)n : RT_PLAN_ALIGN);
}

static void arena_release(smelt_session *s);

static const char *sym_name(const rt_manifest *man, int32_t s) {
    return man->syms[s].name ? man->syms[s].name : man->syms[s].expr;
}

/* ---- setup ------------------------------------------------------------- */

/* Does expr name `name` as a whole identifier? */
static bool expr_names(const char *expr, const char *name) {
    size_t n = strlen(name);
    for (const char *p = expr; (p = strstr(p, name)) != NULL; p++) {
        bool before = p == expr || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool after = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (before && after) return true;
    }
    return false;
}

/* Number the data-dependent symbols (named, bound by no input) and find
 * which derived symbols depend on them (their expr names them). */
static int find_dependencies(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    int n_dd = 0;
    for (uint32_t i = 0; i < man->n_syms; i++) {
        s->dd_bit[i] = -1;
        if (man->syms[i].name && !man->syms[i].from_input) {
            if (n_dd == RT_MAX_DD_SYMS)
                return errf(s, err, err_size, "more than %d data-dependent sizes", RT_MAX_DD_SYMS);
            s->dd_bit[i] = n_dd;
            s->sym_dep[i] = 1ull << n_dd++;
        }
    }
    for (uint32_t i = 0; i < man->n_syms; i++)
        if (man->syms[i].expr)
            for (uint32_t j = 0; j < man->n_syms; j++)
                if (s->dd_bit[j] >= 0 && expr_names(man->syms[i].expr, man->syms[j].name)) s->sym_dep[i] |= s->sym_dep[j];
    for (uint32_t b = 0; b < man->n_bufs; b++)
        for (int k = 0; k < man->bufs[b].rank; k++)
            if (man->bufs[b].dims[k].sym >= 0) s->bs[b].dep |= s->sym_dep[man->bufs[b].dims[k].sym];
    for (uint32_t i = 0; i < man->n_inputs; i++)
        if (s->bs[man->inputs[i]].dep)
            return errf(s, err, err_size, "input '%s' has a size that no input binds", man->bufs[man->inputs[i]].name);
    return 0;
}

/* Lives of the buffers over the steps (plan.c, shared with the compiler's
 * kir_memory.c); outputs live to the end, the copies of input and constant
 * outputs (plan entries n_bufs + o) only there. */
static void find_lives(smelt_session *s) {
    const rt_manifest *man = s->man;
    rt_plan_lives_begin(s->plan, man->n_bufs + man->n_outputs);
    for (uint32_t t = 0; t < man->n_steps; t++) {
        const rt_step *st = &man->steps[t];
        rt_plan_lives_step(s->plan, t, st->in, st->n_in, st->out, st->n_out);
    }
    rt_plan_lives_end(s->plan, man->n_bufs, man->outputs, man->n_outputs, man->n_steps);
}

static int prepare(smelt_session *s, char *err, size_t err_size);

int smelt_session_new(smelt_model *m, const smelt_options *o, smelt_session **out, char *err, size_t err_size) {
    *out = NULL;
    const rt_manifest *man = &m->man;
    smelt_session *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, err_size, "%s: out of memory", m->name), -1;
    s->m = m;
    s->man = man;
    size_t ns = man->n_syms + 1, nb = man->n_bufs + 1, ni = man->n_inputs + 1, no = man->n_outputs + 1;
    uint32_t max_in = 1, max_out = 1;
    for (uint32_t t = 0; t < man->n_steps; t++) {
        if (man->steps[t].n_in > max_in) max_in = man->steps[t].n_in;
        if (man->steps[t].n_out > max_out) max_out = man->steps[t].n_out;
    }
    s->syms = calloc(ns, sizeof *s->syms);
    s->prev_syms = calloc(ns, sizeof *s->prev_syms);
    s->sym_dep = calloc(ns, sizeof *s->sym_dep);
    s->dd_bit = calloc(ns, sizeof *s->dd_bit);
    s->bs = calloc(nb, sizeof *s->bs);
    s->addr = calloc(nb, sizeof *s->addr);
    s->in_data = calloc(ni, sizeof *s->in_data);
    s->in_shape = calloc(ni, sizeof *s->in_shape);
    s->in_rank = calloc(ni, sizeof *s->in_rank);
    s->in_gen = calloc(ni, sizeof *s->in_gen);
    s->out = calloc(no, sizeof *s->out);
    s->plan = calloc(nb + no, sizeof *s->plan);
    s->offsets = calloc(nb + no, sizeof *s->offsets);
    s->lib_in = calloc(max_in, sizeof *s->lib_in);
    s->lib_out = calloc(max_out, sizeof *s->lib_out);
    s->gen = 1;
    rt_api_init(&s->api);
    if (!s->syms || !s->prev_syms || !s->sym_dep || !s->dd_bit || !s->bs || !s->addr || !s->in_data || !s->in_shape ||
        !s->in_rank || !s->in_gen || !s->out || !s->plan || !s->offsets || !s->lib_in || !s->lib_out) {
        smelt_session_free(s);
        return snprintf(err, err_size, "%s: out of memory", m->name), -1;
    }
    for (uint32_t t = 0; t < man->n_steps; t++)
        if (man->steps[t].lib && !man->steps[t].fn) {
            errf(s, err, err_size, "node %s: library kernel %s not available", man->steps[t].node, man->steps[t].lib);
            smelt_session_free(s);
            return -1;
        }
    if (find_dependencies(s, err, err_size)) {
        smelt_session_free(s);
        return -1;
    }
    find_lives(s);
    s->pool = rt_pool_new(o ? o->threads : 0);
    if (!s->pool) {
        smelt_session_free(s);
        return snprintf(err, err_size, "%s: cannot start the threads", m->name), -1;
    }
    /* without symbolic inputs every size is known: plan now */
    bool symbolic = false;
    for (uint32_t i = 0; i < man->n_inputs; i++) symbolic |= man->bufs[man->inputs[i]].symbolic;
    if (!symbolic) {
        for (uint32_t i = 0; i < man->n_inputs; i++) {
            const rt_buffer *b = &man->bufs[man->inputs[i]];
            s->in_rank[i] = b->rank;
            for (int k = 0; k < b->rank; k++) s->in_shape[i][k] = b->dims[k].size;
        }
        if (prepare(s, err, err_size)) {
            smelt_session_free(s);
            return -1;
        }
    }
    *out = s;
    return 0;
}

void smelt_session_free(smelt_session *s) {
    if (!s) return;
    if (s->pool) rt_pool_free(s->pool);
    for (uint32_t b = 0; s->bs && b < s->man->n_bufs; b++) free(s->bs[b].heap);
    free(s->syms);
    free(s->prev_syms);
    free(s->sym_dep);
    free(s->dd_bit);
    free(s->bs);
    free(s->addr);
    free(s->in_data);
    free(s->in_shape);
    free(s->in_rank);
    free(s->in_gen);
    free(s->out);
    free(s->plan);
    free(s->offsets);
    arena_release(s);
    free(s->lib_in);
    free(s->lib_out);
    free(s);
}

/* ---- inputs and symbols -------------------------------------------------- */

/* Check axis k of input i, of size v, against the other inputs bound to the
 * same named symbol (those set since the last run, or all with `all`). */
static int check_symbol(smelt_session *s, uint32_t i, int k, int64_t v, bool all, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    int32_t sym = man->bufs[man->inputs[i]].dims[k].sym;
    for (uint32_t j = 0; j < man->n_inputs; j++) {
        if (j == i || !s->in_gen[j] || (!all && s->in_gen[j] != s->gen)) continue;
        const rt_buffer *o = &man->bufs[man->inputs[j]];
        for (int a = 0; a < o->rank; a++)
            if (o->dims[a].sym == sym && s->in_shape[j][a] != v)
                return errf(s, err, err_size, "input '%s' axis %d (%s): given %lld, but input '%s' has %s = %lld",
                            man->bufs[man->inputs[i]].name, k, man->syms[sym].name, (long long)v, o->name,
                            man->syms[sym].name, (long long)s->in_shape[j][a]);
    }
    return 0;
}

int smelt_set_input(smelt_session *s, int i, const void *data, const int64_t *shape, int rank, char *err,
                    size_t err_size) {
    const rt_manifest *man = s->man;
    if (i < 0 || (uint32_t)i >= man->n_inputs)
        return errf(s, err, err_size, "no input %d (the model has %u)", i, man->n_inputs);
    const rt_buffer *b = &man->bufs[man->inputs[i]];
    if (rank != b->rank)
        return errf(s, err, err_size, "input '%s': rank %d given, the model takes rank %d", b->name, rank, b->rank);
    for (int k = 0; k < rank; k++) {
        int32_t sym = b->dims[k].sym;
        if (shape[k] < 0) return errf(s, err, err_size, "input '%s' axis %d: negative size %lld", b->name, k, (long long)shape[k]);
        if (sym < 0 && shape[k] != b->dims[k].size)
            return errf(s, err, err_size, "input '%s' axis %d: expected %lld, given %lld", b->name, k,
                        (long long)b->dims[k].size, (long long)shape[k]);
        if (sym >= 0 && man->syms[sym].name && check_symbol(s, (uint32_t)i, k, shape[k], false, err, err_size)) return -1;
    }
    bool empty = false;
    for (int k = 0; k < rank; k++) empty |= shape[k] == 0;
    if (!data && !empty) return errf(s, err, err_size, "input '%s': no data", b->name);
    s->in_data[i] = data;
    s->in_rank[i] = rank;
    for (int k = 0; k < rank; k++) s->in_shape[i][k] = shape[k];
    s->in_gen[i] = s->gen;
    return 0;
}

int smelt_set_output(smelt_session *s, int i, void *data, size_t bytes, char *err, size_t err_size) {
    if (i < 0 || (uint32_t)i >= s->man->n_outputs)
        return errf(s, err, err_size, "no output %d (the model has %u)", i, s->man->n_outputs);
    s->out[i].user = data;
    s->out[i].user_bytes = data ? bytes : 0;
    s->sized = false; /* the arena no longer holds this output (or holds it again) */
    return 0;
}

/* eval_symbols with the data-dependent symbols not yet bound set to a
 * placeholder (0, else a large value when 0 makes some size negative);
 * sizes that depend on them are not used until they are bound. */
static int eval_syms(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    static const int64_t placeholders[2] = {0, 1 << 24};
    for (int t = 0; t < 2; t++) {
        bool any = false;
        for (uint32_t i = 0; i < man->n_syms; i++)
            if (s->dd_bit[i] >= 0 && !(s->dd_bound >> s->dd_bit[i] & 1)) {
                s->syms[i] = placeholders[t];
                any = true;
            }
        if (s->m->desc->eval_symbols(s->syms) == 0) return 0;
        if (!any) break;
    }
    return errf(s, err, err_size, "the input shapes give a negative or overflowing size");
}

/* Size buffer b from the bound symbols. */
static int size_buffer(smelt_session *s, uint32_t b, char *err, size_t err_size) {
    const rt_buffer *buf = &s->man->bufs[b];
    rt_bufstate *st = &s->bs[b];
    int64_t n = 1;
    for (int k = 0; k < buf->rank; k++) {
        int64_t v = buf->dims[k].sym >= 0 ? s->syms[buf->dims[k].sym] : buf->dims[k].size;
        if (v < 0)
            return errf(s, err, err_size, "buffer '%s' axis %d: negative size %lld (%s)", buf->name, k, (long long)v,
                        sym_name(s->man, buf->dims[k].sym));
        if (v && n > INT64_MAX / v) return errf(s, err, err_size, "buffer '%s': the element count overflows", buf->name);
        n *= v;
        st->shape[k] = v;
    }
    int64_t bytes = ir_dtype_storage_bytes((ir_dtype)buf->dtype, n);
    if (bytes < 0) return errf(s, err, err_size, "buffer '%s': its size in bytes overflows", buf->name);
    st->numel = n;
    st->bytes = (uint64_t)bytes;
    return 0;
}

/* Bind the named symbols from the input shapes, derive the rest and check
 * the input axes whose size is derived. */
static int bind_symbols(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    for (uint32_t i = 0; i < man->n_inputs; i++) {
        const rt_buffer *b = &man->bufs[man->inputs[i]];
        for (int k = 0; k < b->rank; k++) {
            int32_t sym = b->dims[k].sym;
            if (sym < 0 || !man->syms[sym].name) continue;
            if (check_symbol(s, i, k, s->in_shape[i][k], true, err, err_size)) return -1;
            s->syms[sym] = s->in_shape[i][k];
        }
    }
    s->dd_bound = 0;
    if (eval_syms(s, err, err_size)) return -1;
    for (uint32_t i = 0; i < man->n_inputs; i++) {
        const rt_buffer *b = &man->bufs[man->inputs[i]];
        for (int k = 0; k < b->rank; k++) {
            int32_t sym = b->dims[k].sym;
            if (sym >= 0 && !man->syms[sym].name && s->syms[sym] != s->in_shape[i][k])
                return errf(s, err, err_size, "input '%s' axis %d: expected %lld (%s), given %lld", b->name, k,
                            (long long)s->syms[sym], man->syms[sym].expr, (long long)s->in_shape[i][k]);
        }
    }
    return 0;
}

/* ---- sizes and storage ------------------------------------------------------ */

static bool in_arena(const smelt_session *s, uint32_t b) {
    const rt_buffer *buf = &s->man->bufs[b];
    return (buf->kind == RT_BUF_VALUE || buf->kind == RT_BUF_TEMP) && !s->bs[b].dep;
}

static int output_index(const smelt_session *s, uint32_t b) {
    for (uint32_t o = 0; o < s->man->n_outputs; o++)
        if (s->man->outputs[o] == b) return (int)o;
    return -1;
}

static int check_user_output(smelt_session *s, uint32_t o, char *err, size_t err_size) {
    uint32_t b = s->man->outputs[o];
    if (s->out[o].user && s->out[o].user_bytes < s->bs[b].bytes)
        return errf(s, err, err_size, "output '%s' needs %llu bytes, the storage given has %zu", s->man->bufs[b].name,
                    (unsigned long long)s->bs[b].bytes, s->out[o].user_bytes);
    return 0;
}

static void arena_release(smelt_session *s) {
    if (s->hooks.arena_free) s->hooks.arena_free(s->hooks.ctx, s->arena);
    else free(s->arena);
    s->arena = NULL;
    s->arena_cap = 0;
}

void rt_session_set_hooks(smelt_session *s, const rt_exec_hooks *h) {
    arena_release(s);
    s->hooks = *h;
    s->sized = false;
}

/* Size every buffer that does not wait on a data-dependent symbol, plan
 * the arena and give those buffers their addresses. */
static int plan_storage(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    for (uint32_t b = 0; b < man->n_bufs; b++) {
        s->bs[b].bound = false;
        s->plan[b].bytes = 0;
        if (!s->bs[b].dep && size_buffer(s, b, err, err_size)) return -1;
    }
    for (uint32_t o = 0; o < man->n_outputs; o++) {
        uint32_t b = man->outputs[o];
        s->plan[man->n_bufs + o].bytes = 0;
        if (s->bs[b].dep) continue;
        if (check_user_output(s, o, err, err_size)) return -1;
        bool copy = !in_arena(s, b);
        if (!s->out[o].user) s->plan[copy ? man->n_bufs + o : b].bytes = s->bs[b].bytes;
    }
    for (uint32_t b = 0; b < man->n_bufs; b++)
        if (in_arena(s, b) && !man->bufs[b].is_output) s->plan[b].bytes = s->bs[b].bytes;
    uint64_t total;
    if (rt_plan_arena(s->plan, man->n_bufs + man->n_outputs, s->offsets, &total))
        return errf(s, err, err_size, "the arena's size overflows");
    if (total > s->arena_cap || !s->arena) {
        arena_release(s);
        s->arena = s->hooks.arena_alloc ? s->hooks.arena_alloc(s->hooks.ctx, total) : alloc64(total);
        if (!s->arena) return errf(s, err, err_size, "out of memory for an arena of %llu bytes", (unsigned long long)total);
        s->arena_cap = total;
    }
    s->arena_bytes = total;
    for (uint32_t b = 0; b < man->n_bufs; b++) {
        const rt_buffer *buf = &man->bufs[b];
        if (s->bs[b].dep) continue;
        s->bs[b].bound = true;
        if (buf->kind == RT_BUF_CONST) s->addr[b] = (void *)(s->m->desc->weights + buf->offset);
        else if (in_arena(s, b)) s->addr[b] = s->arena + s->offsets[b];
    }
    for (uint32_t o = 0; o < man->n_outputs; o++) {
        uint32_t b = man->outputs[o];
        if (s->bs[b].dep) continue;
        bool copy = !in_arena(s, b);
        if (s->out[o].user) s->out[o].addr = s->out[o].user;
        else s->out[o].addr = copy ? s->arena + s->offsets[man->n_bufs + o] : s->arena + s->offsets[b];
        if (!copy) s->addr[b] = s->out[o].addr;
    }
    return 0;
}

static int prepare(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    if (bind_symbols(s, err, err_size)) return -1;
    if (!s->sized || memcmp(s->syms, s->prev_syms, man->n_syms * sizeof *s->syms)) {
        s->sized = false;
        if (plan_storage(s, err, err_size)) return -1;
        memcpy(s->prev_syms, s->syms, man->n_syms * sizeof *s->syms);
        s->sized = true;
    }
    for (uint32_t b = 0; b < man->n_bufs; b++)
        if (s->bs[b].dep) s->bs[b].bound = false;
    return 0;
}

/* Give storage to every deferred buffer whose symbols are now all bound. */
static int bind_deferred(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    for (uint32_t b = 0; b < man->n_bufs; b++) {
        rt_bufstate *st = &s->bs[b];
        if (!st->dep || st->bound || (st->dep & ~s->dd_bound)) continue;
        if (size_buffer(s, b, err, err_size)) return -1;
        int o = output_index(s, b);
        if (o >= 0 && s->out[o].user) {
            if (check_user_output(s, (uint32_t)o, err, err_size)) return -1;
            s->addr[b] = s->out[o].user;
        } else {
            if (st->bytes > st->heap_cap || !st->heap) {
                free(st->heap);
                st->heap_cap = 0;
                if (!(st->heap = alloc64(st->bytes)))
                    return errf(s, err, err_size, "out of memory for buffer '%s' (%llu bytes)", man->bufs[b].name,
                                (unsigned long long)st->bytes);
                st->heap_cap = st->bytes;
            }
            s->addr[b] = st->heap;
        }
        if (o >= 0) s->out[o].addr = s->addr[b];
        st->bound = true;
    }
    return 0;
}

/* ---- library outputs ---------------------------------------------------- */

static rt_tensor *lib_fail(rt_lib_call *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_size, fmt, ap);
    va_end(ap);
    return NULL;
}

rt_tensor *rt_session_lib_output(rt_lib_call *c, uint32_t o, const int64_t *shape) {
    smelt_session *s = c->priv;
    const rt_manifest *man = s->man;
    const rt_step *st = s->step;
    if (o >= st->n_out) return lib_fail(c, "no output %u (the step has %u)", o, st->n_out);
    uint32_t b = (uint32_t)st->out[o];
    const rt_buffer *buf = &man->bufs[b];
    bool bound_new = false;
    for (int k = 0; k < buf->rank; k++) {
        int32_t sym = buf->dims[k].sym;
        if (shape[k] < 0) return lib_fail(c, "output %u (%s) axis %d: negative size %lld", o, buf->name, k, (long long)shape[k]);
        if (sym >= 0 && s->dd_bit[sym] >= 0 && !(s->dd_bound >> s->dd_bit[sym] & 1)) {
            s->syms[sym] = shape[k];
            s->dd_bound |= 1ull << s->dd_bit[sym];
            bound_new = true;
        }
    }
    if (bound_new) {
        char msg[RT_LIB_ERR];
        if (eval_syms(s, msg, sizeof msg) || bind_deferred(s, msg, sizeof msg)) return lib_fail(c, "%s", msg);
    }
    rt_bufstate *bs = &s->bs[b];
    if (!bs->bound) return lib_fail(c, "output %u (%s): its size depends on a size not bound yet", o, buf->name);
    for (int k = 0; k < buf->rank; k++)
        if (shape[k] != bs->shape[k])
            return lib_fail(c, "output %u (%s) axis %d: size %lld, the model expects %lld", o, buf->name, k,
                            (long long)shape[k], (long long)bs->shape[k]);
    if (bs->bytes) memset(s->addr[b], 0, (size_t)bs->bytes);
    rt_tensor *t = &s->lib_out[o];
    t->present = true;
    t->dtype = buf->dtype;
    t->rank = buf->rank;
    memcpy(t->shape, bs->shape, sizeof t->shape);
    t->numel = bs->numel;
    t->data = s->addr[b];
    return t;
}

/* ---- running ------------------------------------------------------------------ */

int smelt_run(smelt_session *s, char *err, size_t err_size) {
    const rt_manifest *man = s->man;
    for (uint32_t i = 0; i < man->n_inputs; i++)
        if (!s->in_gen[i]) return errf(s, err, err_size, "input '%s' is not set", man->bufs[man->inputs[i]].name);
    s->ran = false;
    if (prepare(s, err, err_size)) return -1;
    for (uint32_t i = 0; i < man->n_inputs; i++) s->addr[man->inputs[i]] = (void *)s->in_data[i];
    s->gen++;
    if (s->hooks.exec ? s->hooks.exec(s->hooks.ctx, s, err, err_size) : rt_exec(s, err, err_size)) return -1;
    for (uint32_t o = 0; o < man->n_outputs; o++) {
        uint32_t b = man->outputs[o];
        if (!s->bs[b].bound)
            return errf(s, err, err_size, "output '%s': no step gave it a size", man->bufs[b].name);
        if (s->out[o].addr != s->addr[b] && s->bs[b].bytes)
            memcpy(s->out[o].addr, s->addr[b], (size_t)s->bs[b].bytes);
    }
    s->ran = true;
    return 0;
}

int smelt_get_output(smelt_session *s, int i, const void **data, int64_t *shape, int *rank) {
    if (!s->ran || i < 0 || (uint32_t)i >= s->man->n_outputs) return -1;
    uint32_t b = s->man->outputs[i];
    *data = s->out[i].addr;
    *rank = s->man->bufs[b].rank;
    memcpy(shape, s->bs[b].shape, (size_t)*rank * sizeof *shape);
    return 0;
}

size_t smelt_arena_bytes(const smelt_session *s) { return s->sized ? (size_t)s->arena_bytes : 0; }
