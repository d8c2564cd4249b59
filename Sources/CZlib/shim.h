#ifndef SPARSEWIRE_CZLIB_SHIM_H
#define SPARSEWIRE_CZLIB_SHIM_H
#include <zlib.h>
#endif
