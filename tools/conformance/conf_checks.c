/* conf_checks.c: the one place where the conformance suite says how results are judged: the
 * check kinds (which two runs of a case are compared) and every threshold with its reason.
 * Errors are relative L2 errors ||out - ref|| / ||ref||, summed in double.
 */
#include <math.h>
#include <string.h>

#include "conformance.h"

/* ---------------------------------------------------------------- check kinds */

static int applies_always(dc_backend *be, const conf_case *c, char *why, size_t cap) { return 1; }

static int applies_f64(dc_backend *be, const conf_case *c, char *why, size_t cap) {
    if (dc_backend_supports(be, DC_OP_FILL, DC_F64)) return 1;
    snprintf(why, cap, "%s does not take float64 (supports_f64 = 0)", dc_backend_kind(be));
    return 0;
}

/* fused against composite: the same backend with its fused kernels on (test side) and
 * off (reference side: every kernel that has a composite runs as primitives, core's
 * composite*.c); each side restores the setting it found */
static int g_no_fused_test, g_no_fused_ref;
static dc_status fused_on(dc_backend *be) {
    g_no_fused_test = dc_backend_set_no_fused(be, 0);
    return DC_OK;
}
static void fused_restore(dc_backend *be) { dc_backend_set_no_fused(be, g_no_fused_test); }
static dc_status fused_off(dc_backend *be) {
    g_no_fused_ref = dc_backend_set_no_fused(be, 1);
    return DC_OK;
}
static void fused_off_restore(dc_backend *be) { dc_backend_set_no_fused(be, g_no_fused_ref); }

static int applies_composite(dc_backend *be, const conf_case *c, char *why, size_t cap) {
    const dc_op back = conf_back_op(c->op);
    if (dc_op_has_composite(c->op) || (c->grad_mask && back != DC_OP_COUNT && dc_op_has_composite(back))) return 1;
    snprintf(why, cap, "%s and its backward are primitives: no composite", dc_op_name(c->op));
    return 0;
}

/* To add a kind, add a row: the matrix, the case lines and the JSON pick it up. */
const conf_kind conf_kinds[] = {
    {"ref", "float32 on the backend against the float64 cpu-ref reference on the same inputs",
     {NULL, DC_F32, NULL, NULL}, {"cpu-ref", DC_F64, NULL, NULL}, applies_always},
    {"f64", "float64 on the backend against cpu-ref (backends that take float64)",
     {NULL, DC_F64, NULL, NULL}, {"cpu-ref", DC_F64, NULL, NULL}, applies_f64},
    {"fused", "the backend's fused kernels against their composites of primitives (DC_NO_FUSED), both float32",
     {NULL, DC_F32, fused_on, fused_restore}, {NULL, DC_F32, fused_off, fused_off_restore}, applies_composite},
};
const int conf_n_kinds = (int)(sizeof conf_kinds / sizeof conf_kinds[0]);

/* ---------------------------------------------------------------- op thresholds */

/* float32 against a float64 reference. One rounding of an f32 result is 2^-24 = 6e-8
 * relative, so every threshold sits well above what correct kernels reach at the training
 * sizes, and far below what a wrong element, a missed tile or a skipped term costs
 * (1e-4 and more on these sizes). */
#define T_ROUND {1e-6, 1e-5, "a few f32 roundings per element; the backward sums over broadcast axes (up to 2,400 terms)"}
#define T_FUNC {2e-6, 1e-5, "f32 exp, log, tanh, sqrt, atan2 are within a few ulp; backward as elementwise"}
#define T_SUM {1e-5, 1e-5, "f32 sums of up to 100,003 terms in any order (tree or sequential)"}
#define T_GEMM {1e-5, 5e-5, "f32 dot products of up to K = 2,400 terms (backward) in any order"}
#define T_NORM {1e-5, 5e-5, "per-column or per-row statistics over up to 2,400 f32 rows"}
#define T_LOSS {1e-5, 5e-5, "row sums of exponentials and means over up to 508,032 f32 terms"}
#define T_MPX {1e-5, 1e-4, "N^2 f32 exponentials, column sums over N = 2,400 and a gradient that is a difference of large sums"}
#define T_FFT {1e-5, 5e-5, "f32 FFT rounding grows like log2(n) ulp; Bluestein lengths add a convolution"}
#define T_RNG {1e-6, 0, "uniform and Bernoulli draws are exact; normals pass f32-rounded log, cos and sin"}
#define T_ADAM {1e-6, 0, "an elementwise update with one sqrt and one division per element"}
#define T_BACK {1e-5, 0, "a fused backward kernel, judged by its forward op's gradients (threshold of that op)"}

