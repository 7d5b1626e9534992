/* vk_internal.h — what the files of runtime/vulkan share: the Vulkan
 * entry points (loaded from libvulkan.so.1 by vk_device.c, one X-macro
 * list) and the opened device. */
#ifndef SMELT_RT_VK_INTERNAL_H
#define SMELT_RT_VK_INTERNAL_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "runtime/vulkan/vk.h"

#define RT_VK_INSTANCE_FNS(X)                                                                                  \
    X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties)                         \
    X(vkGetPhysicalDeviceFeatures2) X(vkGetPhysicalDeviceQueueFamilyProperties)                                 \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkCreateDevice) X(vkGetDeviceProcAddr)                             \
    X(vkEnumerateDeviceExtensionProperties) X(vkGetPhysicalDeviceProperties2)

#define RT_VK_DEVICE_FNS(X)                                                                                    \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer)                                 \
    X(vkGetBufferMemoryRequirements) X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory)   \
    X(vkCreateShaderModule) X(vkDestroyShaderModule) X(vkCreateDescriptorSetLayout)                             \
    X(vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout)                        \
    X(vkCreatePipelineCache) X(vkDestroyPipelineCache) X(vkCreateComputePipelines) X(vkDestroyPipeline)          \
    X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool) X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)  \
    X(vkCreateCommandPool) X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) X(vkBeginCommandBuffer)          \
    X(vkEndCommandBuffer) X(vkResetCommandBuffer) X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets)               \
    X(vkCmdDispatch) X(vkCmdPipelineBarrier) X(vkCmdCopyBuffer) X(vkCreateFence) X(vkDestroyFence)              \
    X(vkResetFences) X(vkWaitForFences) X(vkQueueSubmit) X(vkDeviceWaitIdle) X(vkCmdWriteTimestamp)             \
    X(vkCreateQueryPool) X(vkDestroyQueryPool) X(vkGetQueryPoolResults) X(vkCmdResetQueryPool)

typedef struct rt_vk_fns {
#define RT_VK_FN(name) PFN_##name name;
    RT_VK_INSTANCE_FNS(RT_VK_FN)
    RT_VK_DEVICE_FNS(RT_VK_FN)
#undef RT_VK_FN
} rt_vk_fns;

struct rt_vk {
    void *lib;                    /* dlopen handle of libvulkan.so.1 */
    rt_vk_fns fn;
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV coop_props; /* NULL without the extension */
    VkInstance instance;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    rt_vk_device_info info;
    VkPhysicalDeviceMemoryProperties mem;
    VkPhysicalDeviceLimits limits;
};

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY (out of device memory)" etc. */
const char *rt_vk_result(VkResult r);

#endif
