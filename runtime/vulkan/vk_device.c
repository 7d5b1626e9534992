/* vk_device.c — the Vulkan loader (libvulkan.so.1 through dlopen), the
 * instance (no layers, no extensions), the devices with a compute queue
 * and their features, and opening one with what the SPIR-V backend uses
 * enabled (shaderInt64 is required; float64, int8/int16 arithmetic and
 * 8/16-bit storage when present; VK_NV_cooperative_matrix with
 * shaderFloat16 where the device has them: the tensor-core GEMM of
 * spv_coop.c).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/vulkan/vk_internal.h"

const char *rt_vk_result(VkResult r) {
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY (out of host memory)";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY (out of device memory)";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST (the device was lost: a driver reset or a hang)";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER (no driver for this Vulkan version)";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    default: return "a Vulkan error";
    }
}

static int fail(char *err, size_t n, const char *fmt, const char *a, const char *b) {
    snprintf(err, n, fmt, a, b);
    return -1;
}

/* Loader, instance and instance-level entry points. */
static int open_instance(rt_vk *vk, char *err, size_t err_size) {
    vk->lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!vk->lib) return fail(err, err_size, "no Vulkan loader (libvulkan.so.1): %s%s", dlerror(), "");
    PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)dlsym(vk->lib, "vkGetInstanceProcAddr");
    PFN_vkCreateInstance create = gipa ? (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance") : NULL;
    if (!create) return fail(err, err_size, "libvulkan.so.1 has no vkCreateInstance%s%s", "", "");
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "smelt",
                             .pEngineName = "smelt", .apiVersion = VK_API_VERSION_1_2};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkResult r = create(&ci, NULL, &vk->instance);
    if (r != VK_SUCCESS)
        return fail(err, err_size, "cannot create a Vulkan instance: %s%s (is a Vulkan driver installed?)",
                    rt_vk_result(r), "");
