/* dc_optim.h: parameter groups (one flat buffer each) and AdamW.
 *
 *     dc_params *ps = dc_params_new(be, DC_F32, 1);       // trainable group
 *     dc_tensor *w = dc_params_add(ps, "conv1.weight", 2, (int64_t[]){128, 156});
 *     dc_params_alloc(ps);                                 // one buffer for values, one for grads
 *     dc_adamw *opt = dc_adamw_new(ps, dc_adamw_opts_default());
 *     ... forward, dc_backward ...
 *     dc_adamw_step(opt);                                  // one kernel over the flat buffer
 *
 * Members are views into the group's flat buffer, each aligned to 16 elements; gaps are
 * zero and stay zero. Trainable groups also own a flat gradient buffer.
 */
#ifndef DC_OPTIM_H
#define DC_OPTIM_H

#include "dc_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_params dc_params;

dc_params *dc_params_new(dc_backend *be, dc_dtype dt, int trainable);
void dc_params_free(dc_params *ps);
/* Declare a member (before dc_params_alloc). The returned tensor is owned by the group. */
dc_tensor *dc_params_add(dc_params *ps, const char *name, int ndim, const int64_t *shape);
dc_status dc_params_alloc(dc_params *ps);                 /* values zero-initialised */
int dc_params_count(const dc_params *ps);
dc_tensor *dc_params_get(const dc_params *ps, int i);
dc_tensor *dc_params_find(const dc_params *ps, const char *name);
int64_t dc_params_numel(const dc_params *ps);             /* sum of member numels */
dc_tensor *dc_params_flat(const dc_params *ps);           /* the whole value buffer, 1-D */
dc_tensor *dc_params_flat_grad(const dc_params *ps);      /* the whole grad buffer, 1-D */
dc_status dc_params_zero_grad(dc_params *ps);
/* Copy every member's values from src (same names/shapes, any backend) into ps. */
dc_status dc_params_copy(dc_params *dst, const dc_params *src);

typedef struct dc_adamw_opts {
    double lr;            /* 1e-3 */
    double beta1, beta2;  /* 0.9, 0.999 */
    double eps;           /* 1e-8 */
    double weight_decay;  /* 0.01 (PyTorch AdamW default), decoupled, applied to every member */
} dc_adamw_opts;

typedef struct dc_adamw dc_adamw;
dc_adamw_opts dc_adamw_opts_default(void);
dc_adamw *dc_adamw_new(dc_params *ps, dc_adamw_opts opts);
void dc_adamw_free(dc_adamw *opt);
/* p <- p(1 - lr wd); m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
 * p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), t = step count (1-based). */
dc_status dc_adamw_step(dc_adamw *opt);
void dc_adamw_set_lr(dc_adamw *opt, double lr);
double dc_adamw_lr(const dc_adamw *opt);
int64_t dc_adamw_steps(const dc_adamw *opt);
dc_status dc_adamw_set_steps(dc_adamw *opt, int64_t t);  /* for resuming */
dc_tensor *dc_adamw_m(const dc_adamw *opt);          /* flat first-moment buffer */
dc_tensor *dc_adamw_v(const dc_adamw *opt);          /* flat second-moment buffer */

#ifdef __cplusplus
}
#endif
#endif
