#ifndef SWAPSCRIPT_PNG_SHIM_H
#define SWAPSCRIPT_PNG_SHIM_H
// libpng reports errors by longjmp; these functions wrap every libpng call in setjmp so that
// an error comes back to Swift as a return code plus a message, never as an abort.
//
// Reading delivers every PNG colour type as 8- or 16-bit samples with 1 to 4 channels:
// palette images become RGB (RGBA when they carry tRNS), gray below 8 bits is scaled up to
// 8 bits, a tRNS colour key becomes an alpha channel, interlaced images are de-interlaced.
// 16-bit samples come out as native-endian uint16_t values.

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the shim functions.
typedef enum swap_png_status {
    SWAP_PNG_OK = 0,
    SWAP_PNG_ERR_EMPTY = 1,       ///< The input has no bytes at all.
    SWAP_PNG_ERR_NOT_PNG = 2,     ///< The first bytes are not the PNG signature.
    SWAP_PNG_ERR_TRUNCATED = 3,   ///< The data ended before the image was complete.
    SWAP_PNG_ERR_CORRUPT = 4,     ///< libpng rejected the data; the message says why.
    SWAP_PNG_ERR_IO = 5,          ///< Reading or writing the FILE failed.
    SWAP_PNG_ERR_NO_MEMORY = 6,   ///< An allocation failed.
    SWAP_PNG_ERR_TOO_LARGE = 7,   ///< The decoded image would exceed the size limit.
    SWAP_PNG_ERR_ARGUMENT = 8     ///< The caller passed invalid arguments (writing).
} swap_png_status;

/// How a text chunk was (or is to be) stored.
typedef enum swap_png_text_kind {
    SWAP_PNG_TEXT_TEXT = 0,   ///< tEXt: Latin-1, uncompressed.
    SWAP_PNG_TEXT_ZTXT = 1,   ///< zTXt: Latin-1, compressed.
    SWAP_PNG_TEXT_ITXT = 2,   ///< iTXt: UTF-8, uncompressed.
    SWAP_PNG_TEXT_ITXT_Z = 3  ///< iTXt: UTF-8, compressed.
} swap_png_text_kind;

/// One text chunk. Keys are NUL-terminated Latin-1; values are `value_length` bytes
/// (Latin-1 for tEXt/zTXt, UTF-8 for iTXt) followed by a NUL.
typedef struct swap_png_text {
    const char *key;
    const char *value;
    size_t value_length;
    swap_png_text_kind kind;
} swap_png_text;

/// A decoded image. Free with `swap_png_image_free`.
typedef struct swap_png_image {
    uint32_t width;
    uint32_t height;
    int channels;          ///< 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    int bit_depth;         ///< 8 or 16 (bits per delivered sample).
    int source_bit_depth;  ///< Bit depth in the file (1, 2, 4, 8, 16).
    int source_color_type; ///< PNG colour type in the file (0, 2, 3, 4, 6).
    int interlaced;        ///< 1 when the file used Adam7 interlacing.
    /// width * height * channels samples, row-major HWC; uint8_t or native uint16_t.
    void *pixels;
    size_t pixels_size;    ///< Size of `pixels` in bytes.
    int text_count;
    swap_png_text *texts;  ///< Text chunks in file order (both before and after IDAT).
} swap_png_image;

/// The largest decoded pixel buffer the reader accepts, in bytes (1 GiB).
#define SWAP_PNG_MAX_PIXEL_BYTES ((size_t)1 << 30)

/// The libpng version string this shim was compiled against.
const char *swap_png_version(void);

/// Decodes a PNG held in memory. On failure `out` is left empty and `message` (of `message_size`
/// bytes, may be NULL) receives a NUL-terminated description.
swap_png_status swap_png_read_memory(const uint8_t *data, size_t size, swap_png_image *out,
                                     char *message, size_t message_size);

/// Decodes a PNG from an open FILE, starting at its current position.
swap_png_status swap_png_read_file(FILE *file, swap_png_image *out,
                                   char *message, size_t message_size);

/// Releases the buffers of an image filled by a read function and zeroes it.
void swap_png_image_free(swap_png_image *image);

/// Encodes 8-bit RGB (channels 3) or RGBA (channels 4) pixels, row-major HWC, with the given
/// text chunks (written before IDAT, in order) into a newly malloc'ed buffer.
/// On success `*out_data`/`*out_size` hold the PNG; release it with `swap_png_buffer_free`.
swap_png_status swap_png_write_memory(const uint8_t *pixels, uint32_t width, uint32_t height,
                                      int channels, const swap_png_text *texts, int text_count,
                                      uint8_t **out_data, size_t *out_size,
                                      char *message, size_t message_size);

/// Like `swap_png_write_memory` but writes to an open FILE (not flushed or closed).
swap_png_status swap_png_write_file(FILE *file, const uint8_t *pixels, uint32_t width,
                                    uint32_t height, int channels, const swap_png_text *texts,
                                    int text_count, char *message, size_t message_size);

/// Frees a buffer returned by `swap_png_write_memory`.
void swap_png_buffer_free(uint8_t *data);

#ifdef __cplusplus
}
#endif
#endif
