/* emu_launch.cpp: kernel launches of the CUDA emulation. Checks the configuration (block
 * and grid limits, __launch_bounds__, pointer arguments in device memory), then runs the
 * grid block after block; the threads of a block run concurrently as fibers (Boost.Context)
 * that switch only at __syncthreads and warp intrinsics, so barriers, shared memory and
 * shuffles behave as on a GPU. It detects divergent barriers, warp intrinsics that wait
 * for exited lanes or that lanes reach with different arguments, deadlocks, and (racecheck)
 * data races, as results that depend on the order of threads and blocks. Not a timing model.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <algorithm>
#include <string>
#include <vector>

#include <boost/context/detail/fcontext.hpp>

#include "emu_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define DC_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DC_EMU_ASAN 1
#endif
#endif
#ifdef DC_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

using boost::context::detail::fcontext_t;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;

namespace dc_emu {

uint3 g_thread_idx, g_block_idx;
dim3 g_block_dim, g_grid_dim;

namespace {

const size_t STACK = (size_t)256 << 10, GUARD = 4096;

enum tstate { T_NEW, T_RUN, T_BAR, T_WARP, T_DONE };

struct thr {
    uint3 tid;
    int lin;
    tstate st;
    fcontext_t ctx;
    char *stack;
    const char *file; /* where it waits */
    int line;
    int wop, warg, wwidth;
    unsigned wmask;
    unsigned long long wval, wres;
};

struct block_run {
    std::vector<thr> t;
    unsigned done[32], waiting[32]; /* per warp: lanes that exited, lanes in a warp intrinsic */
    int n, n_done, n_bar, first_done;
    int shared_poisoned, failed;
    const std::function<void()> *body;
    const kernel_info *k;
} B;

thr *g_cur;
fcontext_t g_sched;
std::vector<char *> g_stacks; /* free fiber stacks */
#ifdef DC_EMU_ASAN
const void *g_main_bottom;
size_t g_main_size;
#endif

enum { SCHED_FORWARD = 0, SCHED_REVERSE, SCHED_RANDOM };
int g_sched_mode = -1, g_racecheck = -1;
unsigned long long g_seed = 1, g_launches = 0;

