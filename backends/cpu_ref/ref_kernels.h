/* ref_kernels.h: the kernels of the reference backend "cpu-ref" and their one helper pair.
 * Every kernel loads its inputs as float64 arrays in row-major order of their shapes
 * (ref_load: any strides, any dtype), computes with plain loops in float64 and stores
 * the result once (ref_store: rounds to the output's dtype, honours its strides). Nothing
 * here is shared with backends/cpu; speed is not a goal, readability is.
 */
#ifndef DC_REF_KERNELS_H
#define DC_REF_KERNELS_H

#include "dc/dc_backend_impl.h"

/* The elements of t as a new float64 array (row-major over t's shape); NULL + dc_fail
 * when out of memory. Free with free(). */
double *ref_load(const dc_tensor *t);
/* A zeroed float64 array of n elements (at least one); NULL + dc_fail when out of memory. */
double *ref_zeros(int64_t n);
/* Store v (row-major over t's shape) into t's elements, rounding to t's dtype. */
void ref_store(dc_tensor *t, const double *v);

/* BatchNorm over the rows of x (R, C) in float64 (ref_norm.c), shared with LINEAR_BN: the
 * forward updates rm and rv in training; the backward zeroes gy where the fused ReLU clipped. */
void ref_bn_forward(int training, int relu, double mom, double eps, int64_t R, int64_t C, const double *x,
                    const double *gamma, const double *beta, double *rm, double *rv, double *y, double *mean,
                    double *istd);
void ref_bn_backward(int training, int relu, int64_t R, int64_t C, double *gy, const double *x, const double *y,
                     const double *gamma, const double *mean, const double *istd, double *dx, double *dgamma,
                     double *dbeta);

dc_status ref_copy(dc_backend *be, const dc_kernel_args *a);
dc_status ref_fill(dc_backend *be, const dc_kernel_args *a);
dc_status ref_binary(dc_backend *be, const dc_kernel_args *a);
dc_status ref_scale(dc_backend *be, const dc_kernel_args *a);
dc_status ref_masked_fill(dc_backend *be, const dc_kernel_args *a);
dc_status ref_unary(dc_backend *be, const dc_kernel_args *a);
dc_status ref_act_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_sum(dc_backend *be, const dc_kernel_args *a);
dc_status ref_matmul(dc_backend *be, const dc_kernel_args *a);
dc_status ref_batchnorm(dc_backend *be, const dc_kernel_args *a);
dc_status ref_batchnorm_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_l2norm(dc_backend *be, const dc_kernel_args *a);
dc_status ref_l2norm_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_log_softmax(dc_backend *be, const dc_kernel_args *a);
dc_status ref_log_softmax_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_cross_entropy(dc_backend *be, const dc_kernel_args *a);
dc_status ref_mse(dc_backend *be, const dc_kernel_args *a);
dc_status ref_bce_logits(dc_backend *be, const dc_kernel_args *a);
dc_status ref_mpxent(dc_backend *be, const dc_kernel_args *a);
dc_status ref_gather(dc_backend *be, const dc_kernel_args *a);
dc_status ref_gather_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_maxpool1d(dc_backend *be, const dc_kernel_args *a);
dc_status ref_maxpool1d_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_rfft(dc_backend *be, const dc_kernel_args *a);
dc_status ref_irfft(dc_backend *be, const dc_kernel_args *a);
dc_status ref_rng(dc_backend *be, const dc_kernel_args *a);
dc_status ref_adamw(dc_backend *be, const dc_kernel_args *a);
dc_status ref_linear_bn(dc_backend *be, const dc_kernel_args *a);
dc_status ref_linear_bn_back(dc_backend *be, const dc_kernel_args *a);
dc_status ref_margin(dc_backend *be, const dc_kernel_args *a);

#endif
