/* data_file.h: private helpers shared by the dataset readers in models/data/ (WFDB, EDF,
 * HARTH). Not a public header: nothing outside models/data includes it.
 */
#ifndef DC_DATA_FILE_H
#define DC_DATA_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "dc/dc_status.h"

/* Read a whole file into a fresh buffer (one extra NUL byte after the data, not counted in
 * *len). The caller frees *buf with free(). Errors: DC_ERR_IO naming the path. */
dc_status dc_data_read_file(const char *path, uint8_t **buf, size_t *len);

/* out = a followed by b; DC_ERR_ARG naming a if it does not fit in cap bytes. */
dc_status dc_data_path_cat(char *out, size_t cap, const char *a, const char *b);

/* Directory part of path, including the trailing '/', into out (cap bytes); "" if none. */
void dc_data_dirname(const char *path, char *out, size_t cap);

#endif
