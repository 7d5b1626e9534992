/* vk_exec.c — a session's steps on a Vulkan device (see vk.h).
 *
 * Memory: the weights are copied once into a device-local buffer (through
 * a staging buffer when that memory is not host-visible); the session's
 * arena is one host-visible buffer (device-local too where the device has
 * such memory: UMA, resizable BAR), mapped, so that steps left to the CPU
 * (library routines, kernels without a module) work on it in place between
 * dispatches; the symbol values live in a small host-visible buffer written
 * before each run. Buffers outside both (the caller's inputs and output
 * storage, buffers of data-dependent size on the heap) get a mirror in an
 * "io" buffer, copied in before and out after the dispatches that touch
 * them. Caller arrays bound every run (a KV cache, the logits) can live
 * in buffers of the executor's instead (rt_vk_host_alloc): bound in
 * place, no copies.
 *
 * Steps: consecutive device steps form a segment with one command buffer
 * (bind, dispatch, barrier per step, a barrier to the host at the end).
 * At each run a segment's bindings and group counts are computed from the
 * bound sizes and addresses; when they equal those it was recorded with,
 * the command buffer is submitted again as it is, otherwise the descriptor
 * sets that changed are rewritten and it is recorded again (an LLM's decode
 * steps: the KV cache's bindings grow every step). CPU steps run through
 * rt_exec_step, after the previous segment's fence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_session.h"
#include "runtime/vulkan/vk_internal.h"

#define IO_ALIGN 64

typedef struct vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    unsigned char *map;           /* NULL when not host-visible */
    uint64_t size;
    uint32_t gen;                 /* changes when the buffer is made again */
} vk_buf;

typedef struct vk_bind { /* one descriptor as recorded */
    uint32_t gen;
    uint64_t offset, range;
} vk_bind;

typedef struct vk_step {
    VkShaderModule mod;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipeline pipe;
    VkDescriptorSet set;
    uint32_t n_bind;              /* symbols, out, reads */
    int32_t seg;                  /* its segment; -1: a CPU step */
    uint32_t tile;                /* rt_vk_module's tiling */
    int32_t tile_m, tile_n;
    bool per_group;               /* one workgroup per output element */
} vk_step;

typedef struct vk_seg {
    uint32_t first, last;         /* steps */
    VkCommandBuffer cb;
    vk_bind *sig;                 /* per step: n_bind descriptors, then (gx, gy) as a vk_bind */
    uint32_t n_sig;
    bool recorded;
} vk_seg;

typedef struct vk_mirror {
    void *host;
    uint64_t offset, bytes;
    bool in, out;                 /* read / written by the segment */
} vk_mirror;

struct rt_vk_exec {
    rt_vk *vk;
    smelt_session *s;
    uint32_t n_steps, n_segs, wg;
    vk_step *steps;
    vk_seg *segs;
    VkPipelineCache cache;
    VkDescriptorPool pool;
    VkCommandPool cmd_pool;
    VkFence fence;
    VkQueryPool queries;
    vk_buf weights, syms, io, arena, dummy;
    vk_buf *shared;               /* rt_vk_host_alloc's buffers (buf NULL: free slot) */
    uint32_t n_shared;
    uint32_t next_gen;
    vk_bind *cur;                 /* the signature being computed */
    vk_mirror *mirrors;
    uint32_t n_mirrors, cap_mirrors;
    uint64_t io_used;
    rt_vk_profile *prof;
    uint32_t n_prof;
    char err[512];                /* arena allocation failures */
};

static int errv(char *err, size_t n, const char *what, VkResult r) {
    snprintf(err, n, "Vulkan: %s: %s", what, rt_vk_result(r));
    return -1;
}

/* ---- buffers ---- */

static int mem_type(rt_vk *vk, uint32_t bits, VkMemoryPropertyFlags need, VkMemoryPropertyFlags want) {
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < vk->mem.memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = vk->mem.memoryTypes[i].propertyFlags;
            if ((bits >> i & 1) && (f & need) == need && (pass || (f & want) == want)) return (int)i;
        }
    return -1;
}

