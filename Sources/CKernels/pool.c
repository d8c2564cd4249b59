/* Fork-join pools for the engine's data-parallel loops (Tensor/Parallel.swift). Each engine owns
 * one (Tensor/EngineRuntime.swift); a calling thread names the pool and its thread count as its
 * "current" pool (thread-local), so the loops of two engines on two threads never meet.
 *
 * Why not Dispatch: concurrentPerform wakes parked worker threads through the kernel on every
 * call, tens of microseconds that show on layers whose work takes a few hundred. Here workers
 * spin briefly (about 100 µs) after each job before they block, so back-to-back loops of one
 * training step start at once. One job at a time per pool: a caller that finds its pool busy (a
 * loop nested in one) gets -1 and runs the ranges itself. */
#include "sw_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_WORKERS 256
#define SPIN_ROUNDS 20000

struct swk_pool {
    pthread_mutex_t mtx;
    pthread_cond_t wake;
    atomic_int busy;
    atomic_int stopping;
    atomic_long generation;
    atomic_long remaining;
    atomic_long alive;                   /* worker threads not yet exited */
    long started;                        /* worker threads created */
    swk_task_fn job_fn;
    void *job_ctx;
    long job_workers;
    long start_generation[MAX_WORKERS];  /* the generation a worker was created at */
};

struct worker_arg { swk_pool *pool; long me; };

static _Thread_local swk_pool *current_pool;
static _Thread_local long current_threads;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *raw) {
    struct worker_arg a = *(struct worker_arg *)raw;
    free(raw);
    swk_pool *p = a.pool;
    /* Not the current value: the job this worker was created for may already be posted. */
    long seen = p->start_generation[a.me];
    for (;;) {
        long g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) { cpu_relax(); continue; }
            pthread_mutex_lock(&p->mtx);
            while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) pthread_cond_wait(&p->wake, &p->mtx);
            pthread_mutex_unlock(&p->mtx);
            break;
        }
        seen = g;
        if (atomic_load_explicit(&p->stopping, memory_order_acquire)) break;
        if (a.me < p->job_workers) {
            p->job_fn(p->job_ctx, a.me);
            atomic_fetch_sub_explicit(&p->remaining, 1, memory_order_acq_rel);
        }
    }
    atomic_fetch_sub_explicit(&p->alive, 1, memory_order_acq_rel);
    return 0;
}

swk_pool *swk_pool_create(void) {
    swk_pool *p = calloc(1, sizeof *p);
    if (!p) return 0;
    pthread_mutex_init(&p->mtx, 0);
    pthread_cond_init(&p->wake, 0);
    return p;
}

void swk_pool_destroy(swk_pool *p) {
    if (!p) return;
    /* Wait for a job still running (another thread's call), then tell the workers to leave. */
    int expected = 0;
    while (!atomic_compare_exchange_weak(&p->busy, &expected, 1)) { expected = 0; sched_yield(); }
    atomic_store_explicit(&p->stopping, 1, memory_order_release);
    pthread_mutex_lock(&p->mtx);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mtx);
    while (atomic_load_explicit(&p->alive, memory_order_acquire) != 0) sched_yield();
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mtx);
    free(p);
}

int swk_pool_run_on(swk_pool *p, long workers, swk_task_fn fn, void *ctx) {
    if (workers <= 1) { fn(ctx, 0); return 0; }
    if (!p || workers > MAX_WORKERS) return -1;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&p->busy, &expected, 1)) return -1;
    while (p->started < workers - 1) {
        pthread_t t;
        pthread_attr_t attr;
        struct worker_arg *a = malloc(sizeof *a);
        if (!a) { atomic_store(&p->busy, 0); return -1; }
        a->pool = p; a->me = p->started + 1;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        p->start_generation[p->started + 1] = atomic_load(&p->generation);
        atomic_fetch_add(&p->alive, 1);
        int rc = pthread_create(&t, &attr, worker_main, a);
        pthread_attr_destroy(&attr);
        if (rc != 0) { atomic_fetch_sub(&p->alive, 1); free(a); atomic_store(&p->busy, 0); return -1; }
        p->started++;
    }
    p->job_fn = fn; p->job_ctx = ctx; p->job_workers = workers;
    atomic_store_explicit(&p->remaining, workers - 1, memory_order_release);
    pthread_mutex_lock(&p->mtx);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mtx);
    fn(ctx, 0);
    long spins = 0;
    while (atomic_load_explicit(&p->remaining, memory_order_acquire) != 0) {
        if (++spins < SPIN_ROUNDS) cpu_relax(); else sched_yield();
    }
    atomic_store_explicit(&p->busy, 0, memory_order_release);
    return 0;
}

void swk_set_current(swk_pool *pool, long threads) { current_pool = pool; current_threads = threads; }
swk_pool *swk_current_pool(void) { return current_pool; }
long swk_current_threads(void) { return current_threads; }
