/* common.cl: prepended to every program of the OpenCL backend (ocl_runtime.c builds each
 * kernels/<family>.cl after it). Strided-view indexing, compensated sums and the
 * work-group tree sum used by the reductions. It defines no kernels. The backend's kernels
 * are float only (f64 stays on the CPU backends); FP contraction is off so that float
 * expressions round as in the CPU backend's C code.
 */
#pragma OPENCL FP_CONTRACT OFF

/* Local size of every work-group reduction: a power of two, at most RED_MAX (the host
 * checks the device limit, see ocl_reduce_local). */
#define RED_MAX 256

/* Element offset of flat index i of a 4-d view with sizes n and element strides s. */
inline long view_off(long i, long4 n, long4 s) {
    long i3 = i % n.w;
    i /= n.w;
    long i2 = i % n.z;
    i /= n.z;
    long i1 = i % n.y;
    long i0 = i / n.y;
    return i0 * s.x + i1 * s.y + i2 * s.z + i3 * s.w;
}

/* Kahan-compensated accumulation: (sum, c) += v. */
inline void kahan_add(float *sum, float *c, float v) {
    float y = v - *c;
    float t = *sum + y;
    *c = (t - *sum) - y;
    *sum = t;
}

/* Sum of v over the work-group (local size a power of two <= RED_MAX), returned to every
 * work-item. Every work-item of the group must call it. */
inline float wg_sum(float v, __local float *red) {
    int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
