/* gemm.cl: the built-in GEMM used when the backend is built without CLBlast:
 * C = alpha op(A) op(B) + beta C for row-major matrices, batched over the third NDRange
 * axis, with 16x16 tiles in local memory. Not tuned; CLBlast is the fast path.
 * A stored (M, K) or, transposed, (K, M) with row stride lda; likewise B; sa/sb/sc are
 * the batch strides. Offsets count elements.
 */
#define TS 16

__kernel void gemm_f32(int ta, int tb, long M, long N, long K, float alpha, __global const float *A, long ao,
                       long lda, long sa, __global const float *B, long bo, long ldb, long sb, float beta,
                       __global float *C, long co, long ldc, long sc) {
    __local float As[TS][TS + 1], Bs[TS][TS + 1];
    long col = get_global_id(0), row = get_global_id(1), bt = get_global_id(2);
    int lc = (int)get_local_id(0), lr = (int)get_local_id(1);
    A += ao + bt * sa;
    B += bo + bt * sb;
    C += co + bt * sc;
    float acc = 0.0f;
    for (long k0 = 0; k0 < K; k0 += TS) {
        long ka = k0 + lc, kb = k0 + lr;
        As[lr][lc] = (row < M && ka < K) ? (ta ? A[ka * lda + row] : A[row * lda + ka]) : 0.0f;
        Bs[lr][lc] = (col < N && kb < K) ? (tb ? B[col * ldb + kb] : B[kb * ldb + col]) : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TS; k++) acc += As[lr][k] * Bs[k][lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N) {
        long i = row * ldc + col;
        C[i] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[i];
    }
}