unsigned long long splitmix(unsigned long long &s) {
    unsigned long long z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void config_from_env() {
    if (g_sched_mode < 0) {
        g_sched_mode = SCHED_FORWARD;
        const char *s = getenv("DC_CUDA_EMU_SCHEDULE");
        if (s && *s && !dc_emu_set_schedule(s))
            fprintf(stderr, "dc-emu: DC_CUDA_EMU_SCHEDULE=%s: want forward, reverse or random[:SEED]; using forward\n", s);
    }
    if (g_racecheck < 0) {
        const char *r = getenv("DC_CUDA_EMU_RACECHECK");
        g_racecheck = r && *r && strcmp(r, "0") != 0;
    }
}

char *stack_get() {
    if (!g_stacks.empty()) {
        char *s = g_stacks.back();
        g_stacks.pop_back();
        return s;
    }
    void *m = mmap(nullptr, STACK + GUARD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    mprotect(m, GUARD, PROT_NONE); /* overflow hits the guard page */
    return (char *)m + GUARD;
}

/* A stack whose fiber was abandoned mid-kernel still has AddressSanitizer's frame poison. */
void stack_put(char *s, int abandoned) {
#ifdef DC_EMU_ASAN
    if (abandoned) ASAN_UNPOISON_MEMORY_REGION(s, STACK);
#else
    (void)abandoned;
#endif
    g_stacks.push_back(s);
}

/* "thread (x,y,z) of block (x,y,z)" into a caller's buffer: fault paths on a fiber never
 * return, so they must not hold heap memory (std::string) that would leak. */
struct tn {
    char s[80];
    explicit tn(const thr &t) {
        snprintf(s, sizeof s, "thread (%u,%u,%u) of block (%u,%u,%u)", t.tid.x, t.tid.y, t.tid.z, g_block_idx.x,
                 g_block_idx.y, g_block_idx.z);
    }
};

const char *op_name(int op) {
    static const char *const n[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync",
                                    "__ballot_sync", "__syncwarp"};
    return op >= 0 && op <= WARP_SYNC ? n[op] : "warp intrinsic";
}

const char *short_path(const char *f) {
    const char *p = strstr(f, "backends/");
    return p ? p : f;
}

/* ---------------------------------------------------------------- fibers */

/* In a fiber: give control back to the scheduler until it resumes this thread. */
void to_scheduler() {
#ifdef DC_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, g_main_bottom, g_main_size);
#endif
    transfer_t r = jump_fcontext(g_sched, nullptr);
    g_sched = r.fctx;
#ifdef DC_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, &g_main_bottom, &g_main_size);
#endif
}

/* In a fiber: record a fault and never come back (the scheduler abandons the block). */
[[noreturn]] __attribute__((format(printf, 1, 2))) void fail_here(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfault(cudaErrorLaunchFailure, fmt, ap);
    va_end(ap);
    B.failed = 1;
    for (;;) to_scheduler();
}

void check_exit(thr &t);

void fiber_main(transfer_t r) {
    g_sched = r.fctx;
#ifdef DC_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_main_bottom, &g_main_size);
#endif
    thr *t = (thr *)r.data;
    (*B.body)();
    check_exit(*t);
    t->st = T_DONE;
    B.done[t->lin >> 5] |= 1u << (t->lin & 31);
    B.n_done++;
    if (B.first_done < 0) B.first_done = t->lin;
#ifdef DC_EMU_ASAN
    __sanitizer_start_switch_fiber(nullptr, g_main_bottom, g_main_size);
#endif
    jump_fcontext(g_sched, nullptr);
    abort(); /* a finished fiber is never resumed */
}

/* In the scheduler: run thread t until it blocks or finishes. */
void resume(thr &t) {
    g_cur = &t;
    g_thread_idx = t.tid;
    if (t.st == T_NEW) {
        t.stack = stack_get();
        if (!t.stack) {
            fault(cudaErrorLaunchOutOfResources, "no memory for a fiber stack (%s)", tn(t).s);
            B.failed = 1;
            return;
        }
        t.ctx = make_fcontext(t.stack + STACK, STACK, fiber_main);
    }
    t.st = T_RUN;
#ifdef DC_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, t.stack, STACK);
#endif
    transfer_t r = jump_fcontext(t.ctx, &t);
#ifdef DC_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    t.ctx = r.fctx;
    g_cur = nullptr;
    if (t.st == T_DONE) {
        stack_put(t.stack, 0);
        t.stack = nullptr;
    }
}

/* ---------------------------------------------------------------- block-level checks */

/* A thread that exits must not leave others waiting for it. */
void check_exit(thr &t) {
    if (B.n_bar > 0)
        for (auto &o : B.t)
            if (o.st == T_BAR)
                fail_here("%s: divergent __syncthreads: %s exits while %s waits at %s:%d", B.k->name, tn(t).s,
                          tn(o).s, short_path(o.file), o.line);
    const int base = t.lin & ~31, lane = t.lin & 31;
    for (int l = 0; B.waiting[t.lin >> 5] && l < 32 && base + l < B.n; l++) {
        thr &o = B.t[(size_t)(base + l)];
        if (o.st == T_WARP && (o.wmask >> lane & 1u))
            fail_here("%s: %s exits while lane %d waits for it in %s at %s:%d", B.k->name, tn(t).s, l, op_name(o.wop),
                      short_path(o.file), o.line);
    }
}

std::vector<int> g_order;

void make_order(int n, int mode) {
    g_order.resize((size_t)n);
    for (int i = 0; i < n; i++) g_order[(size_t)i] = mode == SCHED_REVERSE ? n - 1 - i : i;
    if (mode == SCHED_RANDOM)
        for (int i = n - 1; i > 0; i--) std::swap(g_order[(size_t)i], g_order[(size_t)(splitmix(g_seed) % (unsigned)(i + 1))]);
}

/* All live threads blocked: release a complete __syncthreads, else report the deadlock. */
int release_or_deadlock() {
    const int live = B.n - B.n_done;
    if (B.n_bar == live) {
        const thr *first = nullptr;
        for (auto &o : B.t) {
            if (o.st != T_BAR) continue;
            if (!first) first = &o;
            else if (o.line != first->line || (o.file != first->file && strcmp(o.file, first->file) != 0)) {
                fault(cudaErrorLaunchFailure, "%s: divergent __syncthreads: %s waits at %s:%d, %s at %s:%d", B.k->name,
                      tn(*first).s, short_path(first->file), first->line, tn(o).s, short_path(o.file), o.line);
                return 0;
            }
        }
        for (auto &o : B.t)
            if (o.st == T_BAR) o.st = T_RUN;
        B.n_bar = 0;
        return 1;
    }
    const thr *w = nullptr, *b = nullptr;
    for (auto &o : B.t) {
        if (o.st == T_WARP && !w) w = &o;
        if (o.st == T_BAR && !b) b = &o;
    }
    if (w && b)
        fault(cudaErrorLaunchFailure, "%s: deadlock: %s waits in %s at %s:%d while %s waits at __syncthreads at %s:%d",
              B.k->name, tn(*w).s, op_name(w->wop), short_path(w->file), w->line, tn(*b).s, short_path(b->file),
              b->line);
    else
        fault(cudaErrorLaunchFailure, "%s: deadlock: %s waits in %s at %s:%d for lanes that never arrive", B.k->name,
              w ? tn(*w).s : "?", w ? op_name(w->wop) : "?", w ? short_path(w->file) : "?", w ? w->line : 0);
    return 0;
}

int run_block(int mode) {
    B.n_done = B.n_bar = 0;
    B.first_done = -1;
    B.shared_poisoned = B.failed = 0;
    memset(B.done, 0, sizeof B.done);
    memset(B.waiting, 0, sizeof B.waiting);
    for (int i = 0; i < B.n; i++) {
        thr &t = B.t[(size_t)i];
        t.lin = i;
        t.tid.x = (unsigned)i % g_block_dim.x;
        t.tid.y = ((unsigned)i / g_block_dim.x) % g_block_dim.y;
        t.tid.z = (unsigned)i / (g_block_dim.x * g_block_dim.y);
        t.st = T_NEW;
        t.stack = nullptr;
    }
    for (;;) {
        if (mode == SCHED_RANDOM || (int)g_order.size() != B.n) make_order(B.n, mode);
        int ran = 0;
        for (int i : g_order) {
            thr &t = B.t[(size_t)i];
            if (t.st != T_NEW && t.st != T_RUN) continue;
            resume(t);
            ran = 1;
            if (B.failed) break;
        }
        if (B.failed) break;
        if (B.n_done == B.n) return 1;
        if (!ran && !release_or_deadlock()) break;
    }
    for (auto &t : B.t) /* abandon the block's fibers */
        if (t.stack) {
            stack_put(t.stack, 1);
            t.stack = nullptr;
        }
    return 0;
}

int run_blocks(const kernel_info &k, const std::function<void()> &body, int mode) {
    B.k = &k;
    B.body = &body;
    B.n = (int)(g_block_dim.x * g_block_dim.y * g_block_dim.z);
    B.t.resize((size_t)B.n);
    g_order.clear();
    const unsigned long long gx = g_grid_dim.x, gy = g_grid_dim.y, nb = gx * gy * g_grid_dim.z;
    std::vector<unsigned long long> perm;
    if (mode == SCHED_RANDOM && nb <= (1ull << 24)) {
        perm.resize(nb);
        for (unsigned long long i = 0; i < nb; i++) perm[i] = i;
        for (unsigned long long i = nb - 1; i > 0; i--) std::swap(perm[i], perm[splitmix(g_seed) % (i + 1)]);
    }
    for (unsigned long long i = 0; i < nb; i++) {
        unsigned long long b = mode == SCHED_REVERSE ? nb - 1 - i : perm.empty() ? i : perm[i];
        g_block_idx.x = (unsigned)(b % gx);
        g_block_idx.y = (unsigned)((b / gx) % gy);
        g_block_idx.z = (unsigned)(b / (gx * gy));
        if (!run_block(mode)) return 0;
    }
    return 1;
}

} /* namespace */

/* ---------------------------------------------------------------- kernel-language entry points */

void shared_touch() {
    if (B.shared_poisoned) return;
    B.shared_poisoned = 1;
    if (B.k->shared_lo) memset(B.k->shared_lo, 0xFF, (size_t)(B.k->shared_hi - B.k->shared_lo));
}

void syncthreads(const char *file, int line) {
    thr &t = *g_cur;
    if (B.n_done > 0)
        fail_here("%s: divergent __syncthreads: %s waits at %s:%d but %s has exited", B.k->name, tn(t).s,
                  short_path(file), line, tn(B.t[(size_t)B.first_done]).s);
    t.st = T_BAR;
    t.file = file;
    t.line = line;
    B.n_bar++;
    to_scheduler();
}

/* "kernel: __shfl_xor_sync at file:line in thread ..." for a fault message */
struct where_s {
    char s[256];
    where_s(int op, const char *file, int line, const thr &t) {
        snprintf(s, sizeof s, "%s: %s at %s:%d in %s", B.k->name, op_name(op), short_path(file), line, tn(t).s);
    }
};

unsigned long long warp_exchange(int op, unsigned mask, unsigned long long value, int arg, int width, const char *file,
                                 int line) {
    thr &t = *g_cur;
    const int w = t.lin >> 5, base = t.lin & ~31, lane = t.lin & 31, wsize = std::min(32, B.n - base);
    if (!(mask >> lane & 1u)) fail_here("%s: the mask does not name the calling lane", where_s(op, file, line, t).s);
    if (wsize < 32 && (mask >> wsize) != 0)
        fail_here("%s: the mask names lanes past the block's last thread", where_s(op, file, line, t).s);
    if (width < 1 || width > 32 || (width & (width - 1)))
        fail_here("%s: width %d is not a power of two <= 32", where_s(op, file, line, t).s, width);
    if (mask & B.done[w])
        fail_here("%s: lane %d of the mask has exited", where_s(op, file, line, t).s, __builtin_ctz(mask & B.done[w]));
    t.wop = op;
    t.wmask = mask;
    t.wval = value;
    t.warg = arg;
    t.wwidth = width;
    t.file = file;
    t.line = line;
    t.st = T_WARP;
    B.waiting[w] |= 1u << lane;
    if ((B.waiting[w] & mask) != mask) {
        to_scheduler(); /* resumed when the last lane has arrived and computed wres */
        return t.wres;
    }
    /* last to arrive: every lane of the mask is here */
    unsigned long long ballot = 0;
    for (int l = 0; l < wsize; l++) {
        if (!(mask >> l & 1u)) continue;
        const thr &o = B.t[(size_t)(base + l)];
        if (o.wop != op || o.wmask != mask || o.wwidth != width)
            fail_here("%s: lane %d is in %s at %s:%d with mask 0x%x, width %d", where_s(op, file, line, t).s, l,
                      op_name(o.wop), short_path(o.file), o.line, o.wmask, o.wwidth);
        if (o.wval) ballot |= 1ull << l;
    }
    for (int l = 0; l < wsize; l++) {
        if (!(mask >> l & 1u)) continue;
        thr &o = B.t[(size_t)(base + l)];
        const int seg = l & ~(width - 1);
        int src = l;
        switch (op) {
        case WARP_SHFL_IDX: src = seg + (o.warg & (width - 1)); break;
        case WARP_SHFL_UP: src = l - o.warg >= seg ? l - o.warg : l; break;
        case WARP_SHFL_DOWN: src = l + o.warg < seg + width ? l + o.warg : l; break;
        case WARP_SHFL_XOR: src = (l ^ o.warg) < seg + width ? l ^ o.warg : l; break;
        default: break;
        }
        if (op == WARP_BALLOT) o.wres = ballot;
        else if (op == WARP_SYNC) o.wres = 0;
        else {
            if (src >= wsize || !(mask >> src & 1u))
                fail_here("%s: lane %d reads lane %d, which is not in the mask", where_s(op, file, line, t).s, l, src);
            o.wres = B.t[(size_t)(base + src)].wval;
        }
        o.st = T_RUN;
    }
    B.waiting[w] &= ~mask;
    return t.wres;
}

cudaError_t run_grid(const kernel_info &k, dim3 grid, dim3 block, const std::function<void()> &body) {
    config_from_env();
    g_launches++;
    g_grid_dim = grid;
    g_block_dim = block;
    if (!g_racecheck) return run_blocks(k, body, g_sched_mode) ? cudaSuccess : sticky();
    snapshot before, fwd;
    snapshot_take(before);
    if (!run_blocks(k, body, SCHED_FORWARD)) return sticky();
    snapshot_take(fwd);
    snapshot_restore(before);
    if (!run_blocks(k, body, SCHED_REVERSE)) return sticky();
    std::string d = snapshot_diff(fwd);
    if (!d.empty())
        return fault(cudaErrorLaunchFailure,
                     "%s (grid %u x %u x %u, block %u x %u x %u): data race: the result depends on the order of "
                     "threads and blocks; forward vs reverse order differ at %s",
                     k.name, grid.x, grid.y, grid.z, block.x, block.y, block.z, d.c_str());
    return cudaSuccess;
}

unsigned long long launches() { return g_launches; }

cudaError_t launch(const kernel_info &k, dim3 grid, dim3 block, size_t shmem, cudaStream_t st,
                   std::function<void()> body, const void *const *ptrs, int n_ptrs) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    if (sticky()) return set_error(sticky());
    const unsigned long long nthr = (unsigned long long)block.x * block.y * block.z;
    const char *bad = nullptr;
    char why[256];
    if (!block.x || !block.y || !block.z || !grid.x || !grid.y || !grid.z) bad = "a zero dimension";
    else if (block.x > 1024 || block.y > 1024 || block.z > 64 || nthr > 1024) bad = "more than 1024 threads per block (or blockDim.z > 64)";
    else if (grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) bad = "gridDim.y or gridDim.z over 65535 (or gridDim.x over 2^31 - 1)";
    if (bad) {
        fprintf(stderr, "dc-emu: %s launched with grid %u x %u x %u, block %u x %u x %u at %s:%d: %s\n", k.name, grid.x,
                grid.y, grid.z, block.x, block.y, block.z, short_path(k.file), k.line, bad);
        return set_error(cudaErrorInvalidConfiguration);
    }
    const int lb = k.bound;
    if (lb && nthr > (unsigned long long)lb) {
        fprintf(stderr, "dc-emu: %s launched with %llu threads per block at %s:%d: its __launch_bounds__ is %d\n", k.name,
                nthr, short_path(k.file), k.line, lb);
        return set_error(cudaErrorLaunchOutOfResources);
    }
    if (shmem) {
        unimplemented("%s at %s:%d: %zu bytes of dynamic shared memory", k.name, short_path(k.file), k.line, shmem);
        return set_error(cudaErrorNotSupported);
    }
    std::vector<const void *> args(ptrs, ptrs + n_ptrs);
    snprintf(why, sizeof why, "%s", k.name);
    kernel_info ki = k;
    return set_error(submit(st, work{why, [ki, grid, block, body, args]() -> cudaError_t {
                                         for (size_t i = 0; i < args.size(); i++)
                                             if (args[i] && !dev_range(args[i], 0))
                                                 return fault(cudaErrorIllegalAddress,
                                                              "%s (launched at %s:%d): pointer argument %zu (%p) is not "
                                                              "in live device memory (a host pointer, or freed)",
                                                              ki.name, short_path(ki.file), ki.line, i + 1, args[i]);
                                         return run_grid(ki, grid, block, body);
                                     }}));
}

} /* namespace dc_emu */

