/* cmd_devices.c — `smelt devices`: the Vulkan devices `smelt run --target
 * vulkan --device N` can use, with what the SPIR-V backend cares about. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "runtime/vulkan/vk.h"

static int run_devices(int argc, char **argv) {
    if (argc > 1) {
        fprintf(stderr, "smelt devices: unexpected argument '%s'\n(see `smelt devices --help`)\n", argv[1]);
        return EXIT_USAGE;
    }
    rt_vk_device_info *devs;
    uint32_t n;
    char err[1024];
    if (rt_vk_list(&devs, &n, err, sizeof err)) {
        fprintf(stderr, "smelt devices: %s\n", err);
        return EXIT_USER;
    }
    if (!n) printf("no Vulkan device with compute and 64-bit integers was found\n");
    for (uint32_t i = 0; i < n; i++) {
        const rt_vk_device_info *v = &devs[i];
        printf("%u: %s (%s, Vulkan %u.%u.%u, %.1f GiB device-local)\n", i, v->name, v->type ? v->type : "?",
               v->api_version >> 22, (v->api_version >> 12) & 0x3ff, v->api_version & 0xfff,
               (double)v->device_local_bytes / (1 << 30));
        printf("   f64 %s, 8-bit storage %s, 16-bit storage %s, timestamps %s, %u buffers per shader\n",
               v->float64 ? "yes" : "no", v->storage8 ? "yes" : "no", v->storage16 ? "yes" : "no",
               v->timestamps ? "yes" : "no", v->max_storage_buffers);
        printf("   f16 arithmetic %s, subgroups of %u, cooperative matrices (f16 x f16 -> f32):", v->float16 ? "yes" : "no",
               v->subgroup_size);
        for (uint32_t s = 0; s < v->n_coop; s++) printf(" %ux%ux%u", v->coop[s][0], v->coop[s][1], v->coop[s][2]);
        printf("%s\n", !v->n_coop ? " none" : v->coop_ok ? " (used)" : " (not used: needs f16 arithmetic, 16-bit storage, subgroups of 32)");
    }
    free(devs);
    return EXIT_OK;
}

const cli_verb verb_devices = {
    "devices", "list the Vulkan devices",
    "usage: smelt devices\n\n"
    "Lists the Vulkan devices that `smelt run MODEL --target vulkan --device N`\n"
    "can use (N is the number printed), with the features the SPIR-V backend\n"
    "uses. Without a Vulkan loader or driver it says so and exits with 1.\n",
    run_devices};
