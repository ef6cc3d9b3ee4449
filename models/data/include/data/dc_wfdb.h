/* dc_wfdb.h: reader for PhysioNet WFDB records (MIT-BIH style .hea/.dat/.atr).
 *
 *     dc_wfdb_record *rec;
 *     if (dc_wfdb_record_read("data/mitdb/201", &rec)) fail(dc_last_error());
 *     // rec->samples[t * rec->n_sig + s] is the digital value of signal s at sample t
 *     dc_wfdb_annots *ann;
 *     dc_wfdb_annots_read("data/mitdb/201.atr", &ann);
 *     int32_t *lab = malloc(rec->n_samples * sizeof *lab);
 *     dc_wfdb_rhythm_labels(ann, rec->n_samples, lab, NULL);  // -1 before the first rhythm
 *     dc_wfdb_annots_free(ann); dc_wfdb_record_free(rec);
 *
 * Any sampling rate works (mitdb 360 Hz, afdb 250 Hz). Signal formats 212, 16, 61 and 80
 * are decoded; single-segment records only; `xN` (N > 1 samples per frame) and nonzero
 * `:skew` are rejected with DC_ERR_UNSUPPORTED; `+offset` is honoured. Errors name the
 * file and the header line ("201.hea:3: ...") or the byte offset ("201.atr: byte offset N").
 * Samples are digital ADC values; physical = (digital - baseline) / gain.
 */
#ifndef DC_WFDB_H
#define DC_WFDB_H

#include <stddef.h>
#include <stdint.h>

#include "dc/dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_WFDB_STR_MAX 256

/* One signal line of a .hea file. */
typedef struct dc_wfdb_signal {
    char file[DC_WFDB_STR_MAX];        /* signal file, relative to the header's folder */
    int format;                        /* 212, 16, 61 or 80 */
    int64_t byte_offset;               /* "+offset" suffix: bytes skipped at file start */
    double gain;                       /* ADC units per physical unit; 200 when 0/absent */
    int baseline;                      /* digital value of physical 0; adc_zero if absent */
    char units[32];                    /* physical units, "mV" if absent */
    int adc_res;                       /* bits; default by format (212: 12, 16/61: 16, 80: 8) */
    int adc_zero;                      /* 0 if absent */
    int init_value;                    /* first sample; adc_zero if absent */
    int checksum;                      /* 16-bit signed sum of all samples */
    int has_checksum;                  /* 1 if the header gives a checksum */
    int block_size;                    /* 0 if absent */
    char description[DC_WFDB_STR_MAX]; /* e.g. "MLII"; may contain spaces */
} dc_wfdb_signal;

/* A parsed .hea file. */
typedef struct dc_wfdb_header {
    char name[DC_WFDB_STR_MAX]; /* record name from the record line */
    int n_sig;                  /* number of signals */
    double fs;                  /* samples per second per signal (250 if absent) */
    int64_t n_samples;          /* samples per signal; 0 when the header leaves it out */
    dc_wfdb_signal *sig;        /* (n_sig), owned by the header */
} dc_wfdb_header;

/* A record: header plus decoded digital samples. */
typedef struct dc_wfdb_record {
    dc_wfdb_header *hdr; /* owned */
    int n_sig;
    int64_t n_samples;   /* per signal (taken from the .dat size when the header has 0) */
    int32_t *samples;    /* (n_samples, n_sig) interleaved, frame-major: [t * n_sig + s] */
} dc_wfdb_record;

/* One annotation from an MIT-format annotation file (.atr). */
typedef struct dc_wfdb_ann {
    int64_t sample; /* sample index (time) */
    int type;       /* annotation code 1..49 (28 = rhythm change; 0 = null annotation) */
    int subtype;    /* SUB value of this annotation (0..1023), 0 if none */
    int chan;       /* CHN value, sticky: holds until the next CHN (0 initially) */
    int num;        /* NUM value, sticky: holds until the next NUM (0 initially) */
    int aux_len;    /* number of aux bytes (may include NULs), 0 if none */
    const char *aux; /* aux bytes + a terminating NUL, or NULL; points into the owner */
} dc_wfdb_ann;

