/* Random calls into the C ABI (Include/sparsewire.h): NULLs, stale handles, random names,
 * kinds, indices, struct sizes, shapes, sizes up to (never beyond) the real buffer, NaNs,
 * random config text. Every call must return a status; a crash or an abort is a bug.
 *   capi_fuzz [calls] [seed]     (fuzz/run.sh builds and runs it) */
#include "sparsewire.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s[4];
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t next(void) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
}
static uint64_t below(uint64_t n) { return n ? next() % n : 0; }
static float fval(void) {
    switch (below(8)) { case 0: return NAN; case 1: return INFINITY; case 2: return 0; case 3: return 1; default: return (float)below(2000) / 1000.0f - 1.0f; }
}

#define NCFG 12
static const char *configs[NCFG] = {
    "model: {name: mlp, hidden: [8]}\nbatch_size: 16\nepochs: 1\npolicy: rigl\ndensity: 0.3\npolicy_options: {delta_t: 2}",
    "model: {name: mlp, hidden: [8, 4]}\npolicy: dnw\ndensity: 0.2\nbatch_size: 8",
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [6]}, \"policy\": \"edge-popup\", \"density\": 0.5, \"batch_size\": 4}",
    "model: {name: mlp, hidden: [5]}\npolicy: supermask\nbatch_size: 8\non_nan: skip",
    "model: {name: conv2, width: 0.0625}\npolicy: set\ndensity: 0.5\nbatch_size: 4",
    "", "policy: nope", "density: 2", "model: {name: mlp, hidden: [-1]}", "batch_size: [", "\xff\xfe", "epochs: 1e400",
};
#define NKEYS 18
static const char *keys[NKEYS] = {"optimizer.lr", "density", "policy", "batch_size", "model.hidden", "seed", "threads",
                                  "policy_options.delta_t", "nope", "", "masking.scope", "model.name",
                                  /* whole mappings and the memory limit (issues 16, 18) */
                                  "policy_options", "optimizer", "model", "masking", "runtime.max_memory", "graph"};
#define NVALS 18
static const char *vals[NVALS] = {"0.1", "-1", "nan", "[3, 2]", "rigl", "dnw", "9999999999999999999999", "", "global", "conv4", "\xc3\x28", "[[[[",
                                  "{lr: 0.5, momentum: 0.8}", "{ema_decay: 0.5, zz: [1]}", "{name: mlp, hidden: [100000000, 10]}",
                                  "{a: &x [1, 2], b: [*x, *x, *x]}", "0.000001", "{name: randwire, width: 3}"};
#define NNAMES 8
static const char *names[NNAMES] = {"fc1.weight", "fc1.bias", "fc2.weight", "conv1.weight", "", "nope", "fc1.weight\n", "\xff"};
#define NPOL 8
static const char *policies[NPOL] = {"dense", "dnw", "rigl", "edge-popup", "supermask", "set", "random-static", "nope"};

static void random_string(char *buf, size_t cap) {
    size_t n = below(cap);
    for (size_t i = 0; i < n; i++) buf[i] = (char)(1 + below(255));
    buf[n] = 0;
}
static const char *pick_string(const char **list, int n, char *scratch, size_t cap) {
    uint64_t r = below(10);
    if (r == 0) return NULL;
    if (r == 1) { random_string(scratch, cap); return scratch; }
    return list[below(n)];
}