static void buf_free(rt_vk *vk, vk_buf *b) {
    if (b->buf) vk->fn.vkDestroyBuffer(vk->device, b->buf, NULL);
    if (b->mem) vk->fn.vkFreeMemory(vk->device, b->mem, NULL);
    uint32_t gen = b->gen;
    memset(b, 0, sizeof *b);
    b->gen = gen;
}

enum { BUF_DEVICE, BUF_HOST, BUF_HOST_CACHED };

/* A storage buffer of `size` bytes: host-visible (and mapped) when host is
 * BUF_HOST (device-local preferred) or BUF_HOST_CACHED (host-cached
 * preferred: memory the host reads fast), else device-local preferred. */
static int buf_make(rt_vk_exec *x, vk_buf *b, uint64_t size, int host, const char *what, char *err, size_t n) {
    rt_vk *vk = x->vk;
    buf_free(vk, b);
    size = (size + IO_ALIGN - 1) / IO_ALIGN * IO_ALIGN + IO_ALIGN; /* room for ranges rounded up */
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vk->fn.vkCreateBuffer(vk->device, &bi, NULL, &b->buf);
    if (r != VK_SUCCESS) return errv(err, n, what, r);
    VkMemoryRequirements req;
    vk->fn.vkGetBufferMemoryRequirements(vk->device, b->buf, &req);
    VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int t = host ? mem_type(vk, req.memoryTypeBits, hv,
                            host == BUF_HOST_CACHED ? VK_MEMORY_PROPERTY_HOST_CACHED_BIT : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
                 : mem_type(vk, req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (t < 0) {
        snprintf(err, n, "Vulkan: %s: the device has no suitable memory type", what);
        return -1;
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                               .memoryTypeIndex = (uint32_t)t};
    r = vk->fn.vkAllocateMemory(vk->device, &ai, NULL, &b->mem);
    int t2 = host ? mem_type(vk, req.memoryTypeBits & ~(1u << t), hv, VK_MEMORY_PROPERTY_HOST_CACHED_BIT) : -1;
    if (r != VK_SUCCESS && t2 >= 0) { /* device memory the host maps can be a small heap (a 256 MiB BAR): host memory */
        ai.memoryTypeIndex = (uint32_t)(t = t2);
        r = vk->fn.vkAllocateMemory(vk->device, &ai, NULL, &b->mem);
    }
    if (r != VK_SUCCESS) {
        snprintf(err, n, "Vulkan: %s (%llu bytes): %s", what, (unsigned long long)size, rt_vk_result(r));
        return -1;
    }
    if ((r = vk->fn.vkBindBufferMemory(vk->device, b->buf, b->mem, 0)) != VK_SUCCESS) return errv(err, n, what, r);
    if (vk->mem.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        void *p;
        if ((r = vk->fn.vkMapMemory(vk->device, b->mem, 0, VK_WHOLE_SIZE, 0, &p)) != VK_SUCCESS)
            return errv(err, n, what, r);
        b->map = p;
    }
    b->size = size;
    b->gen = ++x->next_gen;
    return 0;
}

/* Submit one command buffer and wait for it. */
static int submit_wait(rt_vk_exec *x, VkCommandBuffer cb, const char *what, char *err, size_t n) {
    rt_vk *vk = x->vk;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    VkResult r = vk->fn.vkResetFences(vk->device, 1, &x->fence);
    if (r == VK_SUCCESS) r = vk->fn.vkQueueSubmit(vk->queue, 1, &si, x->fence);
    if (r == VK_SUCCESS) r = vk->fn.vkWaitForFences(vk->device, 1, &x->fence, VK_TRUE, UINT64_MAX);
    return r == VK_SUCCESS ? 0 : errv(err, n, what, r);
}

/* The weights, once, into device memory. */
static int upload_weights(rt_vk_exec *x, char *err, size_t n) {
    rt_vk *vk = x->vk;
    const smelt_model_desc *d = x->s->m->desc;
    uint64_t len = d->weights_len ? d->weights_len : 1;
    if (buf_make(x, &x->weights, len, false, "weights", err, n)) return -1;
    if (!d->weights_len) return 0;
    if (x->weights.map) {
        memcpy(x->weights.map, d->weights, d->weights_len);
        return 0;
    }
    vk_buf stage = {0};
    VkCommandBuffer cb;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = x->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    if (buf_make(x, &stage, len, true, "weights staging", err, n)) return -1;
    memcpy(stage.map, d->weights, d->weights_len);
    VkResult r = vk->fn.vkAllocateCommandBuffers(vk->device, &ai, &cb);
    if (r != VK_SUCCESS) {
        buf_free(vk, &stage);
        return errv(err, n, "command buffer", r);
    }
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    vk->fn.vkBeginCommandBuffer(cb, &bi);
    VkBufferCopy cp = {0, 0, d->weights_len};
    vk->fn.vkCmdCopyBuffer(cb, stage.buf, x->weights.buf, 1, &cp);
    vk->fn.vkEndCommandBuffer(cb);
    int rc = submit_wait(x, cb, "uploading the weights", err, n);
    buf_free(vk, &stage);
    return rc;
}

/* ---- the arena, through the session's hooks ---- */

static void *arena_alloc(void *ctx, uint64_t bytes) {
    rt_vk_exec *x = ctx;
    if (buf_make(x, &x->arena, bytes ? bytes : 1, true, "the activation arena", x->err, sizeof x->err)) return NULL;
    return x->arena.map;
}

static void arena_free(void *ctx, void *p) {
    rt_vk_exec *x = ctx;
    if (p && p == x->arena.map) buf_free(x->vk, &x->arena);
}

/* ---- pipelines ---- */

static int make_step(rt_vk_exec *x, uint32_t t, const rt_vk_module *m, char *err, size_t n) {
    rt_vk *vk = x->vk;
    vk_step *st = &x->steps[t];
    const rt_step *ms = &x->s->man->steps[t];
    st->n_bind = 2 + ms->n_in;
    st->tile = m->tile;
    st->tile_m = m->tile_m;
    st->tile_n = m->tile_n;
    st->per_group = m->per_group && !m->tile;
    if (m->tile && (m->tile_m < 0 || m->tile_n < m->tile_m || m->tile_m >= x->s->man->bufs[ms->out[0]].rank ||
                    m->tile_n >= x->s->man->bufs[ms->out[0]].rank)) {
        snprintf(err, n, "node %s: tiled axes out of range", ms->node);
        return -1;
    }
    VkShaderModuleCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = m->n_words * 4,
                                   .pCode = m->words};
    VkResult r = vk->fn.vkCreateShaderModule(vk->device, &si, NULL, &st->mod);
    if (r != VK_SUCCESS) return errv(err, n, "shader module", r);
    /* a step binds as many buffers as its kernel reads (the device's limit
     * was checked when the module was made or attached) */
    VkDescriptorSetLayoutBinding *lb = calloc(st->n_bind, sizeof *lb);
    if (!lb) {
        snprintf(err, n, "node %s: out of memory", ms->node);
        return -1;
    }
    for (uint32_t i = 0; i < st->n_bind; i++)
        lb[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = st->n_bind, .pBindings = lb};
    r = vk->fn.vkCreateDescriptorSetLayout(vk->device, &li, NULL, &st->dsl);
    free(lb);
    if (r != VK_SUCCESS) return errv(err, n, "descriptor set layout", r);
    VkPipelineLayoutCreateInfo pli = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                      .pSetLayouts = &st->dsl};
    if ((r = vk->fn.vkCreatePipelineLayout(vk->device, &pli, NULL, &st->layout)) != VK_SUCCESS)
        return errv(err, n, "pipeline layout", r);
    VkSpecializationMapEntry me = {0, 0, 4};
    VkSpecializationInfo spec = {1, &me, 4, &x->wg};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = st->mod, .pName = "main", .pSpecializationInfo = &spec},
        .layout = st->layout};
    if ((r = vk->fn.vkCreateComputePipelines(vk->device, x->cache, 1, &ci, NULL, &st->pipe)) != VK_SUCCESS) {
        snprintf(err, n, "Vulkan: node %s: cannot build the pipeline: %s", ms->node, rt_vk_result(r));
        return -1;
    }
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = x->pool, .descriptorSetCount = 1, .pSetLayouts = &st->dsl};
    if ((r = vk->fn.vkAllocateDescriptorSets(vk->device, &ai, &st->set)) != VK_SUCCESS)
        return errv(err, n, "descriptor set", r);
    return 0;
}

