/* outfile.c — write-to-temporary-then-rename output files (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outfile_open(outfile *o, const char *path, diag *d) {
    memset(o, 0, sizeof *o);
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    if (strlen(path) >= sizeof o->path) return diag_error(d, "%s: path too long", path);
    strcpy(o->path, path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) return diag_error(d, "%s: cannot create: %s", path, strerror(errno));
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        close(fd);
        unlink(o->tmp);
        return diag_error(d, "%s: cannot create: %s", path, strerror(errno));
    }
    return 0;
}

int outfile_commit(outfile *o, diag *d) {
    if (o->f == stdout) return fflush(stdout) == 0 ? 0 : diag_error(d, "stdout: write failed");
    int bad = ferror(o->f);
    if (fflush(o->f) != 0) bad = 1;
    if (fsync(fileno(o->f)) != 0 && errno != EINVAL) bad = 1;
    /* mkstemp makes 0600 files; outputs get the usual 0644 */
    if (fchmod(fileno(o->f), 0644) != 0) bad = 1;
    if (fclose(o->f) != 0) bad = 1;
    o->f = NULL;
    if (bad || rename(o->tmp, o->path) != 0) {
        int e = errno;
        unlink(o->tmp);
        return diag_error(d, "%s: write failed: %s", o->path, strerror(e));
    }
    return 0;
}

void outfile_abort(outfile *o) {
    if (!o->f || o->f == stdout) return;
    fclose(o->f);
    o->f = NULL;
    unlink(o->tmp);
}
