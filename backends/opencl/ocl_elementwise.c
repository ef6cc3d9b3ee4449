/* ocl_elementwise.c: host side of kernels/elementwise.cl: strided COPY (views,
 * broadcasts, permutes, slices; any element size), FILL, broadcasting binary ops, SCALE,
 * MASKED_FILL, unary activations and their backward. f32 only (i32/u8 for COPY and FILL).
 */
#include <string.h>

#include "ocl_internal.h"

dc_status ocl_copy(dc_backend *be, const dc_kernel_args *a) {
    ocl_state *s = ocl_st(be);
    const dc_tensor *x = a->in[0], *y = a->out[0];
    const int64_t n = dc_tensor_numel(y);
    const size_t es = dc_dtype_size(y->dtype);
    if (n == 0) return DC_OK;
    if (dc_tensor_is_contiguous(x) && dc_tensor_is_contiguous(y)) {
        OCL_CALL(s, clEnqueueCopyBuffer,
                 (s->queue, ocl_mem(x), ocl_mem(y), x->offset, y->offset, (size_t)n * es, 0, NULL, NULL));
        return DC_OK;
    }
    cl_long4 sx = ocl_strides4(x), sy = ocl_strides4(y), shape = ocl_shape4(y);
    const char *name = es == 1 ? "copy_u8" : es == 4 ? "copy_u32" : "copy_u64";
    return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, name, ocl_range1(n), OA_T(x), OA_L4(sx), OA_T(y), OA_L4(sy),
                      OA_L4(shape), OA_L(n));
}

dc_status ocl_fill(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *t = a->out[0];
    const int64_t n = dc_tensor_numel(t);
    const double v = a->p.f[0];
    switch (t->dtype) {
    case DC_U8:
        return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "fill_u8", ocl_range1(n), OA_T(t),
                          ((ocl_arg){sizeof(cl_uchar), &(cl_uchar){(cl_uchar)(uint8_t)v}}), OA_L(n));
    case DC_I32: {
        cl_uint bits = (cl_uint)(int32_t)v;
        return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "fill_u32", ocl_range1(n), OA_T(t), OA_U(bits), OA_L(n));
    }
    case DC_F32: {
        float f = (float)v;
        cl_uint bits;
        memcpy(&bits, &f, sizeof bits);
        return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "fill_u32", ocl_range1(n), OA_T(t), OA_U(bits), OA_L(n));
    }
    default: return dc_fail(DC_ERR_DTYPE, "fill: %s is not supported on opencl", dc_dtype_name(t->dtype));
    }
}

static int bin_code(dc_op op) {
    switch (op) {
    case DC_OP_ADD: return 0;
    case DC_OP_SUB: return 1;
    case DC_OP_MUL: return 2;
    case DC_OP_DIV: return 3;
    default: return 4; /* atan2 */
    }
}

dc_status ocl_binary(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0], *w = a->in[1], *y = a->out[0];
    const int64_t n = dc_tensor_numel(y);
    const int op = bin_code(a->op);
    if (dc_tensor_is_contiguous(x) && dc_tensor_is_contiguous(w))
        return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "binary_dense_f32", ocl_range1(n), OA_T(x), OA_T(w), OA_T(y),
                          OA_L(n), OA_I(op));
    cl_long4 sx = ocl_strides4(x), sw = ocl_strides4(w), shape = ocl_shape4(y);
    return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "binary_f32", ocl_range1(n), OA_T(x), OA_L4(sx), OA_T(w),
                      OA_L4(sw), OA_T(y), OA_L4(shape), OA_L(n), OA_I(op));
}

dc_status ocl_scale(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->out[0]);
    return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "scale_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(a->out[0]),
                      OA_F(a->p.f[0]), OA_F(a->p.f[1]), OA_L(n));
}

dc_status ocl_masked_fill(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *m = a->in[1], *y = a->out[0];
    const int64_t n = dc_tensor_numel(y);
    cl_long4 sm = ocl_strides4(m), shape = ocl_shape4(y);
    return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "masked_fill_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(m),
                      OA_L4(sm), OA_T(y), OA_L4(shape), OA_F(a->p.f[0]), OA_L(n));
}

/* codes shared by unary_f32 and act_back_f32 */
static int act_code(dc_op op) {
    switch (op) {
    case DC_OP_RELU: return 0;
    case DC_OP_SIGMOID: return 1;
    case DC_OP_TANH: return 2;
    case DC_OP_EXP: return 3;
    case DC_OP_LOG: return 4;
    default: return 5; /* sqrt */
    }
}

dc_status ocl_unary(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->out[0]);
    return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "unary_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(a->out[0]),
                      OA_L(n), OA_I(act_code(a->op)));
}

dc_status ocl_act_back(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->out[0]);
    return OCL_LAUNCH(be, OCL_PROG_ELEMENTWISE, "act_back_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(a->in[1]),
                      OA_T(a->out[0]), OA_L(n), OA_I(act_code((dc_op)a->p.i[0])));
}