/* ---- resolving buffers to descriptors ---- */

static vk_buf *buf_by_gen(rt_vk_exec *x, uint32_t gen) {
    vk_buf *all[] = {&x->weights, &x->syms, &x->io, &x->arena, &x->dummy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]->buf && all[i]->gen == gen) return all[i];
    for (uint32_t i = 0; i < x->n_shared; i++)
        if (x->shared[i].buf && x->shared[i].gen == gen) return &x->shared[i];
    return NULL;
}

/* The rt_vk_host_alloc buffer holding [p, p + bytes), or NULL. */
static vk_buf *shared_of(rt_vk_exec *x, const unsigned char *p, uint64_t bytes) {
    for (uint32_t i = 0; i < x->n_shared; i++) {
        vk_buf *b = &x->shared[i];
        if (b->map && p >= b->map && p + bytes <= b->map + b->size) return b;
    }
    return NULL;
}

void *rt_vk_host_alloc(rt_vk_exec *x, uint64_t bytes, bool host_reads) {
    uint32_t i = 0;
    while (i < x->n_shared && x->shared[i].buf) i++;
    if (i == x->n_shared) {
        vk_buf *nb = realloc(x->shared, (x->n_shared + 1) * sizeof *nb);
        if (!nb) return NULL;
        x->shared = nb;
        memset(&x->shared[x->n_shared++], 0, sizeof *nb);
    }
    if (buf_make(x, &x->shared[i], bytes ? bytes : 1, host_reads ? BUF_HOST_CACHED : BUF_HOST, "caller memory", x->err,
                 sizeof x->err))
        return NULL;
    return x->shared[i].map;
}

