/* spv_tools.c — SPIRV-Tools through its C API (libSPIRV-Tools, linked
 * statically): validation of a module for the Vulkan 1.1 environment
 * (SPIR-V 1.3, what the backend writes) and disassembly for
 * `smelt compile --emit spirv-asm`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spirv-tools/libspirv.h>

#include "codegen/spirv/spv.h"

int spv_validate(const uint32_t *words, size_t n_words, char *err, size_t err_size) {
    spv_context ctx = spvContextCreate(SPV_ENV_VULKAN_1_1);
    if (!ctx) {
        snprintf(err, err_size, "SPIRV-Tools: cannot create a context");
        return -1;
    }
    spv_const_binary_t bin = {words, n_words};
    spv_diagnostic dg = NULL;
    spv_result_t r = spvValidate(ctx, &bin, &dg);
    if (r != SPV_SUCCESS)
        snprintf(err, err_size, "%s (word %zu)", dg && dg->error ? dg->error : "invalid module",
                 dg ? dg->position.index : (size_t)0);
    spvDiagnosticDestroy(dg);
    spvContextDestroy(ctx);
    return r == SPV_SUCCESS ? 0 : -1;
}

char *spv_disassemble(const uint32_t *words, size_t n_words, diag *d) {
    spv_context ctx = spvContextCreate(SPV_ENV_VULKAN_1_1);
    spv_text text = NULL;
    spv_diagnostic dg = NULL;
    char *out = NULL;
    if (!ctx) {
        diag_error(d, "SPIRV-Tools: cannot create a context");
        return NULL;
    }
    uint32_t opts = SPV_BINARY_TO_TEXT_OPTION_FRIENDLY_NAMES | SPV_BINARY_TO_TEXT_OPTION_INDENT;
    if (spvBinaryToText(ctx, words, n_words, opts, &text, &dg) != SPV_SUCCESS) {
        diag_error(d, "SPIRV-Tools: cannot disassemble: %s", dg && dg->error ? dg->error : "invalid module");
    } else {
        out = malloc(text->length + 1);
        if (out) {
            memcpy(out, text->str, text->length);
            out[text->length] = 0;
        } else {
            diag_error(d, "out of memory");
        }
    }
    spvTextDestroy(text);
    spvDiagnosticDestroy(dg);
    spvContextDestroy(ctx);
    return out;
}
