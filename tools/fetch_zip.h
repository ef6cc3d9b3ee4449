/* fetch_zip.h: extraction of a downloaded .zip archive (stored and deflated members, as
 * UCI distributes HARTH) for `dynacl fetch-data`. Private to tools/.
 */
#ifndef DC_FETCH_ZIP_H
#define DC_FETCH_ZIP_H

#include <stdint.h>

#include "dc/dc_status.h"

/* Extract every file of the archive under dir (folders created as needed; each file written
 * atomically). Member names that are absolute, contain "..", or lie under __MACOSX/ are
 * skipped or rejected; CRC-32 and sizes are checked. *n_files gets the count written.
 * Errors name the archive and the byte offset. ZIP64 archives are not supported. */
dc_status dc_zip_extract(const char *zip, const char *dir, int64_t *n_files);

#endif
