/* SwiftPM needs one source file in a C target; this target only publishes Include/. */
#include "sparsewire.h"
