/* fma_peak.h: the host CPU's fp32 FMA peak, measured by a register-only loop (fma_peak.c). */
#ifndef DC_FMA_PEAK_H
#define DC_FMA_PEAK_H

/* GFLOP/s (an FMA counts 2) of all OpenMP threads at once, best of five short runs (about
 * 10 ms in all); *threads and *isa (may be NULL) say how many threads and which vector ISA. */
double dc_fma_peak_gflops(int *threads, const char **isa);

#endif