void rt_vk_host_free(rt_vk_exec *x, void *p) {
    vk_buf *b = p ? shared_of(x, p, 0) : NULL;
    if (b && b->map == p) {
        x->vk->fn.vkDeviceWaitIdle(x->vk->device);
        buf_free(x->vk, b);
    }
}

static int add_mirror(rt_vk_exec *x, void *host, uint64_t bytes, bool out, uint64_t *offset) {
    for (uint32_t i = 0; i < x->n_mirrors; i++)
        if (x->mirrors[i].host == host && x->mirrors[i].bytes == bytes) {
            x->mirrors[i].out |= out;
            x->mirrors[i].in |= !out;
            *offset = x->mirrors[i].offset;
            return 0;
        }
    if (x->n_mirrors == x->cap_mirrors) {
        uint32_t cap = x->cap_mirrors ? 2 * x->cap_mirrors : 16;
        vk_mirror *m = realloc(x->mirrors, cap * sizeof *m);
        if (!m) return -1;
        x->mirrors = m;
        x->cap_mirrors = cap;
    }
    *offset = x->io_used;
    x->mirrors[x->n_mirrors++] = (vk_mirror){host, *offset, bytes, !out, out};
    x->io_used += (bytes + IO_ALIGN - 1) / IO_ALIGN * IO_ALIGN;
    return 0;
}

