/* wfdb_dat.c: WFDB signal files (.dat): formats 212, 16, 61 and 80, whole-record reading
 * with exact size checks, checksum verification and physical units. The header parser is
 * in wfdb.c. Errors name the signal file and byte offset.
 */
#include "data/dc_wfdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_file.h"

/* ---- signal decoding -------------------------------------------------------------------- */

/* Bytes that n values of a format occupy (212 packs 2 values in 3 bytes; an odd last value
 * takes 2 bytes, though writers may pad to 3). */
static size_t bytes_for(int fmt, int64_t n) {
    switch (fmt) {
    case 212: return (size_t)(n / 2) * 3 + (size_t)(n % 2) * 2;
    case 16:
    case 61: return (size_t)n * 2;
    case 80: return (size_t)n;
    }
    return 0;
}

int64_t dc_wfdb_values_in_bytes(int format, size_t len) {
    switch (format) {
    case 212: return (int64_t)(len / 3) * 2 + (len % 3 == 2 ? 1 : 0);
    case 16:
    case 61: return (int64_t)(len / 2);
    case 80: return (int64_t)len;
    }
    return -1;
}

dc_status dc_wfdb_decode(int format, const uint8_t *buf, size_t len, int64_t n_values,
                         int32_t *out) {
    if (n_values < 0 || (n_values && (!buf || !out))) return dc_fail(DC_ERR_ARG, "wfdb decode: bad arguments");
    int64_t have = dc_wfdb_values_in_bytes(format, len);
    if (have < 0) return dc_fail(DC_ERR_UNSUPPORTED, "wfdb decode: format %d not supported", format);
    if (have < n_values)
        return dc_fail(DC_ERR_FORMAT, "byte offset %zu: data end after %lld of %lld samples", len,
                       (long long)have, (long long)n_values);
    int64_t i = 0;
    switch (format) {
    case 212:
        for (; i + 1 < n_values; i += 2, buf += 3) {
            int a = buf[0] | ((buf[1] & 0x0F) << 8);
            int b = buf[2] | ((buf[1] & 0xF0) << 4);
            out[i] = a >= 2048 ? a - 4096 : a;
            out[i + 1] = b >= 2048 ? b - 4096 : b;
        }
        if (i < n_values) {
            int a = buf[0] | ((buf[1] & 0x0F) << 8);
            out[i] = a >= 2048 ? a - 4096 : a;
        }
        break;
    case 16:
        for (; i < n_values; i++, buf += 2) out[i] = (int16_t)(uint16_t)(buf[0] | (buf[1] << 8));
        break;
    case 61:
        for (; i < n_values; i++, buf += 2) out[i] = (int16_t)(uint16_t)((buf[0] << 8) | buf[1]);
        break;
    case 80:
        for (; i < n_values; i++) out[i] = (int32_t)buf[i] - 128;
        break;
    }
    return DC_OK;
}

/* Decode one group of k consecutive signals [s0, s0+k) that share a file. */
static dc_status read_group(const dc_wfdb_header *h, const char *hea_path, const char *dir, int s0,
                            int k, dc_wfdb_record *r) {
    const dc_wfdb_signal *sg = &h->sig[s0];
    char path[4096];
    uint8_t *buf;
    size_t len;
    dc_status st = dc_data_path_cat(path, sizeof path, dir, sg->file);
    if (st || (st = dc_data_read_file(path, &buf, &len))) return st;
    if ((uint64_t)sg->byte_offset > len) {
        free(buf);
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: file ends before the header's offset %lld",
                       path, len, (long long)sg->byte_offset);
    }
    const uint8_t *data = buf + sg->byte_offset;
    size_t avail = len - (size_t)sg->byte_offset;
    int64_t held = dc_wfdb_values_in_bytes(sg->format, avail);
    if (r->n_samples < 0) r->n_samples = held / k; /* header gave no count: take it from the file */
    int64_t nv = r->n_samples;
    if (nv > INT64_MAX / k) {
        free(buf);
        return dc_fail(DC_ERR_FORMAT, "%s: sample count %lld too large", hea_path, (long long)nv);
    }
    nv *= k;
    size_t need = bytes_for(sg->format, nv);
    int padded = sg->format == 212 && (nv % 2) && avail == need + 1;
    if (held < nv || (avail != need && !padded)) {
        free(buf);
        return dc_fail(DC_ERR_FORMAT,
                       "%s: byte offset %zu: sample count mismatch: %s says %lld samples x %d signals "
                       "(%zu bytes of format %d), file holds %zu bytes (%lld samples per signal)",
                       path, len, hea_path, (long long)r->n_samples, k, need, sg->format, avail,
                       (long long)(held / k));
    }
    if (!r->samples) {
        if ((uint64_t)r->n_samples > SIZE_MAX / sizeof(int32_t) / (size_t)r->n_sig) {
            free(buf);
            return dc_fail(DC_ERR_OOM, "%s: %lld samples do not fit in memory", hea_path,
                           (long long)r->n_samples);
        }
        size_t bytes = (size_t)r->n_samples * (size_t)r->n_sig * sizeof(int32_t);
        r->samples = malloc(bytes ? bytes : 1);
        if (!r->samples) {
            free(buf);
            return dc_fail(DC_ERR_OOM, "%s: cannot allocate %zu bytes", hea_path, bytes);
        }
    }
    if (k == r->n_sig) {
        st = dc_wfdb_decode(sg->format, data, avail, nv, r->samples);
    } else {
        int32_t *tmp = malloc((size_t)(nv ? nv : 1) * sizeof *tmp);
        if (!tmp) {
            st = dc_fail(DC_ERR_OOM, "%s: out of memory", path);
        } else {
            st = dc_wfdb_decode(sg->format, data, avail, nv, tmp);
            for (int64_t t = 0; st == DC_OK && t < r->n_samples; t++)
                for (int j = 0; j < k; j++) r->samples[t * r->n_sig + s0 + j] = tmp[t * k + j];
            free(tmp);
        }
    }
    free(buf);
    if (st) return dc_fail_prefix("%s", path);
    return DC_OK;
}

