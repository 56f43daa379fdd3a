#ifndef SWAPSCRIPT_PNG_SHIM_H
#define SWAPSCRIPT_PNG_SHIM_H
// libpng reports errors by longjmp; these functions wrap every libpng call in setjmp so that
// an error comes back to Swift as a return code plus a message.
const char *swap_png_version(void);
#endif
