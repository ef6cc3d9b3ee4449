/* fetch_manifest.h: the download manifest of `dynacl fetch-data` (fetch_manifest.c): where
 * each public dataset lives, its licence, and the pinned size and SHA-256 of the files whose
 * checksum the repository knows. Tool code: the library never downloads anything.
 */
#ifndef DC_FETCH_MANIFEST_H
#define DC_FETCH_MANIFEST_H

#include <stdint.h>

typedef struct dc_manifest_file {
    const char *path;       /* relative to the dataset's base URL and the output folder */
    int64_t bytes;          /* -1 if not known */
    const char *sha256;     /* lower-case hex, or NULL: no checksum pinned in the repository */
} dc_manifest_file;

typedef struct dc_manifest_dataset {
    const char *name;       /* "afdb", "harth", "sleep-edf", "mitdb" */
    const char *title;
    const char *base_url;   /* official location, ends with '/' */
    const char *listing;    /* file under base_url listing "sha256  path" lines (PhysioNet's
                             * SHA256SUMS.txt), or NULL: the pinned files are the whole list */
    const char *prefix;     /* listing entries used: path starts with prefix ... */
    const char *suffixes;   /* ... has no further '/', and ends with one of these ('|'-separated) */
    const char *unzip;      /* a downloaded .zip to extract afterwards, or NULL */
    const char *prepare;    /* the `dynacl prepare` command that reads it, with {out} for the folder */
    const char *license;
    int n_files;
    const dc_manifest_file *files;  /* pinned sizes and SHA-256 (verified against these first) */
} dc_manifest_dataset;

int dc_manifest_count(void);
const dc_manifest_dataset *dc_manifest_get(int i);
const dc_manifest_dataset *dc_manifest_find(const char *name);   /* NULL if unknown */
/* The pinned entry for a path, or NULL. */
const dc_manifest_file *dc_manifest_lookup(const dc_manifest_dataset *d, const char *path);
/* 1 if a listing entry is one the dataset downloads (prefix, depth and suffix rules). */
int dc_manifest_selects(const dc_manifest_dataset *d, const char *path);

#endif