/* The descriptor of manifest buffer b (out: written by the step). */
static int resolve(rt_vk_exec *x, int32_t b, bool out, vk_bind *d, char *err, size_t n) {
    smelt_session *s = x->s;
    if (b < 0 || !s->bs[b].bound || !s->bs[b].bytes) { /* empty (or an omitted operand): a dummy range */
        if (b >= 0 && !s->bs[b].bound) {
            snprintf(err, n, "%s: buffer '%s' has no size yet (a data-dependent size not bound)", s->m->name,
                     s->man->bufs[b].name);
            return -1;
        }
        *d = (vk_bind){x->dummy.gen, 0, 16};
        return 0;
    }
    uint64_t bytes = s->bs[b].bytes, range = (bytes + 3) / 4 * 4;
    if (bytes > x->vk->info.max_storage_range) {
        snprintf(err, n, "%s: buffer '%s' is %llu bytes, more than one Vulkan binding of this device spans (%llu)",
                 s->m->name, s->man->bufs[b].name, (unsigned long long)bytes,
                 (unsigned long long)x->vk->info.max_storage_range);
        return -1;
    }
    unsigned char *p = s->addr[b];
    const unsigned char *w = s->m->desc->weights;
    const vk_buf *sh = shared_of(x, p, bytes);
    if (x->arena.map && p >= x->arena.map && p + bytes <= x->arena.map + x->arena.size)
        *d = (vk_bind){x->arena.gen, (uint64_t)(p - x->arena.map), range};
    else if (sh && (uint64_t)(p - sh->map) % x->vk->limits.minStorageBufferOffsetAlignment == 0)
        *d = (vk_bind){sh->gen, (uint64_t)(p - sh->map), range}; /* in place: no mirror */
    else if (w && p >= w && p + bytes <= w + s->m->desc->weights_len)
        *d = (vk_bind){x->weights.gen, (uint64_t)(p - w), range};
    else {
        uint64_t off;
        if (add_mirror(x, p, bytes, out, &off)) {
            snprintf(err, n, "out of memory");
            return -1;
        }
        *d = (vk_bind){x->io.gen, off, range}; /* run_segment grows io and asks again when it is too small */
    }
    return 0;
}

/* This run's signature of segment g into x->cur (mirrors planned). */
static int signature(rt_vk_exec *x, const vk_seg *g, char *err, size_t n) {
    smelt_session *s = x->s;
    uint32_t k = 0;
    for (uint32_t t = g->first; t <= g->last; t++) {
        const rt_step *ms = &s->man->steps[t];
        x->cur[k++] = (vk_bind){x->syms.gen, 0, (uint64_t)(s->man->n_syms ? s->man->n_syms : 1) * 8};
        if (resolve(x, ms->out[0], true, &x->cur[k++], err, n)) return -1;
        for (uint32_t i = 0; i < ms->n_in; i++)
            if (resolve(x, ms->in[i], false, &x->cur[k++], err, n)) return -1;
        int64_t numel = s->bs[ms->out[0]].numel;
        uint64_t groups = ((uint64_t)numel + x->wg - 1) / x->wg;
        const vk_step *vs = &x->steps[t];
        if (vs->per_group) groups = (uint64_t)numel;
        if (vs->tile) { /* tiles of the (m, n) plane times the other axes; n: the axes from tile_n on */
            const int64_t *sh = s->bs[ms->out[0]].shape;
            uint64_t nn = 1;
            groups = 1;
            for (int ax = 0; ax < s->man->bufs[ms->out[0]].rank; ax++)
                if (ax >= vs->tile_n) nn *= (uint64_t)sh[ax];
                else groups *= ax == vs->tile_m ? ((uint64_t)sh[ax] + vs->tile - 1) / vs->tile : (uint64_t)sh[ax];
            groups *= (nn + vs->tile - 1) / vs->tile;
        }
        uint64_t gx = groups < x->vk->limits.maxComputeWorkGroupCount[0] ? groups : x->vk->limits.maxComputeWorkGroupCount[0];
        uint64_t gy = gx ? (groups + gx - 1) / gx : 0;
        if (gy > x->vk->limits.maxComputeWorkGroupCount[1]) {
            snprintf(err, n, "%s: node %s: %lld elements are more than one dispatch covers", s->m->name, ms->node,
                     (long long)numel);
            return -1;
        }
        x->cur[k++] = (vk_bind){0, gx, gy};
    }
    return 0;
}