#define BUF 4096
static float fbuf[BUF], fbuf2[BUF], gbuf[BUF], mbuf[BUF], sbuf[BUF];
static int32_t ybuf[BUF];
static char cbuf[BUF];

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 100000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    for (int i = 0; i < 4; i++) s[i] = seed * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0xBF58476D1CE4E5B9ull + 1;
    const char *ckpt = argc > 3 ? argv[3] : "/tmp/capi_fuzz.safetensors";
    sw_engine *engines[4] = {0};
    sw_engine *stale = NULL;
    sw_policy *pol = NULL;
    int pol_too_big = 0;  /* a declared layer larger than the host buffers: no buffer calls */
    long ok = 0, refused = 0;
    long counts[16] = {0}, oks[16] = {0};
    char scratch[64];
    for (long c = 0; c < calls; c++) {
        int slot = (int)below(4);
        sw_engine *e = below(20) == 0 ? (below(2) ? NULL : stale) : engines[slot];
        sw_status st = SW_OK;
        int op = (int)below(16);
        counts[op]++;
        switch (op) {
        case 0: {  /* create / replace */
            sw_engine *fresh = NULL;
            char cfg[512];
            if (below(4) == 0) { random_string(cfg, 200); st = sw_engine_create(cfg, &fresh); }
            else st = sw_engine_create(configs[below(NCFG)], below(30) ? &fresh : NULL);
            if (st == SW_OK && fresh) {
                if (engines[slot]) { stale = engines[slot]; sw_engine_destroy(engines[slot]); }
                engines[slot] = fresh;
            }
            break;
        }
        case 1: st = sw_engine_set(e, pick_string(keys, NKEYS, scratch, 40), pick_string(vals, NVALS, scratch, 40)); break;
        case 2: {  /* data: dims small, sometimes inconsistent labels */
            uint32_t ch = 1 + (uint32_t)below(2), h = 1 + (uint32_t)below(8), w = 1 + (uint32_t)below(8), classes = below(10) ? 2 + (uint32_t)below(3) : (uint32_t)below(2);
            uint64_t per = (uint64_t)ch * h * w, n = per ? below(BUF / per / 2 + 1) : 0, tn = per ? below(BUF / per / 2 + 1) : 0;
            for (uint64_t i = 0; i < (n + tn) * per && i < BUF; i++) fbuf[i] = (float)below(1000) / 1000.0f;
            if (n && below(20) == 0) fbuf[below(n * per)] = fval();  /* sometimes NaN/Inf */
            for (uint64_t i = 0; i < n + tn && i < BUF; i++) ybuf[i] = (int32_t)below(classes);
            if (n && below(10) == 0) ybuf[below(n)] = below(2) ? -1 : (int32_t)classes;  /* one bad label */
            st = sw_engine_set_data(e, below(20) ? fbuf : NULL, ybuf, n, fbuf + n * per, ybuf + n, tn, ch, h, w, classes);
            break;
        }
        case 3: { double loss; int64_t correct; st = sw_engine_train_step(e, below(4) ? &loss : NULL, below(4) ? &correct : NULL); break; }
        case 4: { double l, a; st = sw_engine_evaluate(e, below(3) ? &l : NULL, below(3) ? &a : NULL); break; }
        case 5: {
            uint64_t n = below(8), xc = below(BUF), lc = below(BUF);
            for (uint64_t i = 0; i < xc; i++) fbuf[i] = fval();
            st = sw_engine_predict(e, below(10) ? fbuf : NULL, n, xc, below(10) ? fbuf2 : NULL, lc);
            break;
        }
        case 6: { uint64_t needed; st = sw_engine_parameter_names(e, below(4) ? cbuf : NULL, below(BUF), below(5) ? &needed : NULL); break; }
        case 7: {
            const char *name = pick_string(names, NNAMES, scratch, 40);
            sw_tensor_kind kind = (sw_tensor_kind)below(6);
            uint64_t cap = below(BUF), needed;
            int64_t shape[8]; uint32_t rank;
            switch (below(3)) {
            case 0: st = sw_engine_tensor_shape(e, name, kind, below(5) ? shape : NULL, (uint32_t)below(9), below(5) ? &rank : NULL); break;
            case 1: st = sw_engine_get_tensor(e, name, kind, below(5) ? fbuf : NULL, cap, below(5) ? &needed : NULL); break;
            default:
                for (uint64_t i = 0; i < cap; i++) fbuf[i] = below(2) ? fval() : (float)below(2);
                st = sw_engine_set_tensor(e, name, kind, below(10) ? fbuf : NULL, cap);
            }
            break;
        }
        case 8: {
            uint32_t count; sw_layer_density d; d.struct_size = below(4) ? sizeof d : (uint32_t)below(64);
            if (below(2)) st = sw_engine_layer_count(e, below(5) ? &count : NULL);
            else st = sw_engine_layer_density(e, (uint32_t)below(6), below(8) ? &d : NULL);
            uint64_t t, k; if (st == SW_OK) st = sw_engine_parameter_counts(e, below(3) ? &t : NULL, below(3) ? &k : NULL);
            break;
        }
        case 9: {
            double dens[] = {0.1, 0.5, 1.0, 0.0, -1.0, 2.0, NAN, 0.05};
            st = sw_engine_set_policy(e, pick_string(policies, NPOL, scratch, 20), below(3) ? NULL : "{delta_t: 3}", dens[below(8)]);
            (void)sw_engine_policy(e);
            break;
        }
        case 10: {  /* stand-alone policy */
            if (!pol || pol_too_big || below(10) == 0) {
                sw_policy_destroy(pol); pol = NULL; pol_too_big = 0;
                st = sw_policy_create(pick_string(policies, NPOL, scratch, 20), below(3) ? "density: 0.3\nseed: 2" : "density: [", &pol);
                uint32_t nl = (uint32_t)below(3);
                for (uint32_t l = 0; pol && l < nl; l++) {
                    int64_t shape[4] = {(int64_t)below(9) - (below(20) == 0), (int64_t)below(9), 1, 1};
                    /* absurd sizes: the preflight refuses most; a smaller "big" layer that is
                     * accepted would outgrow the 100-float host buffers below (a C array's length
                     * cannot be checked), so its policy gets no buffer calls */
                    if (below(15) == 0) shape[below(4)] = (int64_t)1 << (16 + below(40));
                    uint32_t rank = (uint32_t)below(5);
                    st = sw_policy_add_layer(pol, below(10) ? "w" : NULL, below(10) ? shape : NULL, rank);
                    int64_t count = 1;
                    for (uint32_t d = 0; d < rank && d < 4; d++) count *= shape[d] > 0 ? shape[d] : 1;
                    if (st == SW_OK && count > 100) pol_too_big = 1;
                }
            } else {
                sw_layer_buffers lb[3];
                uint32_t n = (uint32_t)below(4);
                for (uint32_t i = 0; i < n; i++) {
                    lb[i].struct_size = below(5) ? sizeof lb[i] : (uint32_t)below(48);
                    lb[i].weights = below(10) ? fbuf + 100 * i : NULL;
                    lb[i].scores = below(2) ? sbuf + 100 * i : NULL; lb[i].grad = below(2) ? gbuf + 100 * i : NULL;
                    lb[i].mask = below(10) ? mbuf + 100 * i : NULL;
                }
                for (int i = 0; i < 400; i++) { fbuf[i] = fval(); gbuf[i] = fval(); }
                int64_t step = (int64_t)below(50) - 2, total = (int64_t)below(100) - 2;
                int32_t skip, needed; uint32_t routing, flags;
                switch (below(6)) {
                case 0: st = sw_policy_before_forward(pol, step, total, below(10) ? lb : NULL, n); break;
                case 1: st = sw_policy_after_backward(pol, step, total, lb, n, below(2) ? &skip : NULL); break;
                case 2: st = sw_policy_after_step(pol, step, total, lb, n); break;
                case 3: st = sw_policy_evaluation_masks(pol, lb, n); break;
                case 4: st = sw_policy_needs_gradient(pol, step, total, below(5) ? &needed : NULL); break;
                default: st = sw_policy_info(pol, below(2) ? &routing : NULL, below(2) ? &flags : NULL);
                }
            }
            break;
        }
        case 11: {  /* checkpoints: save, load, and load of a damaged copy */
            if (below(2)) st = sw_engine_save(e, below(10) ? ckpt : "/nonexistent/dir/x.safetensors");
            else {
                FILE *f = fopen(ckpt, "r+b");
                if (f && below(3) == 0) {
                    fseek(f, 0, SEEK_END); long size = ftell(f);
                    if (size > 0) { fseek(f, (long)below((uint64_t)size), SEEK_SET); fputc((int)below(256), f); }
                }
                if (f) fclose(f);
                st = sw_engine_load(e, below(10) ? ckpt : NULL);
            }
            break;
        }
        case 12: { uint64_t needed; st = sw_policy_names(below(4) ? cbuf : NULL, below(200), below(5) ? &needed : NULL); break; }
        case 13: { int64_t a, b; st = sw_engine_progress(e, below(4) ? &a : NULL, below(4) ? &b : NULL); break; }
        case 14: (void)sw_status_name((sw_status)((int)below(40) - 5)); (void)sw_last_error(); break;
        default:
            if (below(8) == 0 && engines[slot]) { stale = engines[slot]; sw_engine_destroy(engines[slot]); engines[slot] = NULL; }
            st = sw_engine_train(e, (int32_t)below(2), NULL, NULL);
        }
        if (st == SW_OK) { ok++; oks[op]++; }
        else {
            refused++;
            const char *m = sw_last_error();
            if (!m || !*m) { fprintf(stderr, "call %ld (op %d): status %d without a message\n", c, op, (int)st); return 1; }
        }
    }
    for (int i = 0; i < 4; i++) sw_engine_destroy(engines[i]);
    sw_policy_destroy(pol);
    printf("fuzz capi: %ld calls (seed %llu): %ld returned OK, %ld refused with a message, 0 crashes\n", calls,
           (unsigned long long)seed, ok, refused);
    printf("  OK per kind of call (of how many): create %ld/%ld, set_data %ld/%ld, train_step %ld/%ld, predict %ld/%ld, "
           "tensors %ld/%ld, set_policy %ld/%ld, stand-alone policy %ld/%ld, checkpoints %ld/%ld\n",
           oks[0], counts[0], oks[2], counts[2], oks[3], counts[3], oks[5], counts[5], oks[7], counts[7], oks[9], counts[9],
           oks[10], counts[10], oks[11], counts[11]);
    return 0;
}
