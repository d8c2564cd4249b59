/*
 * The check macros of the C tests (test_capi.c, test_reentrancy.c, test_plugin_abi.c): each
 * check counts itself in `checks`; a failing one prints where, why and sw_last_error(), then
 * exits 1. Include after sparsewire.h.
 */
#ifndef SW_TESTS_CHECK_H
#define SW_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks = 0;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        checks++;                                                                 \
        if (!(cond)) {                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n  last error: %s\n", sw_last_error());             \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

#define OK(call) CHECK((call) == SW_OK, "%s", #call)

/* The call must fail with `status` and a message containing `needle` (printed when
 * SW_CHECK_PRINT_ERRORS is defined before this header). */
#ifdef SW_CHECK_PRINT_ERRORS
#define SW_CHECK_PRINT_(call, rc) \
    printf("ok   error path %-28s -> %s: %s\n", sw_status_name(rc), #call, sw_last_error())
#else
#define SW_CHECK_PRINT_(call, rc) ((void)0)
#endif

#define FAILS(call, status, needle)                                               \
    do {                                                                          \
        sw_status rc_ = (call);                                                   \
        CHECK(rc_ == (status), "%s returned %s, expected %s", #call,              \
              sw_status_name(rc_), sw_status_name(status));                       \
        CHECK(strstr(sw_last_error(), (needle)) != NULL,                          \
              "%s: message lacks '%s'", #call, (needle));                         \
        SW_CHECK_PRINT_(call, rc_);                                               \
    } while (0)

#endif /* SW_TESTS_CHECK_H */
