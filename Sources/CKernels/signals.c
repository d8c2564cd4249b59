/* SIGTERM / SIGINT as a stop request for `sparsewire train` (preemption): the handler only
 * records the signal; the training loop asks after every step and stops cleanly there. */
#include "sw_kernels.h"
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t received;

static void on_stop_signal(int sig) { received = sig; }

int swk_install_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, 0) != 0) return -1;
    if (sigaction(SIGINT, &sa, 0) != 0) return -1;
    return 0;
}

int swk_stop_signal(void) { return (int)received; }