#define RT_VK_LOAD(name)                                                                                       \
    if (!(vk->fn.name = (PFN_##name)gipa(vk->instance, #name)))                                                \
        return fail(err, err_size, "the Vulkan loader lacks %s%s", #name, "");
    RT_VK_INSTANCE_FNS(RT_VK_LOAD)
#undef RT_VK_LOAD
    vk->coop_props = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)gipa(
        vk->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    return 0;
}

static bool has_extension(rt_vk *vk, VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (vk->fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n) return false;
    VkExtensionProperties *e = calloc(n, sizeof *e);
    bool found = false;
    if (e && vk->fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(e[i].extensionName, name);
    free(e);
    return found;
}

bool rt_vk_has_coop(const rt_vk_device_info *i, uint32_t m, uint32_t n, uint32_t k) {
    if (!i->coop_ok) return false;
    for (uint32_t s = 0; s < i->n_coop; s++)
        if (i->coop[s][0] == m && i->coop[s][1] == n && i->coop[s][2] == k) return true;
    return false;
}

/* The f16 x f16 -> f32 subgroup shapes of VK_NV_cooperative_matrix. */
static void query_coop(rt_vk *vk, VkPhysicalDevice pd, rt_vk_device_info *info, bool feature) {
    if (!feature || !vk->coop_props || !has_extension(vk, pd, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME)) return;
    uint32_t n = 0;
    if (vk->coop_props(pd, &n, NULL) != VK_SUCCESS || !n) return;
    VkCooperativeMatrixPropertiesNV *p = calloc(n, sizeof *p);
    if (!p) return;
    for (uint32_t i = 0; i < n; i++) p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    if (vk->coop_props(pd, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && info->n_coop < 4; i++)
            if (p[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV && p[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                p[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV && p[i].DType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                p[i].scope == VK_SCOPE_SUBGROUP_NV) {
                uint32_t *s = info->coop[info->n_coop++];
                s[0] = p[i].MSize, s[1] = p[i].NSize, s[2] = p[i].KSize;
            }
    free(p);
    info->coop_ok = info->n_coop > 0 && info->float16 && info->storage16 && info->subgroup_size == 32;
}

static void close_all(rt_vk *vk) {
    if (vk->device) vk->fn.vkDestroyDevice(vk->device, NULL);
    if (vk->instance) vk->fn.vkDestroyInstance(vk->instance, NULL);
    if (vk->lib) dlclose(vk->lib);
}

/* The first queue family with compute (its timestamp bits in *ts_bits). */
static int compute_family(rt_vk *vk, VkPhysicalDevice pd, uint32_t *ts_bits) {
    uint32_t n = 0;
    vk->fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties q[32];
    if (n > 32) n = 32;
    vk->fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    for (uint32_t i = 0; i < n; i++)
        if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
            if (ts_bits) *ts_bits = q[i].timestampValidBits;
            return (int)i;
        }
    return -1;
}

typedef struct feats {
    VkPhysicalDeviceFeatures2 f2;
    VkPhysicalDeviceVulkan11Features v11;
    VkPhysicalDeviceVulkan12Features v12;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coop;
} feats;

static void query_features(rt_vk *vk, VkPhysicalDevice pd, uint32_t api, feats *f) {
    memset(f, 0, sizeof *f);
    f->f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    f->v11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
    f->v12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    f->coop.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
    if (api >= VK_API_VERSION_1_2) {
        f->f2.pNext = &f->v11;
        f->v11.pNext = &f->v12;
        if (has_extension(vk, pd, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME)) f->v12.pNext = &f->coop;
    }
    vk->fn.vkGetPhysicalDeviceFeatures2(pd, &f->f2);
}

static void describe(rt_vk *vk, VkPhysicalDevice pd, rt_vk_device_info *info) {
    VkPhysicalDeviceProperties p;
    vk->fn.vkGetPhysicalDeviceProperties(pd, &p);
    feats f;
    query_features(vk, pd, p.apiVersion, &f);
    VkPhysicalDeviceMemoryProperties mem;
    vk->fn.vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", p.deviceName);
    static const char *types[] = {"other", "integrated", "discrete", "virtual", "cpu"};
    info->type = p.deviceType <= 4 ? types[p.deviceType] : "other";
    info->api_version = p.apiVersion;
    info->vendor_id = p.vendorID;
    info->device_id = p.deviceID;
    for (uint32_t h = 0; h < mem.memoryHeapCount; h++)
        if ((mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mem.memoryHeaps[h].size > info->device_local_bytes)
            info->device_local_bytes = mem.memoryHeaps[h].size;
    info->float64 = f.f2.features.shaderFloat64;
    info->int16 = f.f2.features.shaderInt16;
    info->int8 = f.v12.shaderInt8;
    info->storage8 = f.v12.storageBuffer8BitAccess;
    info->storage16 = f.v11.storageBuffer16BitAccess;
    uint32_t ts_bits = 0;
    compute_family(vk, pd, &ts_bits);
    info->timestamps = p.limits.timestampComputeAndGraphics && ts_bits > 0;
    info->max_storage_buffers = p.limits.maxPerStageDescriptorStorageBuffers;
    info->max_storage_range = p.limits.maxStorageBufferRange;
    info->float16 = f.v12.shaderFloat16;
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    vk->fn.vkGetPhysicalDeviceProperties2(pd, &p2);
    info->subgroup_size = sg.subgroupSize;
    query_coop(vk, pd, info, f.coop.cooperativeMatrix);
    if (!f.f2.features.shaderInt64) info->type = NULL; /* marked: not usable */
}

/* The usable devices (a compute queue, shaderInt64, Vulkan 1.1). */
static int usable(rt_vk *vk, VkPhysicalDevice **out, uint32_t *n, char *err, size_t err_size) {
    uint32_t count = 0;
    VkResult r = vk->fn.vkEnumeratePhysicalDevices(vk->instance, &count, NULL);
    if (r != VK_SUCCESS) return fail(err, err_size, "cannot list Vulkan devices: %s%s", rt_vk_result(r), "");
    VkPhysicalDevice *all = calloc(count ? count : 1, sizeof *all);
    if (!all) return fail(err, err_size, "out of memory%s%s", "", "");
    vk->fn.vkEnumeratePhysicalDevices(vk->instance, &count, all);
    uint32_t k = 0;
    for (uint32_t i = 0; i < count; i++) {
        VkPhysicalDeviceProperties p;
        vk->fn.vkGetPhysicalDeviceProperties(all[i], &p);
        feats f;
        query_features(vk, all[i], p.apiVersion, &f);
        if (p.apiVersion >= VK_API_VERSION_1_1 && f.f2.features.shaderInt64 && compute_family(vk, all[i], NULL) >= 0)
            all[k++] = all[i];
    }
    *out = all;
    *n = k;
    return 0;
}

int rt_vk_list(rt_vk_device_info **out, uint32_t *n, char *err, size_t err_size) {
    rt_vk vk = {0};
    *out = NULL;
    *n = 0;
    VkPhysicalDevice *pds = NULL;
    int rc = open_instance(&vk, err, err_size);
    if (!rc) rc = usable(&vk, &pds, n, err, err_size);
    if (!rc && (*out = calloc(*n ? *n : 1, sizeof **out)) == NULL) rc = fail(err, err_size, "out of memory%s%s", "", "");
    for (uint32_t i = 0; !rc && i < *n; i++) describe(&vk, pds[i], &(*out)[i]);
    free(pds);
    close_all(&vk);
    return rc;
}

int rt_vk_open(int index, rt_vk **out, char *err, size_t err_size) {
    *out = NULL;
    rt_vk *vk = calloc(1, sizeof *vk);
    if (!vk) return fail(err, err_size, "out of memory%s%s", "", "");
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0;
    if (open_instance(vk, err, err_size) || usable(vk, &pds, &n, err, err_size)) goto bad;
    if (n == 0) {
        fail(err, err_size, "no Vulkan device with compute and 64-bit integers was found%s%s", "", "");
        goto bad;
    }
    if (index >= (int)n) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", index);
        snprintf(b, sizeof b, "%u", n);
        fail(err, err_size, "no Vulkan device %s (there are %s; see `smelt devices`)", a, b);
        goto bad;
    }
    if (index < 0) {
        index = 0;
        for (uint32_t i = 0; i < n; i++) {
            VkPhysicalDeviceProperties p;
            vk->fn.vkGetPhysicalDeviceProperties(pds[i], &p);
            if (p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU || p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) {
                index = (int)i;
                break;
            }
        }
    }
    vk->phys = pds[index];
    describe(vk, vk->phys, &vk->info);
    VkPhysicalDeviceProperties props;
    vk->fn.vkGetPhysicalDeviceProperties(vk->phys, &props);
    vk->limits = props.limits;
    vk->fn.vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem);
    vk->queue_family = (uint32_t)compute_family(vk, vk->phys, NULL);
    /* enable what the SPIR-V backend may use */
    feats have, want;
    query_features(vk, vk->phys, props.apiVersion, &have);
    query_features(vk, vk->phys, props.apiVersion, &want);
    memset(&want.f2.features, 0, sizeof want.f2.features);
    want.f2.features.shaderInt64 = VK_TRUE;
    want.f2.features.shaderFloat64 = have.f2.features.shaderFloat64;
    want.f2.features.shaderInt16 = have.f2.features.shaderInt16;
    if (props.apiVersion >= VK_API_VERSION_1_2) {
        VkPhysicalDeviceVulkan11Features v11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                                .storageBuffer16BitAccess = have.v11.storageBuffer16BitAccess};
        VkPhysicalDeviceVulkan12Features v12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                                .storageBuffer8BitAccess = have.v12.storageBuffer8BitAccess,
                                                .shaderInt8 = have.v12.shaderInt8,
                                                .shaderFloat16 = vk->info.coop_ok};
        want.v11 = v11;
        want.v12 = v12;
        want.f2.pNext = &want.v11;
        want.v11.pNext = &want.v12;
        want.v12.pNext = NULL;
        if (vk->info.coop_ok) {
            want.coop = (VkPhysicalDeviceCooperativeMatrixFeaturesNV){
                .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .cooperativeMatrix = VK_TRUE};
            want.v12.pNext = &want.coop;
        }
    } else {
        want.f2.pNext = NULL;
        vk->info.storage8 = vk->info.storage16 = vk->info.int8 = vk->info.coop_ok = false;
    }
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = vk->queue_family, .queueCount = 1, .pQueuePriorities = &prio};
    const char *ext = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &want.f2, .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi, .enabledExtensionCount = vk->info.coop_ok ? 1 : 0,
                             .ppEnabledExtensionNames = vk->info.coop_ok ? &ext : NULL};
    VkResult r = vk->fn.vkCreateDevice(vk->phys, &di, NULL, &vk->device);
    if (r != VK_SUCCESS) {
        fail(err, err_size, "cannot open the Vulkan device '%s': %s", vk->info.name, rt_vk_result(r));
        goto bad;
    }
#define RT_VK_LOAD(name)                                                                                       \
    if (!(vk->fn.name = (PFN_##name)vk->fn.vkGetDeviceProcAddr(vk->device, #name))) {                          \
        fail(err, err_size, "the Vulkan driver lacks %s%s", #name, "");                                        \
        goto bad;                                                                                              \
    }
    RT_VK_DEVICE_FNS(RT_VK_LOAD)
#undef RT_VK_LOAD
    vk->fn.vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
    free(pds);
    *out = vk;
    return 0;
bad:
    free(pds);
    close_all(vk);
    free(vk);
    return -1;
}

const rt_vk_device_info *rt_vk_info(const rt_vk *vk) { return &vk->info; }

void rt_vk_close(rt_vk *vk) {
    if (!vk) return;
    close_all(vk);
    free(vk);
}