dc_status dc_wfdb_record_read(const char *record, dc_wfdb_record **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "wfdb record: NULL output");
    *out = NULL;
    char hea_path[4096], dir[4096];
    dc_status st;
    if ((st = dc_data_path_cat(hea_path, sizeof hea_path, record, ".hea"))) return st;
    dc_wfdb_record *r = calloc(1, sizeof *r);
    if (!r) return dc_fail(DC_ERR_OOM, "%s: out of memory", hea_path);
    if ((st = dc_wfdb_header_read(record, &r->hdr))) {
        free(r);
        return st;
    }
    const dc_wfdb_header *h = r->hdr;
    dc_data_dirname(record, dir, sizeof dir);
    r->n_sig = h->n_sig;
    r->n_samples = h->n_samples > 0 ? h->n_samples : -1;
    for (int s = 0; s < h->n_sig && st == DC_OK;) {
        int k = 1;
        while (s + k < h->n_sig && strcmp(h->sig[s + k].file, h->sig[s].file) == 0) {
            if (h->sig[s + k].format != h->sig[s].format || h->sig[s + k].byte_offset != h->sig[s].byte_offset)
                st = dc_fail(DC_ERR_FORMAT, "%s: signals %d and %d share file %s but differ in format or offset",
                             hea_path, s, s + k, h->sig[s].file);
            k++;
        }
        for (int j = s + k; st == DC_OK && j < h->n_sig; j++)
            if (strcmp(h->sig[j].file, h->sig[s].file) == 0)
                st = dc_fail(DC_ERR_UNSUPPORTED, "%s: file %s is used by non-adjacent signals %d and %d",
                             hea_path, h->sig[s].file, s, j);
        if (st == DC_OK) st = read_group(h, hea_path, dir, s, k, r);
        s += k;
    }
    if (r->n_samples < 0) r->n_samples = 0;
    if (st) {
        dc_wfdb_record_free(r);
        return st;
    }
    *out = r;
    return DC_OK;
}

void dc_wfdb_record_free(dc_wfdb_record *r) {
    if (!r) return;
    dc_wfdb_header_free(r->hdr);
    free(r->samples);
    free(r);
}

dc_status dc_wfdb_record_verify(const dc_wfdb_record *r) {
    if (!r || !r->hdr) return dc_fail(DC_ERR_ARG, "wfdb verify: NULL record");
    for (int s = 0; s < r->n_sig; s++) {
        const dc_wfdb_signal *sg = &r->hdr->sig[s];
        if (r->n_samples > 0 && r->samples[s] != sg->init_value)
            return dc_fail(DC_ERR_FORMAT, "record %s signal %d (%s): first sample %d != initial value %d",
                           r->hdr->name, s, sg->description, r->samples[s], sg->init_value);
        if (!sg->has_checksum) continue;
        uint16_t sum = 0;
        for (int64_t t = 0; t < r->n_samples; t++) sum = (uint16_t)(sum + (uint16_t)r->samples[t * r->n_sig + s]);
        if ((int16_t)sum != (int16_t)(uint16_t)sg->checksum)
            return dc_fail(DC_ERR_FORMAT, "record %s signal %d (%s): checksum %d != header %d",
                           r->hdr->name, s, sg->description, (int16_t)sum, sg->checksum);
    }
    return DC_OK;
}

dc_status dc_wfdb_record_physical(const dc_wfdb_record *r, float *out) {
    if (!r || !r->hdr || (!out && r->n_samples && r->n_sig))
        return dc_fail(DC_ERR_ARG, "wfdb physical: NULL argument");
    for (int s = 0; s < r->n_sig; s++) {
        const double g = r->hdr->sig[s].gain, b = r->hdr->sig[s].baseline;
        for (int64_t t = 0; t < r->n_samples; t++) {
            int64_t i = t * r->n_sig + s;
            out[i] = (float)((r->samples[i] - b) / g);
        }
    }
    return DC_OK;
}
