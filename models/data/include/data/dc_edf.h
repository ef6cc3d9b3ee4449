/* dc_edf.h: EDF / EDF+ reader, EDF+ annotations (TALs), sleep hypnograms and the SleepEEG
 * instance builder (docs/METHOD.md §1.3b).
 *
 *     dc_edf *psg, *hyp;
 *     if (dc_edf_open("SC4001E0-PSG.edf", &psg)) fail(dc_last_error());
 *     dc_edf_open("SC4001EC-Hypnogram.edf", &hyp);
 *     float *x; int32_t *y; int64_t n;           // x: (n, 178) float32, y: (n) stage 0..4
 *     dc_sleepeeg_build(psg, hyp, &x, &y, &n);
 *     free(x); free(y); dc_edf_free(hyp); dc_edf_free(psg);
 *
 * The whole file is read into memory and checked: header fields, header size, and file
 * size = header + records * record size (a header that lies about lengths is an error
 * naming the byte offset). Only 16-bit EDF (version "0"); BDF is rejected. Physical values
 * are phys = (dig - dmin) * (pmax - pmin) / (dmax - dmin) + pmin. Errors name the file and
 * the byte offset of the offending field.
 */
#ifndef DC_EDF_H
#define DC_EDF_H

#include <stddef.h>
#include <stdint.h>

#include "dc/dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One signal's header fields (strings have trailing spaces removed). */
typedef struct dc_edf_signal {
    char label[17];
    char transducer[81];
    char phys_dim[9];
    double phys_min, phys_max;
    int32_t dig_min, dig_max;   /* dig_min < dig_max */
    char prefilter[81];
    int64_t samples_per_record; /* >= 1 */
    char reserved[33];
    int is_annotation;          /* label is "EDF Annotations" (EDF+) */
    int64_t offset_in_record;   /* byte offset of this signal inside a data record */
} dc_edf_signal;

typedef struct dc_edf {
    char path[512];             /* name used in messages */
    char version[9], patient[81], recording[81], start_date[9], start_time[9], reserved[45];
    int64_t header_bytes;       /* 256 * (n_signals + 1) */
    int64_t n_records;          /* from the header, or from the file size when it says -1 */
    double record_duration;     /* seconds; 0 is allowed (annotation-only files) */
    int n_signals;
    int is_edfplus;             /* reserved field starts with "EDF+C" or "EDF+D" */
    int is_discontinuous;       /* "EDF+D" */
    dc_edf_signal *sig;         /* (n_signals) */
    int64_t record_bytes;       /* 2 * sum of samples_per_record */
    uint8_t *data;              /* the whole file (owned) */
    size_t size;                /* file size in bytes */
} dc_edf;

/* One annotation text of a TAL. */
typedef struct dc_edf_annot {
    double onset;     /* seconds since the file's start time (sub-second allowed) */
    double duration;  /* seconds, or -1 when the TAL gives none */
    const char *text; /* NUL-terminated UTF-8, points into the owner's pool */
    int64_t record;   /* data record that holds it */
} dc_edf_annot;

typedef struct dc_edf_annots {
    int64_t n;
    dc_edf_annot *ann;       /* (n), file order; timekeeping TALs are not listed */
    int64_t n_records;
    double *record_onset;    /* (n_records): onset of each record's timekeeping TAL */
    char *pool;              /* storage behind every ann[i].text */
} dc_edf_annots;

/* Sleep stages (docs/METHOD.md §1.2): W, N1, N2, N3 (with N4 merged), REM; -1 excluded / unscored. */
enum { DC_SLEEP_W = 0, DC_SLEEP_N1 = 1, DC_SLEEP_N2 = 2, DC_SLEEP_N3 = 3, DC_SLEEP_REM = 4,
       DC_SLEEP_EXCLUDED = -1, DC_SLEEP_NOT_STAGE = -2 };
#define DC_SLEEP_EPOCH_S 30       /* hypnogram epoch length, seconds */
#define DC_SLEEPEEG_FS 100        /* required EEG sampling rate, Hz */
#define DC_SLEEPEEG_WIN 200       /* samples per instance window (2 s) */
#define DC_SLEEPEEG_D 178         /* samples kept per window (TF-C's D) */
#define DC_SLEEPEEG_PER_EPOCH 15  /* windows per 30-s epoch */
#define DC_SLEEPEEG_LABEL "EEG Fpz-Cz"

/* Parse an EDF file held in memory (the bytes are copied). `name` is used in messages.
 * Free with dc_edf_free. */
dc_status dc_edf_parse(const uint8_t *buf, size_t len, const char *name, dc_edf **out);
/* Read and parse a file. */
dc_status dc_edf_open(const char *path, dc_edf **out);
void dc_edf_free(dc_edf *e);

/* Index of the signal whose label equals `label` after trimming spaces, or -1. */
int dc_edf_find_signal(const dc_edf *e, const char *label);
/* Samples of signal i over the whole file (samples_per_record * n_records). */
int64_t dc_edf_signal_length(const dc_edf *e, int i);
/* Samples per second of signal i (0 when the record duration is 0). */
double dc_edf_signal_rate(const dc_edf *e, int i);
/* Copy signal i into out (dc_edf_signal_length entries): digital values / physical values. */
dc_status dc_edf_read_digital(const dc_edf *e, int i, int32_t *out);
dc_status dc_edf_read_physical(const dc_edf *e, int i, double *out);

/* Every TAL of every "EDF Annotations" signal. DC_ERR_FORMAT naming the byte offset for a
 * malformed TAL or a record whose first TAL is not a timekeeping TAL ("+onset\x14\x14").
 * Free with dc_edf_annots_free. */
dc_status dc_edf_read_annotations(const dc_edf *e, dc_edf_annots **out);
void dc_edf_annots_free(dc_edf_annots *a);

/* "Sleep stage W/1/2/3/4/R" -> 0/1/2/3/3/4; "Sleep stage ?" and "Movement time" ->
 * DC_SLEEP_EXCLUDED; any other text -> DC_SLEEP_NOT_STAGE. */
int dc_sleep_stage_code(const char *text);
/* Per-30-s-epoch stages from hypnogram annotations: an annotation fills the epochs lying
 * fully inside [onset, onset + duration) (duration/30 epochs when both are multiples of
 * 30; a stage without duration fills one epoch). Epochs not covered are DC_SLEEP_EXCLUDED.
 * *n_epochs = end of the last stage annotation / 30. *stages is malloc'd; caller frees. */
dc_status dc_sleep_hypnogram_epochs(const dc_edf_annots *a, int32_t **stages, int64_t *n_epochs);

/* SleepEEG instances (docs/METHOD.md §1.3b) from a PSG and its hypnogram: signal "EEG Fpz-Cz" at
 * 100 Hz; every scored epoch (stage >= 0) lying fully inside the signal gives 15
 * consecutive 200-sample windows, each keeping its first 178 samples (physical values,
 * float32). Hypnogram onsets are aligned to the PSG through the two header start times.
 * *x: (n_rows, 178) row-major, *y: (n_rows); both malloc'd, caller frees. */
dc_status dc_sleepeeg_build(const dc_edf *psg, const dc_edf *hypnogram, float **x, int32_t **y,
                            int64_t *n_rows);

#ifdef __cplusplus
}
#endif
#endif
