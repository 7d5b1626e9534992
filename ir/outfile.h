/* outfile.h — atomic output files: everything smelt writes goes to a
 * temporary file beside the target and is renamed into place only when
 * complete, so a failed run never leaves a partial file behind. */
#ifndef SMELT_OUTFILE_H
#define SMELT_OUTFILE_H

#include <stdio.h>

#include "diag.h"

typedef struct outfile {
    FILE *f;
    char path[4096];
    char tmp[4096 + 32];
} outfile;

/* "-" writes to stdout (not atomic, nothing to clean up). */
int outfile_open(outfile *o, const char *path, diag *d);
/* Flush, close and rename into place; on failure the temporary is removed. */
int outfile_commit(outfile *o, diag *d);
/* Close and remove the temporary; the target is left as it was. */
void outfile_abort(outfile *o);

#endif