/* Rewrite the descriptor sets of segment g from x->cur and record it. */
static int record(rt_vk_exec *x, vk_seg *g, char *err, size_t n) {
    rt_vk *vk = x->vk;
    uint32_t k = 0;
    bool was = g->recorded; /* g->sig holds what the descriptor sets hold */
    g->recorded = false;    /* until this recording is complete */
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VkResult r = vk->fn.vkResetCommandBuffer(g->cb, 0);
    if (r == VK_SUCCESS) r = vk->fn.vkBeginCommandBuffer(g->cb, &bi);
    if (r != VK_SUCCESS) return errv(err, n, "recording", r);
    if (x->queries) vk->fn.vkCmdResetQueryPool(g->cb, x->queries, 2 * g->first, 2 * (g->last - g->first + 1));
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    for (uint32_t t = g->first; t <= g->last; t++) {
        vk_step *st = &x->steps[t];
        VkDescriptorBufferInfo bis[64];
        VkWriteDescriptorSet ws = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = st->set,
                                   .descriptorCount = st->n_bind, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                   .pBufferInfo = bis};
        bool same = was; /* the step's descriptors as recorded last time: not rewritten */
        for (uint32_t i = 0; i < st->n_bind; i++, k++) {
            vk_buf *b = buf_by_gen(x, x->cur[k].gen);
            if (!b) {
                snprintf(err, n, "internal error: a binding of step %u has no buffer", t);
                return -1;
            }
            bis[i] = (VkDescriptorBufferInfo){b->buf, x->cur[k].offset, x->cur[k].range};
            same = same && g->sig[k].gen == x->cur[k].gen && g->sig[k].offset == x->cur[k].offset &&
                   g->sig[k].range == x->cur[k].range;
        }
        if (!same) vk->fn.vkUpdateDescriptorSets(vk->device, 1, &ws, 0, NULL);
        uint32_t gx = (uint32_t)x->cur[k].offset, gy = (uint32_t)x->cur[k].range;
        k++;
        if (x->queries)
            vk->fn.vkCmdWriteTimestamp(g->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, x->queries, 2 * t);
        if (gx) {
            vk->fn.vkCmdBindPipeline(g->cb, VK_PIPELINE_BIND_POINT_COMPUTE, st->pipe);
            vk->fn.vkCmdBindDescriptorSets(g->cb, VK_PIPELINE_BIND_POINT_COMPUTE, st->layout, 0, 1, &st->set, 0, NULL);
            vk->fn.vkCmdDispatch(g->cb, gx, gy, 1);
        }
        if (x->queries)
            vk->fn.vkCmdWriteTimestamp(g->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, x->queries, 2 * t + 1);
        vk->fn.vkCmdPipelineBarrier(g->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                    0, 1, &mb, 0, NULL, 0, NULL);
    }
    VkMemoryBarrier hb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vk->fn.vkCmdPipelineBarrier(g->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &hb, 0,
                                NULL, 0, NULL);
    if ((r = vk->fn.vkEndCommandBuffer(g->cb)) != VK_SUCCESS) return errv(err, n, "recording", r);
    memcpy(g->sig, x->cur, g->n_sig * sizeof *g->sig);
    g->recorded = true;
    return 0;
}

