#ifndef SPARSEWIRE_COPENBLAS_SHIM_H
#define SPARSEWIRE_COPENBLAS_SHIM_H
/* OpenBLAS's cblas.h (Debian: libopenblas-dev) also declares openblas_set_num_threads
   and openblas_get_corename, which the engine uses. */
#include <cblas.h>
#endif