typedef struct dc_wfdb_annots {
    int64_t n;
    dc_wfdb_ann *ann; /* (n), in file order */
    char *aux_pool;   /* storage behind every ann[i].aux */
} dc_wfdb_annots;

/* Rhythm classes for ECG (docs/METHOD.md §1.3b). */
enum { DC_RHYTHM_AFIB = 0, DC_RHYTHM_AFL = 1, DC_RHYTHM_J = 2, DC_RHYTHM_N = 3,
       DC_RHYTHM_NONE = -1 /* unlabelled: before the first rhythm annotation */ };
#define DC_WFDB_ANN_RHYTHM 28

/* Parse a header from memory; `name` is used in messages (usually the path). The caller
 * frees *out with dc_wfdb_header_free. */
dc_status dc_wfdb_header_parse(const char *text, size_t len, const char *name,
                               dc_wfdb_header **out);
/* Read and parse "<record>.hea" (record = path without extension). */
dc_status dc_wfdb_header_read(const char *record, dc_wfdb_header **out);
void dc_wfdb_header_free(dc_wfdb_header *h);

/* Decode n_values consecutive samples of one format from buf (a signal file's bytes after
 * its offset). Format 212 pairs samples across frames, as WFDB writes them. Errors:
 * DC_ERR_UNSUPPORTED for other formats, DC_ERR_FORMAT if buf is too short. */
dc_status dc_wfdb_decode(int format, const uint8_t *buf, size_t len, int64_t n_values,
                         int32_t *out);
/* Number of whole samples that `len` bytes of `format` hold (-1 for unknown formats). */
int64_t dc_wfdb_values_in_bytes(int format, size_t len);

/* Read "<record>.hea" and every signal file it names. The sample count must match the
 * signal file sizes exactly (DC_ERR_FORMAT naming the file otherwise). Free with
 * dc_wfdb_record_free. */
dc_status dc_wfdb_record_read(const char *record, dc_wfdb_record **out);
void dc_wfdb_record_free(dc_wfdb_record *r);
/* Check every signal's first sample against init_value and its 16-bit sum against the
 * header checksum (when given). DC_ERR_FORMAT naming the signal on mismatch. */
dc_status dc_wfdb_record_verify(const dc_wfdb_record *r);
/* Physical values, same (n_samples, n_sig) layout: out[i] = (d - baseline) / gain. */
dc_status dc_wfdb_record_physical(const dc_wfdb_record *r, float *out);

/* Parse an MIT annotation file from memory / from a path. Free with dc_wfdb_annots_free. */
dc_status dc_wfdb_annots_parse(const uint8_t *buf, size_t len, const char *name,
                               dc_wfdb_annots **out);
dc_status dc_wfdb_annots_read(const char *path, dc_wfdb_annots **out);
void dc_wfdb_annots_free(dc_wfdb_annots *a);

/* Rhythm class of an aux string (leading "(" and NUL bytes ignored): "AFIB" -> 0,
 * "AFL" -> 1, "J" or "NOD" -> 2, anything else -> 3 (N). */
int dc_wfdb_rhythm_class(const char *aux, int aux_len);
/* Per-sample rhythm labels (n_samples entries written to labels) from the type-28
 * annotations that carry an aux string. A label holds from its annotation's sample up to
 * the next rhythm annotation; samples before the first are DC_RHYTHM_NONE. Annotations at
 * or past n_samples are ignored. *first_labelled (optional) gets the first labelled sample
 * (n_samples if none). DC_ERR_FORMAT if rhythm annotations go back in time. */
dc_status dc_wfdb_rhythm_labels(const dc_wfdb_annots *a, int64_t n_samples, int32_t *labels,
                                int64_t *first_labelled);

#ifdef __cplusplus
}
#endif
#endif
