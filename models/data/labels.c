/* labels.c: argmax windowed labels (docs/METHOD.md §1.0, `windowed_labels` kind argmax): per-sample
 * class labels framed with the STFT's window and hop. Counts slide from frame to frame, so
 * the cost is O(len) for hop <= win.
 */
#include <stdlib.h>
#include <string.h>

#include "data/dc_stft.h"

static int32_t argmax_counts(const int64_t *cnt, int n_classes) {
    int32_t best = -1;
    int64_t bc = 0;
    for (int k = 0; k < n_classes; k++)
        if (cnt[k] > bc) bc = cnt[k], best = k; /* strict '>': ties keep the smaller class */
    return best;
}

dc_status dc_windowed_labels(const int32_t *labels, int64_t len, int64_t win, int64_t hop, int n_classes,
                             int32_t *out) {
    if (!labels || !out) return dc_fail(DC_ERR_ARG, "windowed_labels: NULL argument");
    if (n_classes < 1 || n_classes > 256 || win < 1 || hop < 1 || len < 0)
        return dc_fail(DC_ERR_ARG, "windowed_labels: bad arguments (classes %d, window %lld, hop %lld)", n_classes,
                       (long long)win, (long long)hop);
    const int64_t F = dc_stft_frames(len, win, hop);
    if (F == 0) return DC_OK;
    const int64_t used = (F - 1) * hop + win;
    for (int64_t i = 0; i < used; i++)
        if (labels[i] >= n_classes)
            return dc_fail(DC_ERR_ARG, "windowed_labels: sample %lld has label %d, outside 0..%d", (long long)i,
                           labels[i], n_classes - 1);
    int64_t cnt[256];
    memset(cnt, 0, sizeof cnt);
    for (int64_t n = 0; n < win; n++)
        if (labels[n] >= 0) cnt[labels[n]]++;
    out[0] = argmax_counts(cnt, n_classes);
    for (int64_t m = 1; m < F; m++) {
        const int64_t a = (m - 1) * hop, b = m * hop;
        if (hop <= win) { /* drop [a, b), add [a + win, b + win) */
            for (int64_t n = a; n < b; n++)
                if (labels[n] >= 0) cnt[labels[n]]--;
            for (int64_t n = a + win; n < b + win; n++)
                if (labels[n] >= 0) cnt[labels[n]]++;
        } else {
            memset(cnt, 0, sizeof cnt);
            for (int64_t n = b; n < b + win; n++)
                if (labels[n] >= 0) cnt[labels[n]]++;
        }
        out[m] = argmax_counts(cnt, n_classes);
    }
    return DC_OK;
}
