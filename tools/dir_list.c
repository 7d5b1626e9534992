/* dir_list.c — folder entries (dir_list.h). */
#include "dir_list.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_list_dir(const char *dir, char ***out, int *n, diag *d) {
    DIR *dp = opendir(dir);
    if (!dp) return diag_error(d, "%s: cannot open folder", dir);
    char **v = NULL;
    int k = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        v[k++] = strdup(e->d_name);
    }
    closedir(dp);
    if (k) qsort(v, (size_t)k, sizeof *v, cmp_str);
    *out = v;
    *n = k;
    return 0;
}
