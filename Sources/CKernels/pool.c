/* A small fork-join pool for the engine's data-parallel loops (Tensor/Parallel.swift).
 *
 * Why not Dispatch: concurrentPerform wakes parked worker threads through the kernel on every
 * call, tens of microseconds that show on layers whose work takes a few hundred. Here workers
 * spin briefly (about 100 µs) after each job before they block, so back-to-back loops of one
 * training step start at once. One job at a time: a caller that finds the pool busy (another
 * engine on another thread, or a nested loop) gets -1 and runs the ranges itself. */
#include "sw_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define MAX_WORKERS 256
#define SPIN_ROUNDS 20000

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_int busy;
static atomic_long generation;
static atomic_long remaining;
static long started;                 /* worker threads created (they are never stopped) */
static swk_task_fn job_fn;
static void *job_ctx;
static long job_workers;
static long start_generation[MAX_WORKERS];  /* the generation a worker was created at */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
    long me = (long)arg;
    /* Not the current value: the job this worker was created for may already be posted. */
    long seen = start_generation[me];
    for (;;) {
        long g;
        int spins = 0;
        while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) { cpu_relax(); continue; }
            pthread_mutex_lock(&mtx);
            while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) pthread_cond_wait(&wake, &mtx);
            pthread_mutex_unlock(&mtx);
            break;
        }
        seen = g;
        if (me < job_workers) {
            job_fn(job_ctx, me);
            atomic_fetch_sub_explicit(&remaining, 1, memory_order_acq_rel);
        }
    }
    return 0;
}

int swk_pool_run(long workers, swk_task_fn fn, void *ctx) {
    if (workers <= 1) { fn(ctx, 0); return 0; }
    if (workers > MAX_WORKERS) return -1;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&busy, &expected, 1)) return -1;
    while (started < workers - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        start_generation[started + 1] = atomic_load(&generation);
        int rc = pthread_create(&t, &attr, worker_main, (void *)(started + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0) { atomic_store(&busy, 0); return -1; }
        started++;
    }
    job_fn = fn; job_ctx = ctx; job_workers = workers;
    atomic_store_explicit(&remaining, workers - 1, memory_order_release);
    pthread_mutex_lock(&mtx);
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mtx);
    fn(ctx, 0);
    long spins = 0;
    while (atomic_load_explicit(&remaining, memory_order_acquire) != 0) {
        if (++spins < SPIN_ROUNDS) cpu_relax(); else sched_yield();
    }
    atomic_store_explicit(&busy, 0, memory_order_release);
    return 0;
}
