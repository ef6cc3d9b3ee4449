/* fetch_zip.h: extraction of a downloaded .zip archive (as UCI distributes HARTH) for
 * `dynacl fetch-data`, through libarchive. Private to tools/.
 */
#ifndef DC_FETCH_ZIP_H
#define DC_FETCH_ZIP_H

#include <stdint.h>

#include "dc/dc_status.h"

/* Extract every regular file of the archive under dir (folders created as needed; each file
 * written atomically). Folders and members under __MACOSX/ are skipped; names that are
 * absolute or contain "." or ".." components, links, special and encrypted members are
 * rejected; libarchive checks each member's CRC-32. *n_files gets the count written. Errors
 * name the archive, the member and, for bad data, the byte offset reached. */
dc_status dc_zip_extract(const char *zip, const char *dir, int64_t *n_files);

#endif