using namespace dc_emu;

extern "C" {

int dc_emu_set_schedule(const char *spec) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    if (!spec) return 0;
    if (!strcmp(spec, "forward")) g_sched_mode = SCHED_FORWARD;
    else if (!strcmp(spec, "reverse")) g_sched_mode = SCHED_REVERSE;
    else if (!strncmp(spec, "random", 6) && (spec[6] == '\0' || spec[6] == ':')) {
        g_sched_mode = SCHED_RANDOM;
        g_seed = spec[6] == ':' ? strtoull(spec + 7, nullptr, 10) : 1;
    } else
        return 0;
    return 1;
}

void dc_emu_set_racecheck(int on) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    g_racecheck = on != 0;
}

unsigned long long dc_emu_launch_count(void) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    return g_launches;
}

cudaError_t dc_emu_func_get_attributes(struct cudaFuncAttributes *attr, const void *kernel, int bound,
                                       size_t shared_bytes) {
    if (!attr || !kernel) return set_error(cudaErrorInvalidValue);
    memset(attr, 0, sizeof *attr);
    attr->maxThreadsPerBlock = bound ? bound : 1024;
    attr->sharedSizeBytes = shared_bytes; /* all kernels of the module together: an upper bound */
    attr->ptxVersion = attr->binaryVersion = 90;
    return cudaSuccess;
}

} /* extern "C" */