static int run_segment(rt_vk_exec *x, vk_seg *g, char *err, size_t n) {
    smelt_session *s = x->s;
    x->n_mirrors = 0;
    x->io_used = 0;
    if (signature(x, g, err, n)) return -1;
    if (x->io_used > 0 && (!x->io.buf || x->io_used + IO_ALIGN > x->io.size)) { /* grow io, then again */
        if (buf_make(x, &x->io, 2 * x->io_used, true, "input/output mirrors", err, n)) return -1;
        x->n_mirrors = 0;
        x->io_used = 0;
        if (signature(x, g, err, n)) return -1;
    }
    if (!g->recorded || memcmp(g->sig, x->cur, g->n_sig * sizeof *g->sig))
        if (record(x, g, err, n)) return -1;
    for (uint32_t i = 0; i < x->n_mirrors; i++)
        if (x->mirrors[i].in) memcpy(x->io.map + x->mirrors[i].offset, x->mirrors[i].host, x->mirrors[i].bytes);
    char what[300];
    snprintf(what, sizeof what, "running %s (steps %u-%u, node %s)", s->m->name, g->first, g->last,
             s->man->steps[g->first].node);
    if (submit_wait(x, g->cb, what, err, n)) return -1;
    for (uint32_t i = 0; i < x->n_mirrors; i++)
        if (x->mirrors[i].out) memcpy(x->mirrors[i].host, x->io.map + x->mirrors[i].offset, x->mirrors[i].bytes);
    if (x->queries) {
        uint64_t ts[2];
        double period = x->vk->limits.timestampPeriod;
        for (uint32_t t = g->first; t <= g->last; t++) {
            VkResult r = x->vk->fn.vkGetQueryPoolResults(x->vk->device, x->queries, 2 * t, 2, sizeof ts, ts, 8,
                                                         VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
            if (r == VK_SUCCESS) x->prof[x->n_prof++] = (rt_vk_profile){t, (double)(ts[1] - ts[0]) * period * 1e-6};
        }
    }
    return 0;
}

static int run_steps(void *ctx, smelt_session *s, char *err, size_t n) {
    rt_vk_exec *x = ctx;
    x->n_prof = 0;
    if (s->man->n_syms) memcpy(x->syms.map, s->syms, s->man->n_syms * sizeof *s->syms);
    for (uint32_t t = 0; t < x->n_steps; t++) {
        int32_t g = x->steps[t].seg;
        if (g < 0) {
            if (rt_exec_step(s, t, err, n)) return -1;
            continue;
        }
        if (run_segment(x, &x->segs[g], err, n)) return -1;
        t = x->segs[g].last;
    }
    return 0;
}

/* ---- attach / free ---- */

int rt_vk_attach(rt_vk *vk, smelt_session *s, const rt_vk_module *mods, uint32_t n_steps, bool profile,
                 rt_vk_exec **out, char *err, size_t err_size) {
    *out = NULL;
    if (n_steps != s->man->n_steps) {
        snprintf(err, err_size, "%s: %u SPIR-V modules given for %u steps", s->m->name, n_steps, s->man->n_steps);
        return -1;
    }
    if (vk->limits.minStorageBufferOffsetAlignment > IO_ALIGN) {
        snprintf(err, err_size, "Vulkan: the device aligns storage buffers to %llu bytes; smelt's arena to %d",
                 (unsigned long long)vk->limits.minStorageBufferOffsetAlignment, IO_ALIGN);
        return -1;
    }
    rt_vk_exec *x = calloc(1, sizeof *x);
    if (!x) return snprintf(err, err_size, "out of memory"), -1;
    x->vk = vk;
    x->s = s;
    x->n_steps = n_steps;
    x->wg = !strcmp(vk->info.type, "cpu") ? 64 : 256;
    if (x->wg > vk->limits.maxComputeWorkGroupInvocations) x->wg = vk->limits.maxComputeWorkGroupInvocations;
    x->steps = calloc(n_steps ? n_steps : 1, sizeof *x->steps);
    x->segs = calloc(n_steps ? n_steps : 1, sizeof *x->segs);
    x->cur = NULL;
    x->prof = calloc(n_steps ? n_steps : 1, sizeof *x->prof);
    if (!x->steps || !x->segs || !x->prof) goto oom;
    VkResult r;
    VkPipelineCacheCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    if ((r = vk->fn.vkCreatePipelineCache(vk->device, &pci, NULL, &x->cache)) != VK_SUCCESS) goto vkfail;
    VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = vk->queue_family};
    if ((r = vk->fn.vkCreateCommandPool(vk->device, &cpi, NULL, &x->cmd_pool)) != VK_SUCCESS) goto vkfail;
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = vk->fn.vkCreateFence(vk->device, &fi, NULL, &x->fence)) != VK_SUCCESS) goto vkfail;
    /* segments and the descriptor pool */
    uint32_t n_dev = 0, n_desc = 0, max_sig = 0;
    for (uint32_t t = 0; t < n_steps; t++) {
        x->steps[t].seg = -1;
        if (!mods[t].words) continue; /* library steps too: codegen/spirv/spv_ggml.c */
        n_dev++;
        n_desc += 2 + s->man->steps[t].n_in;
        if (t == 0 || x->steps[t - 1].seg < 0) x->segs[x->n_segs++] = (vk_seg){.first = t};
        x->steps[t].seg = (int32_t)x->n_segs - 1;
        vk_seg *g = &x->segs[x->n_segs - 1];
        g->last = t;
        g->n_sig += 3 + s->man->steps[t].n_in;
        if (g->n_sig > max_sig) max_sig = g->n_sig;
    }
    x->cur = calloc(max_sig ? max_sig : 1, sizeof *x->cur);
    if (!x->cur) goto oom;
    if (n_dev) {
        VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, n_desc};
        VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = n_dev,
                                          .poolSizeCount = 1, .pPoolSizes = &ps};
        if ((r = vk->fn.vkCreateDescriptorPool(vk->device, &dpi, NULL, &x->pool)) != VK_SUCCESS) goto vkfail;
    }
    if (profile && vk->info.timestamps) {
        VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2 * (n_steps ? n_steps : 1)};
        if ((r = vk->fn.vkCreateQueryPool(vk->device, &qi, NULL, &x->queries)) != VK_SUCCESS) goto vkfail;
    }
    for (uint32_t g = 0; g < x->n_segs; g++) {
        x->segs[g].sig = calloc(x->segs[g].n_sig, sizeof *x->segs[g].sig);
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = x->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                          .commandBufferCount = 1};
        if (!x->segs[g].sig) goto oom;
        if ((r = vk->fn.vkAllocateCommandBuffers(vk->device, &ai, &x->segs[g].cb)) != VK_SUCCESS) goto vkfail;
    }
    for (uint32_t t = 0; t < n_steps; t++)
        if (x->steps[t].seg >= 0 && make_step(x, t, &mods[t], err, err_size)) goto bad;
    if (upload_weights(x, err, err_size) ||
        buf_make(x, &x->syms, (uint64_t)(s->man->n_syms ? s->man->n_syms : 1) * 8, true, "symbols", err, err_size) ||
        buf_make(x, &x->dummy, 16, true, "dummy", err, err_size))
        goto bad;
    rt_exec_hooks h = {x, arena_alloc, arena_free, run_steps};
    rt_session_set_hooks(s, &h);
    *out = x;
    return 0;
