/* cpu_scratch.c: per-thread scratch memory for the CPU kernels, so that a training step
 * allocates nothing once the buffers have grown to the step's sizes. Each calling thread has a
 * few numbered slots, 64-byte aligned, grown on demand and freed when the thread exits.
 * Not here: tensors' memory (the backend's buffers, pooled by the step context).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

typedef struct scratch_set {
    void *p[CPU_SCRATCH_SLOTS];
    size_t cap[CPU_SCRATCH_SLOTS];
} scratch_set;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void scratch_free(void *v) {
    scratch_set *s = v;
    for (int i = 0; i < CPU_SCRATCH_SLOTS; i++) free(s->p[i]);
    free(s);
}

static void key_init(void) { g_key_ok = pthread_key_create(&g_key, scratch_free) == 0; }

void *cpu_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= CPU_SCRATCH_SLOTS) return NULL;
    pthread_once(&g_once, key_init);
    if (!g_key_ok) return NULL;
    scratch_set *s = pthread_getspecific(g_key);
    if (!s) {
        if (!(s = calloc(1, sizeof *s))) return NULL;
        if (pthread_setspecific(g_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (bytes <= s->cap[slot]) return s->p[slot];
    size_t cap = bytes + bytes / 4 + 64;
    cap = (cap + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, cap) != 0) return NULL;
    free(s->p[slot]);
    s->p[slot] = p;
    s->cap[slot] = cap;
    return p;
}
