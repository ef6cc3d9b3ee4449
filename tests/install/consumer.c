/* consumer.c: a program built against an installed dynacl by the install test (through
 * pkg-config and through find_package). It uses the public headers of every layer and checks
 * real values: L = sum(relu(A B)) on the cpu backend and its gradient dL/dA, worked out by
 * hand below, and the joint clustering score J of the eval layer. Not a unit test of the ops.
 */
#include <math.h>
#include <stdio.h>

#include "dc/dc.h"
#include "eval/dc_eval.h"   /* pulls in data/, encoder/ and train/ headers too */

static int near(double got, double want, const char *what) {
    if (fabs(got - want) <= 1e-6) return 1;
    fprintf(stderr, "consumer: %s = %.9g, expected %.9g\n", what, got, want);
    return 0;
}

int main(void) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *ctx = be ? dc_ctx_new(be) : NULL;
    if (!ctx) {
        fprintf(stderr, "consumer: %s\n", dc_last_error());
        return 1;
    }
    /* A (2, 3), B (3, 2): C = A B = [[-4, 6], [-5.5, 12]], relu(C) = [[0, 6], [0, 12]], L = 18.
     * dL/dC = [[0, 1], [0, 1]], so dL/dA = dL/dC B^T = [[-1, 2, 1], [-1, 2, 1]]. */
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, -1, 0.5f, 2, -2, 1};
    const float want_ga[6] = {-1, 2, 1, -1, 2, 1};
    dc_tensor *A = dc_tensor_from_host(ctx, DC_F32, 2, (const int64_t[]){2, 3}, a);
    dc_tensor *B = dc_tensor_from_host(ctx, DC_F32, 2, (const int64_t[]){3, 2}, b);
    if (!A || !B || dc_tensor_set_requires_grad(A, 1) != DC_OK) {
        fprintf(stderr, "consumer: %s\n", dc_last_error());
        return 1;
    }
    dc_tensor *L = dc_sum_all(ctx, dc_relu(ctx, dc_matmul(ctx, A, B, 0, 0)));
    float ga[6];
    if (!L || dc_backward(ctx, L) != DC_OK || dc_tensor_download(A->grad, ga, sizeof ga) != DC_OK) {
        fprintf(stderr, "consumer: %s\n", dc_last_error());
        return 1;
    }
    int ok = near(dc_tensor_item(L), 18.0, "L");
    for (int i = 0; i < 6; i++) ok &= near(ga[i], want_ga[i], "dL/dA");
    /* J = 0.33 (1/DBI + ln(CH + 1) + 0.5 (SS + 1)) = 0.33 (1 + 1 + 1) for DBI 1, CH e - 1, SS 1 */
    ok &= near(dc_joint_score(1.0, exp(1.0) - 1.0, 1.0), 0.99, "J");
    printf("consumer: dynacl %s on %s: L = %g, dL/dA[0] = %g: %s\n", dc_version(), dc_backend_name(be),
           dc_tensor_item(L), ga[0], ok ? "ok" : "WRONG");
    dc_ctx_free(ctx);
    dc_backend_free(be);
    return ok ? 0 : 1;
}
