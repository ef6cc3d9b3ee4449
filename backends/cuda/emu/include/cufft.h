/* cufft.h (CPU emulation): the cuFFT calls the cuda backend makes, for the emulation
 * build. 1-D batched R2C and C2R plans with the basic (packed) layout, computed as
 * naive DFTs in float64 in backends/cuda/emu/emu_fft.cpp. As documented for cuFFT, C2R
 * may overwrite its input (the emulation always does, with NaN) and leaves the result
 * undefined when the DC or Nyquist bin has an imaginary part (the emulation returns NaN).
 * Anything else (other types, ranks, strides, in-place) fails loudly. Not NVIDIA's header.
 */
#ifndef DC_EMU_CUFFT_H
#define DC_EMU_CUFFT_H

#include "cuda_runtime_api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cufftResult_t {
    CUFFT_SUCCESS = 0x0,
    CUFFT_INVALID_PLAN = 0x1,
    CUFFT_ALLOC_FAILED = 0x2,
    CUFFT_INVALID_TYPE = 0x3,
    CUFFT_INVALID_VALUE = 0x4,
    CUFFT_INTERNAL_ERROR = 0x5,
    CUFFT_EXEC_FAILED = 0x6,
    CUFFT_SETUP_FAILED = 0x7,
    CUFFT_INVALID_SIZE = 0x8,
    CUFFT_UNALIGNED_DATA = 0x9,
    CUFFT_NOT_IMPLEMENTED = 0xE,
    CUFFT_NOT_SUPPORTED = 0x10
} cufftResult;

typedef enum cufftType_t { CUFFT_R2C = 0x2a, CUFFT_C2R = 0x2c, CUFFT_C2C = 0x29 } cufftType;

typedef int cufftHandle;
typedef float cufftReal;
typedef struct {
    float x, y;
} cufftComplex;

cufftResult cufftCreate(cufftHandle *plan);
cufftResult cufftDestroy(cufftHandle plan);
cufftResult cufftMakePlanMany(cufftHandle plan, int rank, int *n, int *inembed, int istride, int idist, int *onembed,
                              int ostride, int odist, cufftType type, int batch, size_t *work_size);
cufftResult cufftSetStream(cufftHandle plan, cudaStream_t stream);
cufftResult cufftExecR2C(cufftHandle plan, cufftReal *idata, cufftComplex *odata);
cufftResult cufftExecC2R(cufftHandle plan, cufftComplex *idata, cufftReal *odata);

#ifdef __cplusplus
}
#endif

#endif
