// libpng wrapper for Swift. Every libpng call happens inside a function that has armed
// setjmp, so libpng's longjmp-based error reporting lands here and is turned into a status code
// and a message. State that must survive a longjmp lives in a context struct owned by the
// caller of the setjmp function, never in that function's own locals.

#define _GNU_SOURCE 1
#include "png_shim.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *swap_png_version(void) { return PNG_LIBPNG_VER_STRING; }

static void set_message(char *message, size_t message_size, const char *text) {
    if (message == NULL || message_size == 0) return;
    snprintf(message, message_size, "%s", text ? text : "");
}

static int host_is_little_endian(void) {
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

// MARK: - Reading

typedef struct reader_ctx {
    // Source: either a memory block or a FILE.
    const uint8_t *data;
    size_t size;
    size_t pos;
    FILE *file;
    // Why libpng stopped, when it was us who stopped it.
    int truncated;
    int io_error;
    int too_large;
    char *message;
    size_t message_size;
    // Resources to release on every exit path.
    png_structp png;
    png_infop info;
    png_bytep *rows;
    swap_png_image *image;
} reader_ctx;

static void shim_error_fn(png_structp png, png_const_charp text) {
    reader_ctx *ctx = (reader_ctx *)png_get_error_ptr(png);
    if (ctx != NULL) set_message(ctx->message, ctx->message_size, text);
    png_longjmp(png, 1);
}

static void shim_warning_fn(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // Warnings (bad ancillary data libpng chose to skip) are not errors.
}

/// Reads exactly `n` bytes from the source; returns 0 on a short read and sets the flags.
static int source_read(reader_ctx *ctx, uint8_t *out, size_t n) {
    if (ctx->file != NULL) {
        size_t got = fread(out, 1, n, ctx->file);
        if (got != n) {
            if (ferror(ctx->file)) ctx->io_error = 1; else ctx->truncated = 1;
            return 0;
        }
        ctx->pos += n;
        return 1;
    }
    if (n > ctx->size - ctx->pos) {
        ctx->truncated = 1;
        return 0;
    }
    memcpy(out, ctx->data + ctx->pos, n);
    ctx->pos += n;
    return 1;
}

static void shim_read_fn(png_structp png, png_bytep out, size_t n) {
    reader_ctx *ctx = (reader_ctx *)png_get_io_ptr(png);
    if (!source_read(ctx, out, n)) {
        png_error(png, ctx->io_error ? "read error" : "unexpected end of data");
    }
}

static char *copy_bytes(const char *text, size_t length) {
    char *copy = (char *)malloc(length + 1);
    if (copy == NULL) return NULL;
    if (length > 0) memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

/// Copies libpng's text chunks into the image; returns 0 when out of memory.
static int copy_texts(reader_ctx *ctx) {
    png_textp texts = NULL;
    int count = png_get_text(ctx->png, ctx->info, &texts, NULL);
    if (count <= 0 || texts == NULL) return 1;
    swap_png_text *out = (swap_png_text *)calloc((size_t)count, sizeof(swap_png_text));
    if (out == NULL) return 0;
    ctx->image->texts = out;
    for (int i = 0; i < count; i++) {
        const png_text *t = &texts[i];
        const char *value = t->text ? t->text : "";
        size_t length = strlen(value);
        switch (t->compression) {
            case PNG_TEXT_COMPRESSION_zTXt: out[i].kind = SWAP_PNG_TEXT_ZTXT; break;
            case PNG_ITXT_COMPRESSION_NONE: out[i].kind = SWAP_PNG_TEXT_ITXT; break;
            case PNG_ITXT_COMPRESSION_zTXt: out[i].kind = SWAP_PNG_TEXT_ITXT_Z; break;
            default: out[i].kind = SWAP_PNG_TEXT_TEXT; break;
        }
        const char *key = t->key ? t->key : "";
        out[i].key = copy_bytes(key, strlen(key));
        out[i].value = copy_bytes(value, length);
        out[i].value_length = length;
        ctx->image->text_count = i + 1;
        if (out[i].key == NULL || out[i].value == NULL) return 0;
    }
    return 1;
}

/// All libpng calls of a read. Returns 1 on success, 0 after a libpng error (longjmp).
static int read_with_libpng(reader_ctx *ctx) {
    if (setjmp(png_jmpbuf(ctx->png))) return 0;

    png_structp png = ctx->png;
    png_infop info = ctx->info;
    swap_png_image *image = ctx->image;

    png_set_read_fn(png, ctx, shim_read_fn);
    png_set_sig_bytes(png, 8);
    // A damaged ancillary chunk means a damaged file: report it rather than skip it.
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    image->source_bit_depth = bit_depth;
    image->source_color_type = color_type;
    image->interlaced = interlace != PNG_INTERLACE_NONE;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((depth != 8 && depth != 16) || channels < 1 || channels > 4 ||
        rowbytes != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
        png_error(png, "unsupported pixel layout after conversion");
    }
    if (height == 0 || rowbytes == 0 || rowbytes > SWAP_PNG_MAX_PIXEL_BYTES / height) {
        ctx->too_large = 1;
        png_error(png, "decoded image would exceed 1 GiB");
    }
    size_t total = rowbytes * height;
    image->pixels = malloc(total);
    ctx->rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (image->pixels == NULL || ctx->rows == NULL) png_error(png, "out of memory");
    image->pixels_size = total;
    for (png_uint_32 y = 0; y < height; y++) ctx->rows[y] = (png_bytep)image->pixels + y * rowbytes;

    png_read_image(png, ctx->rows);
    png_read_end(png, info);  // Text chunks after IDAT land in `info` too.

    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bit_depth = depth;
    if (!copy_texts(ctx)) png_error(png, "out of memory");
    return 1;
}

static swap_png_status classify_failure(const reader_ctx *ctx) {
    if (ctx->io_error) return SWAP_PNG_ERR_IO;
    if (ctx->truncated) return SWAP_PNG_ERR_TRUNCATED;
    if (ctx->too_large) return SWAP_PNG_ERR_TOO_LARGE;
    if (ctx->message != NULL && strcasestr(ctx->message, "out of memory") != NULL)
        return SWAP_PNG_ERR_NO_MEMORY;
    return SWAP_PNG_ERR_CORRUPT;
}

static swap_png_status read_png(reader_ctx *ctx, swap_png_image *out) {
    if (out == NULL) {
        set_message(ctx->message, ctx->message_size, "no output image");
        return SWAP_PNG_ERR_ARGUMENT;
    }
    memset(out, 0, sizeof(*out));
    ctx->image = out;

    // Check the signature ourselves so that "not a PNG" and "empty" get their own codes.
    uint8_t signature[8];
    size_t have = 0;
    while (have < 8) {
        if (!source_read(ctx, signature + have, 1)) break;
        have++;
    }
    if (ctx->io_error) {
        set_message(ctx->message, ctx->message_size, "read error");
        return SWAP_PNG_ERR_IO;
    }
    if (have == 0) {
        set_message(ctx->message, ctx->message_size, "file is empty");
        return SWAP_PNG_ERR_EMPTY;
    }
    if (png_sig_cmp(signature, 0, have) != 0) {
        set_message(ctx->message, ctx->message_size, "not a PNG file (bad signature)");
        return SWAP_PNG_ERR_NOT_PNG;
    }
    if (have < 8) {
        set_message(ctx->message, ctx->message_size, "unexpected end of data in signature");
        return SWAP_PNG_ERR_TRUNCATED;
    }

    ctx->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, shim_error_fn, shim_warning_fn);
    if (ctx->png == NULL) {
        set_message(ctx->message, ctx->message_size, "out of memory");
        return SWAP_PNG_ERR_NO_MEMORY;
    }
    ctx->info = png_create_info_struct(ctx->png);
    swap_png_status status = SWAP_PNG_OK;
    if (ctx->info == NULL) {
        set_message(ctx->message, ctx->message_size, "out of memory");
        status = SWAP_PNG_ERR_NO_MEMORY;
    } else if (!read_with_libpng(ctx)) {
        status = classify_failure(ctx);
    }
    png_destroy_read_struct(&ctx->png, ctx->info ? &ctx->info : NULL, NULL);
    free(ctx->rows);
    ctx->rows = NULL;
    if (status != SWAP_PNG_OK) swap_png_image_free(out);
    return status;
}

swap_png_status swap_png_read_memory(const uint8_t *data, size_t size, swap_png_image *out,
                                     char *message, size_t message_size) {
    reader_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.data = data;
    ctx.size = data ? size : 0;
    ctx.message = message;
    ctx.message_size = message_size;
    set_message(message, message_size, "");
    return read_png(&ctx, out);
}

swap_png_status swap_png_read_file(FILE *file, swap_png_image *out,
                                   char *message, size_t message_size) {
    if (file == NULL) {
        set_message(message, message_size, "no file");
        return SWAP_PNG_ERR_ARGUMENT;
    }
    reader_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.file = file;
    ctx.message = message;
    ctx.message_size = message_size;
    set_message(message, message_size, "");
    return read_png(&ctx, out);
}

void swap_png_image_free(swap_png_image *image) {
    if (image == NULL) return;
    free(image->pixels);
    if (image->texts != NULL) {
        for (int i = 0; i < image->text_count; i++) {
            free((void *)image->texts[i].key);
            free((void *)image->texts[i].value);
        }
        free(image->texts);
    }
    memset(image, 0, sizeof(*image));
}

// MARK: - Writing

typedef struct writer_ctx {
    FILE *file;
    uint8_t *buffer;
    size_t size;
    size_t capacity;
    int io_error;
    char *message;
    size_t message_size;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    png_textp texts;
} writer_ctx;

static void shim_write_error_fn(png_structp png, png_const_charp text) {
    writer_ctx *ctx = (writer_ctx *)png_get_error_ptr(png);
    if (ctx != NULL) set_message(ctx->message, ctx->message_size, text);
    png_longjmp(png, 1);
}

static void shim_write_fn(png_structp png, png_bytep data, size_t n) {
    writer_ctx *ctx = (writer_ctx *)png_get_io_ptr(png);
    if (ctx->file != NULL) {
        if (fwrite(data, 1, n, ctx->file) != n) {
            ctx->io_error = 1;
            png_error(png, "write error");
        }
        return;
    }
    if (n > ctx->capacity - ctx->size) {
        size_t capacity = ctx->capacity ? ctx->capacity : 4096;
        while (n > capacity - ctx->size) {
            if (capacity > SIZE_MAX / 2) png_error(png, "out of memory");
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(ctx->buffer, capacity);
        if (grown == NULL) png_error(png, "out of memory");
        ctx->buffer = grown;
        ctx->capacity = capacity;
    }
    memcpy(ctx->buffer + ctx->size, data, n);
    ctx->size += n;
}

static void shim_flush_fn(png_structp png) { (void)png; }

static int write_with_libpng(writer_ctx *ctx, const uint8_t *pixels, uint32_t width,
                             uint32_t height, int channels, const swap_png_text *texts,
                             int text_count) {
    if (setjmp(png_jmpbuf(ctx->png))) return 0;
    png_structp png = ctx->png;
    png_infop info = ctx->info;

    png_set_write_fn(png, ctx, shim_write_fn, shim_flush_fn);
    png_set_IHDR(png, info, width, height, 8,
                 channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (text_count > 0) {
        ctx->texts = (png_textp)calloc((size_t)text_count, sizeof(png_text));
        if (ctx->texts == NULL) png_error(png, "out of memory");
        for (int i = 0; i < text_count; i++) {
            png_textp t = &ctx->texts[i];
            t->key = (png_charp)texts[i].key;
            t->text = (png_charp)(texts[i].value ? texts[i].value : "");
            switch (texts[i].kind) {
                case SWAP_PNG_TEXT_ZTXT: t->compression = PNG_TEXT_COMPRESSION_zTXt; break;
                case SWAP_PNG_TEXT_ITXT: t->compression = PNG_ITXT_COMPRESSION_NONE; break;
                case SWAP_PNG_TEXT_ITXT_Z: t->compression = PNG_ITXT_COMPRESSION_zTXt; break;
                default: t->compression = PNG_TEXT_COMPRESSION_NONE; break;
            }
            if (t->compression > 0) t->itxt_length = texts[i].value_length;
            else t->text_length = texts[i].value_length;
        }
        png_set_text(png, info, ctx->texts, text_count);
    }
    png_write_info(png, info);

    size_t rowbytes = (size_t)width * (size_t)channels;
    ctx->rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (ctx->rows == NULL) png_error(png, "out of memory");
    for (uint32_t y = 0; y < height; y++) ctx->rows[y] = (png_bytep)(pixels + y * rowbytes);
    png_write_image(png, ctx->rows);
    png_write_end(png, NULL);
    return 1;
}

static swap_png_status write_png(writer_ctx *ctx, const uint8_t *pixels, uint32_t width,
                                 uint32_t height, int channels, const swap_png_text *texts,
                                 int text_count) {
    if (pixels == NULL || width == 0 || height == 0 || (channels != 3 && channels != 4) ||
        text_count < 0 || (text_count > 0 && texts == NULL)) {
        set_message(ctx->message, ctx->message_size,
                    "invalid arguments: need pixels, a non-zero size and 3 or 4 channels");
        return SWAP_PNG_ERR_ARGUMENT;
    }
    for (int i = 0; i < text_count; i++) {
        size_t key_length = texts[i].key ? strlen(texts[i].key) : 0;
        if (key_length < 1 || key_length > 79) {
            set_message(ctx->message, ctx->message_size, "text keys must have 1 to 79 bytes");
            return SWAP_PNG_ERR_ARGUMENT;
        }
    }
    ctx->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, shim_write_error_fn,
                                       shim_warning_fn);
    if (ctx->png == NULL) {
        set_message(ctx->message, ctx->message_size, "out of memory");
        return SWAP_PNG_ERR_NO_MEMORY;
    }
    ctx->info = png_create_info_struct(ctx->png);
    swap_png_status status = SWAP_PNG_OK;
    if (ctx->info == NULL) {
        set_message(ctx->message, ctx->message_size, "out of memory");
        status = SWAP_PNG_ERR_NO_MEMORY;
    } else if (!write_with_libpng(ctx, pixels, width, height, channels, texts, text_count)) {
        if (ctx->io_error) status = SWAP_PNG_ERR_IO;
        else if (ctx->message && strcasestr(ctx->message, "out of memory")) status = SWAP_PNG_ERR_NO_MEMORY;
        else status = SWAP_PNG_ERR_ARGUMENT;
    }
    png_destroy_write_struct(&ctx->png, ctx->info ? &ctx->info : NULL);
    free(ctx->rows);
    free(ctx->texts);
    ctx->rows = NULL;
    ctx->texts = NULL;
    return status;
}

swap_png_status swap_png_write_memory(const uint8_t *pixels, uint32_t width, uint32_t height,
                                      int channels, const swap_png_text *texts, int text_count,
                                      uint8_t **out_data, size_t *out_size,
                                      char *message, size_t message_size) {
    set_message(message, message_size, "");
    if (out_data == NULL || out_size == NULL) {
        set_message(message, message_size, "no output buffer");
        return SWAP_PNG_ERR_ARGUMENT;
    }
    *out_data = NULL;
    *out_size = 0;
    writer_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.message = message;
    ctx.message_size = message_size;
    swap_png_status status = write_png(&ctx, pixels, width, height, channels, texts, text_count);
    if (status != SWAP_PNG_OK) {
        free(ctx.buffer);
        return status;
    }
    *out_data = ctx.buffer;
    *out_size = ctx.size;
    return SWAP_PNG_OK;
}

swap_png_status swap_png_write_file(FILE *file, const uint8_t *pixels, uint32_t width,
                                    uint32_t height, int channels, const swap_png_text *texts,
                                    int text_count, char *message, size_t message_size) {
    set_message(message, message_size, "");
    if (file == NULL) {
        set_message(message, message_size, "no file");
        return SWAP_PNG_ERR_ARGUMENT;
    }
    writer_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.file = file;
    ctx.message = message;
    ctx.message_size = message_size;
    return write_png(&ctx, pixels, width, height, channels, texts, text_count);
}

void swap_png_buffer_free(uint8_t *data) { free(data); }