vkfail:
    errv(err, err_size, "setting up", r);
    goto bad;
oom:
    snprintf(err, err_size, "out of memory");
bad:
    rt_vk_exec_free(x);
    return -1;
}

const rt_vk_profile *rt_vk_last_profile(const rt_vk_exec *x, uint32_t *n) {
    *n = x->n_prof;
    return x->prof;
}

void rt_vk_exec_free(rt_vk_exec *x) {
    if (!x) return;
    rt_vk *vk = x->vk;
    vk->fn.vkDeviceWaitIdle(vk->device);
    for (uint32_t t = 0; x->steps && t < x->n_steps; t++) {
        vk_step *st = &x->steps[t];
        if (st->pipe) vk->fn.vkDestroyPipeline(vk->device, st->pipe, NULL);
        if (st->layout) vk->fn.vkDestroyPipelineLayout(vk->device, st->layout, NULL);
        if (st->dsl) vk->fn.vkDestroyDescriptorSetLayout(vk->device, st->dsl, NULL);
        if (st->mod) vk->fn.vkDestroyShaderModule(vk->device, st->mod, NULL);
    }
    for (uint32_t g = 0; x->segs && g < x->n_segs; g++) free(x->segs[g].sig);
    vk_buf *all[] = {&x->weights, &x->syms, &x->io, &x->arena, &x->dummy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) buf_free(vk, all[i]);
    for (uint32_t i = 0; i < x->n_shared; i++) buf_free(vk, &x->shared[i]);
    free(x->shared);
    if (x->queries) vk->fn.vkDestroyQueryPool(vk->device, x->queries, NULL);
    if (x->pool) vk->fn.vkDestroyDescriptorPool(vk->device, x->pool, NULL);
    if (x->cmd_pool) vk->fn.vkDestroyCommandPool(vk->device, x->cmd_pool, NULL);
    if (x->fence) vk->fn.vkDestroyFence(vk->device, x->fence, NULL);
    if (x->cache) vk->fn.vkDestroyPipelineCache(vk->device, x->cache, NULL);
    free(x->steps);
    free(x->segs);
    free(x->cur);
    free(x->mirrors);
    free(x->prof);
    free(x);
}