static const conf_tol k_f32[DC_OP_COUNT] = {
    [DC_OP_COPY] = T_ROUND, [DC_OP_FILL] = T_ROUND, [DC_OP_RESHAPE] = T_ROUND, [DC_OP_PERMUTE] = T_ROUND,
    [DC_OP_SLICE] = T_ROUND, [DC_OP_CONCAT] = T_ROUND, [DC_OP_ADD] = T_ROUND, [DC_OP_SUB] = T_ROUND,
    [DC_OP_MUL] = T_ROUND, [DC_OP_DIV] = T_ROUND, [DC_OP_SCALE] = T_ROUND, [DC_OP_MASKED_FILL] = T_ROUND,
    [DC_OP_RELU] = T_ROUND, [DC_OP_SIGMOID] = T_FUNC, [DC_OP_TANH] = T_FUNC, [DC_OP_EXP] = T_FUNC,
    [DC_OP_LOG] = T_FUNC, [DC_OP_SQRT] = T_FUNC, [DC_OP_ACT_BACK] = T_BACK, [DC_OP_ATAN2] = T_FUNC,
    [DC_OP_SUM] = T_SUM, [DC_OP_MEAN] = T_SUM, [DC_OP_MATMUL] = T_GEMM, [DC_OP_BATCHNORM] = T_NORM,
    [DC_OP_BATCHNORM_BACK] = T_BACK, [DC_OP_L2NORM] = T_NORM, [DC_OP_L2NORM_BACK] = T_BACK,
    [DC_OP_LOG_SOFTMAX] = T_LOSS, [DC_OP_LOG_SOFTMAX_BACK] = T_BACK, [DC_OP_CROSS_ENTROPY] = T_LOSS,
    [DC_OP_MSE] = T_LOSS, [DC_OP_MPXENT] = T_MPX, [DC_OP_BCE_LOGITS] = T_LOSS, [DC_OP_GATHER] = T_ROUND,
    [DC_OP_GATHER_BACK] = T_BACK, [DC_OP_MAXPOOL1D] = T_ROUND, [DC_OP_MAXPOOL1D_BACK] = T_BACK,
    [DC_OP_RFFT] = T_FFT, [DC_OP_IRFFT] = T_FFT, [DC_OP_RNG] = T_RNG, [DC_OP_ADAMW] = T_ADAM,
    [DC_OP_LINEAR_BN] = T_NORM, [DC_OP_LINEAR_BN_BACK] = T_BACK, [DC_OP_MARGIN] = T_MPX,
};

/* float64 on both sides: only the order of summation differs (and the CPU FFT against a
 * direct DFT), so 1e-12 forward and 1e-10 for gradients, whose cancellations lose more. */
static const conf_tol k_f64 = {1e-12, 1e-10, "float64 on both sides: only the order of summation differs"};

conf_tol conf_tolerance(dc_op op, dc_dtype dt) {
    if (dt == DC_F64) return k_f64;
    if ((int)op < 0 || op >= DC_OP_COUNT || !k_f32[op].why) {
        conf_tol none = {0, 0, "no threshold: every op has a row in conf_checks.c"};
        return none;
    }
    return k_f32[op];
}

/* ---------------------------------------------------------------- whole-run thresholds */

const conf_run_tols conf_run_tolerances = {
    /* Two f32 backends summing in other orders agree on the first loss to ~1e-7, and Adam
     * amplifies rounding differences: cpu against cpu-ref on 200 DynaCL steps drifts,
     * doubling about every 15 steps. Envelope: 1e-5 at step 0, doubling every 15 steps,
     * capped at 2e-2; the last 50 steps' mean loss within 5e-3. */
    .traj_start = 1e-5,
    .traj_doubling_steps = 15,
    .traj_cap = 2e-2,
    .traj_tail = 5e-3,
    /* after 200 steps the weights have moved by ~2e-1 relative; drift of the trajectory
     * leaves them within a few percent of each other */
    .final_weights = 5e-2,
    /* one step from the same weights and batch: one forward and backward pass of f32
     * kernels (dozens of GEMMs, BatchNorm, MP-Xent or the method's loss). Losses agree to
     * ~1e-7 and gradients to ~2e-6 on most methods; but a ReLU input within ~1e-6 of its
     * kink can land on the other side under other rounding and move the gradients of the
     * layers below it: CoST (corrected) on cpu against cpu-ref, one such element of 60,928
     * in the second layer, 0.6%. Kernel errors are judged tightly by the op checks. */
    .step_loss = 1e-5,
    .step_grad = 2e-2,
    .embed = 1e-5,
    /* the same kernels in the same order, replayed: identical up to library algorithm choice */
    .graph = 1e-6,
    .why = "rounding of f32 kernels summing in other orders, amplified over training steps by Adam",
};

/* ---------------------------------------------------------------- exact contracts */

const char *conf_exact_check(const conf_case *c, const double *y, int64_t ny, char *buf, size_t cap) {
    if (c->op == DC_OP_RFFT) {
        /* bins 0 and n/2 (even n) of a real row are real: Im exactly +0. A -0 or a residue
         * there turns atan2 of a negative bin from pi into -pi (CoST's phase loss). */
        const int64_t n = c->shape[0][c->ndim[0] - 1], nb = n / 2 + 1, rows = ny / (2 * nb);
        for (int64_t r = 0; r < rows; r++)
            for (int e = 0; e < 2; e++) {
                const int64_t k = e ? n / 2 : 0;
                if (e && n % 2) continue;
                const double im = y[(r * nb + k) * 2 + 1];
                if (im != 0 || signbit(im)) {
                    snprintf(buf, cap, "row %lld: Im of bin %lld is %s%g, not +0 (bins 0 and n/2 of a real row are real)",
                             (long long)r, (long long)k, signbit(im) && im == 0 ? "-" : "", im);
                    return buf;
                }
            }
    }
    return NULL;
}
