/* dir_list.h — the entries of a folder, for the commands that read a
 * folder of samples (quantize-report -i DIR, --calibrate DIR). */
#ifndef SMELT_TOOLS_DIR_LIST_H
#define SMELT_TOOLS_DIR_LIST_H

#include "ir/diag.h"

int cli_is_dir(const char *path);
/* The entries of dir but dot files, sorted by name: *out (n strings, all
 * malloc'd, freed by the caller). */
int cli_list_dir(const char *dir, char ***out, int *n, diag *d);

#endif
