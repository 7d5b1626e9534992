/* calibrate.h — `--quantize int8 --calibrate DIR`: the activation ranges
 * of static int8 quantization, measured by running the float model on the
 * samples of DIR (calibrate.c). */
#ifndef SMELT_TOOLS_CALIBRATE_H
#define SMELT_TOOLS_CALIBRATE_H

#include "ir/diag.h"
#include "passes/passes.h"

/* Ranges of the inputs of the contractions that q's int8 would quantize in
 * the graph of `model` (after the passes before quantization), over every
 * sample of dir: one subfolder per sample holding NAME.npy per graph input,
 * or, for a model with one input, one .npy file per sample: the min and
 * max of each value over all samples (onnxruntime's MinMax calibration).
 * *out (n_out entries, names malloc'd) is freed with cli_calibrate_free. */
int cli_calibrate(const char *model, const pass_options *popts, pass_act_range **out, int *n_out, diag *d);
void cli_calibrate_free(pass_act_range *r, int n);

#endif
