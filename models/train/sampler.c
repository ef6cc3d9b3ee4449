/* sampler.c: the order of sequences in an epoch (docs/METHOD.md §5): a uniform random permutation
 * (the scripts' shuffled DataLoader) or the notebooks' SequentialRandomSampler (rows of B
 * consecutive sequences in random row order). Both drop the last partial batch. */
#include <stdlib.h>

#include "train/dc_train.h"

dc_status dc_sampler_epoch(int sampler, int64_t n, int64_t batch, dc_rng *rng, int64_t *out, int64_t *n_batches) {
    if (batch < 1 || n < 0) return dc_fail(DC_ERR_ARG, "sampler: batch must be >= 1");
    int64_t nb = n / batch;
    *n_batches = nb;
    if (sampler == DC_SAMPLER_SHUFFLE) {
        int64_t *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
        if (!perm) return dc_fail(DC_ERR_OOM, "sampler: out of host memory");
        dc_rng_permutation(rng, n, perm);
        for (int64_t i = 0; i < nb * batch; i++) out[i] = perm[i];
        free(perm);
        return DC_OK;
    }
    if (sampler != DC_SAMPLER_SEQUENTIAL) return dc_fail(DC_ERR_ARG, "sampler: unknown kind %d", sampler);
    int64_t *rows = malloc((size_t)(nb ? nb : 1) * sizeof *rows);
    if (!rows) return dc_fail(DC_ERR_OOM, "sampler: out of host memory");
    dc_rng_permutation(rng, nb, rows);
    for (int64_t r = 0; r < nb; r++)
        for (int64_t j = 0; j < batch; j++) out[r * batch + j] = rows[r] * batch + j;
    free(rows);
    return DC_OK;
}
