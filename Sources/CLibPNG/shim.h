#ifndef SWAPSCRIPT_CLIBPNG_SHIM_H
#define SWAPSCRIPT_CLIBPNG_SHIM_H
#include <png.h>
#endif
