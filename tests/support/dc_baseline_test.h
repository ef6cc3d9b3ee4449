/* dc_baseline_test.h: checks shared by the baseline suites (test_ts2vec, test_cpc, test_tnc,
 * test_infots, test_cost):
 * a short run on a fixed batch lowers the loss, heads train only when the protocol says so,
 * and a trainer checkpoint holds the encoder under the shared names, the heads under
 * "<method>." and works with `dynacl embed`. Not part of the library. */
#ifndef DC_BASELINE_TEST_H
#define DC_BASELINE_TEST_H

#include "data/dc_dataset.h"
#include "train/dc_model.h"

/* A fixed (B, T, D) batch: per sequence, regimes of 6-20 steps with their own per-feature
 * means, plus N(0, 0.1^2) noise, from seed. Caller frees. */
float *dc_bt_batch(int64_t B, int64_t T, int64_t D, uint64_t seed);

/* The method's loss on x averaged over 4 fixed draws (rng seeds 1..4), training-mode BN,
 * no gradient. */
double dc_bt_fixed_loss(dc_model *m, dc_tensor *x);

/* `steps` AdamW steps (lr 1e-3, the protocol's weight decay) on one fixed batch (B, T, D);
 * asserts the fixed-draw loss falls below `ratio` times its start, and that the heads moved
 * exactly when cfg.train_heads. Returns the final/initial ratio. */
double dc_bt_lowers_loss(const dc_model_config *cfg, int64_t B, int64_t T, int64_t D, int steps, double ratio);

/* `dynacl embed --input` (into files under scratch) of 4 sequences of ds through checkpoint
 * equals m's own eval-mode embeddings. */
void dc_bt_embed_matches(dc_model *m, const dc_dataset *ds, const char *checkpoint, const char *scratch);

/* Train `cfg` for a few steps through dc_train_run on a small synthetic dataset, then check
 * model.safetensors: the 21 encoder entries under their PyTorch names, exactly the heads
 * `heads` (n entries) under "<model>.", and `dynacl embed --input` reproducing the
 * checkpoint encoder's eval-mode embeddings. */
void dc_bt_checkpoint_embed(const dc_model_config *cfg, const char *const *heads, int n);

/* The loss and the encoder's gradient of one step of cfg on a fixed (B, T, D) batch, on every
 * backend with a device other than cpu, against the cpu backend: the same seed gives the same
 * initialisation and the same draws everywhere (Philox). Kinds without a device are logged. */
void dc_bt_backend_parity(const dc_model_config *cfg, int64_t B, int64_t T, int64_t D);

/* dc_bt_backend_parity of model under both protocols. */
void dc_bt_backends_agree(const char *model, int64_t B, int64_t T, int64_t D);

/* A cpu backend and a context for the suites' building-block tests (the fixture pair for
 * tcase_add_checked_fixture), and checking a small tensor against expected values. */
extern dc_backend *dc_bt_be;
extern dc_ctx *dc_bt_ctx;
void dc_bt_setup(void);
void dc_bt_teardown(void);
void dc_bt_expect(dc_tensor *y, const double *want, int64_t n, double tol, const char *what);

/* `dynacl pretrain <args> --max-steps 1 --out <a scratch folder>` exits with `rc` and prints want. */
void dc_bt_cli_fails(const char *args, int rc, const char *want);
/* `dynacl pretrain <args>` for 3 steps on the embedded synthetic data with a checkpoint at
 * step 2, then `--resume` of the run; both must succeed, and the run's config.json must hold
 * every string of expect (cJSON layout: "key":<TAB>value). */
void dc_bt_cli_pretrain(const char *args, const char *const *expect, int n);

/* Float64 finite-difference check on the CPU of a scalar function of n_in inputs
 * (host arrays, shapes): central differences, h = 1e-6 max(1, |x|), at most ~250 elements
 * per input; passes when |g_ad - g_fd| <= 1e-7 + 1e-5 |g_fd|. f must be deterministic
 * (re-seed any rng from ud). */
typedef dc_tensor *(*dc_bt_fn)(dc_ctx *ctx, dc_tensor *const *in, void *ud);
void dc_bt_fd_check(const char *what, dc_bt_fn f, void *ud, int n_in, const int *ndim, const int64_t (*shape)[4],
                    double *const *host);

#endif
