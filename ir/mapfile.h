/* mapfile.h — read-only file mappings, the way every model file is read:
 * weights stay in the page cache and constants point into the mapping. */
#ifndef SMELT_MAPFILE_H
#define SMELT_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Map `path` read-only. An empty file maps to base == NULL, size 0.
 * Errors name the file and the reason (missing, a directory, unreadable). */
int map_file(const char *path, const uint8_t **base, size_t *size, diag *d);
void unmap_file(const uint8_t *base, size_t size);

#endif
