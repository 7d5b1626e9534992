/* run_vulkan.h — `smelt run --target vulkan` (run_vulkan.c). */
#ifndef SMELT_TOOLS_RUN_VULKAN_H
#define SMELT_TOOLS_RUN_VULKAN_H

#include <stdio.h>

#include "ir/interp.h"
#include "ir/kir.h"

typedef struct cli_vk_opts {
    int device;       /* -1: the first GPU */
    int profile;      /* print dispatch times */
    int verbose;      /* say which kernels run on the host */
    int half;         /* --precision f16|bf16: the device must store 16-bit words */
} cli_vk_opts;

/* Compile p for the CPU and as SPIR-V, run it on in with the Vulkan
 * executor, write the outputs to outdir (when not NULL). */
int cli_run_vulkan(kir_program *p, const char *model, const interp_tensor *in, const cli_vk_opts *vo, int threads,
                   int repeat, const char *outdir, diag *d);

/* `smelt run ARTIFACT --target vulkan`: attach the artifact's own SPIR-V
 * (rt_vk_attach_artifact); without a Vulkan device, say so on stderr and
 * run on the CPU. */
typedef struct smelt_model smelt_model;
int cli_run_artifact_vulkan(smelt_model *m, const interp_tensor *in, const cli_vk_opts *vo, int threads, int repeat,
                            double load_start_ms, const char *outdir, diag *d);

/* Attach the Vulkan executor with the SPIR-V that s's artifact carries
 * (device vo->device): 0 attached (*vk, *x: free them after s); 1 no Vulkan
 * device and none asked for by number: said on stderr, s runs on the CPU;
 * -1 an error (d). */
typedef struct smelt_session smelt_session;
typedef struct rt_vk rt_vk;
typedef struct rt_vk_exec rt_vk_exec;
int cli_vk_attach_session(smelt_session *s, const cli_vk_opts *vo, rt_vk **vk, rt_vk_exec **x, diag *d);
/* The device time of each dispatch of s's last run (attached with
 * vo->profile), named by the manifest's nodes, and their total. */
void cli_vk_print_profile(FILE *f, const rt_vk_exec *x, const smelt_session *s);

#endif
