// See include/IntegerKernels.h. The GEMM has one portable version and, on x86-64, versions for AVX2, AVX-512BW
// and AVX-512 VNNI chosen at run time; all compute the same integers (wrapping sums modulo 2^32).
#include "IntegerKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
// Loops the compiler vectorizes well by itself: an AVX-512 clone beside the baseline one, chosen at load time.
#define AR_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define AR_CLONES
#endif

long ar_even(long k) { return (k + 1) & ~1L; }

long ar_conv_depth(long channels, long kernelH, long kernelW) { return channels * kernelH * ar_even(kernelW); }

static long ar_panels(long n) { return (n + AR_PANEL - 1) / AR_PANEL; }

long ar_packed_size(long depth, long n) { return ar_panels(n) * AR_PANEL * depth; }

// Two 16-bit codes as the 32-bit word of one column of a pair row (the first in the low half).
static inline __attribute__((always_inline)) uint32_t ar_word(int32_t first, int32_t second) {
    return (uint32_t)(uint16_t)first | (uint32_t)(uint16_t)second << 16;
}

// The words of columns n ... padded-1 of every pair row are zero.
static void ar_zero_columns(uint32_t *dst, long pairs, long n) {
    long last = n / AR_PANEL, from = n % AR_PANEL;
    if (from == 0) return;
    for (long kk = 0; kk < pairs; kk++) {
        for (long j = from; j < AR_PANEL; j++) dst[(last * pairs + kk) * AR_PANEL + j] = 0;
    }
}

void ar_pack_inputs(const int32_t *src, long sampleStride, long k, long n, int16_t *dst) {
    uint32_t *words = (uint32_t *)dst;
    long pairs = ar_even(k) / 2;
    for (long col = 0; col < n; col++) {
        const int32_t *x = src + col * sampleStride;
        uint32_t *out = words + (col / AR_PANEL) * pairs * AR_PANEL + col % AR_PANEL;
        for (long kk = 0; kk < k / 2; kk++) out[kk * AR_PANEL] = ar_word(x[2 * kk], x[2 * kk + 1]);
        if (k & 1) out[(k / 2) * AR_PANEL] = ar_word(x[k - 1], 0);
    }
    ar_zero_columns(words, pairs, n);
}

// The word of a column whose taps may lie in the padding (row `inside` or not, columns ix and ix + 1).
static inline __attribute__((always_inline)) uint32_t ar_edge_word(const int32_t *line, int inside, long ix, long width, int second) {
    if (!inside) return 0;
    int32_t a = ix >= 0 && ix < width ? line[ix] : 0;
    int32_t b = second && ix + 1 >= 0 && ix + 1 < width ? line[ix + 1] : 0;
    return ar_word(a, b);
}

// One pair row of the im2col matrix: taps kx and kx + 1 (`second` false when kx + 1 is past the kernel) of
// input row ky of channel c, for every column (sample, oy, ox).
static inline __attribute__((always_inline)) void ar_im2col_pair(
    const int32_t *input, long samples, long sampleStride, long height, long width, long ky, long kx, int second,
    long strideH, long strideW, long padTop, long padLeft, long outH, long outW, uint32_t *row, long panelWords) {
    // Columns ox in [lo, hi) read both taps inside the row; the others go through the bounds check.
    long lo = 0, hi = outW;
    while (lo < outW && lo * strideW - padLeft + kx < 0) lo++;
    while (hi > lo && (hi - 1) * strideW - padLeft + kx + 1 >= width) hi--;
    long col = 0;
    for (long s = 0; s < samples; s++) {
        for (long oy = 0; oy < outH; oy++) {
            long iy = oy * strideH - padTop + ky;
            int inside = iy >= 0 && iy < height;
            const int32_t *line = input + s * sampleStride + (inside ? iy : 0) * width;
            long ox = 0;
            while (ox < outW) {
                // A run of columns within one panel.
                long j = col % AR_PANEL, run = AR_PANEL - j < outW - ox ? AR_PANEL - j : outW - ox;
                uint32_t *out = row + (col / AR_PANEL) * panelWords + j;
                long end = ox + run;
                // Before lo and from hi on, taps may fall in the padding; between, both are inside.
                long fastFrom = inside ? (lo > ox ? (lo < end ? lo : end) : ox) : end;
                long fastTo = inside ? (hi < end ? (hi > fastFrom ? hi : fastFrom) : end) : end;
                for (; ox < fastFrom; ox++, out++) *out = ar_edge_word(line, inside, ox * strideW - padLeft + kx, width, second);
                const int32_t *tap = line + fastFrom * strideW - padLeft + kx;
                long fast = fastTo - fastFrom;
                if (strideW == 1 && second) {
                    for (long t = 0; t < fast; t++) out[t] = ar_word(tap[t], tap[t + 1]);
                } else if (strideW == 1) {
                    for (long t = 0; t < fast; t++) out[t] = ar_word(tap[t], 0);
                } else {
                    for (long t = 0; t < fast; t++) out[t] = ar_word(tap[t * strideW], second ? tap[t * strideW + 1] : 0);
                }
                out += fast;
                ox = fastTo;
                for (; ox < end; ox++, out++) *out = ar_edge_word(line, inside, ox * strideW - padLeft + kx, width, second);
                col += run;
            }
        }
    }
}

#define AR_IM2COL_PARAMETERS                                                                                      \
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long kernelH, \
        long kernelW, long strideH, long strideW, long padTop, long padLeft, long outH, long outW, int16_t *dst
#define AR_IM2COL_ARGUMENTS                                                                                       \
    input, samples, sampleStride, channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, \
        outH, outW, dst

static inline __attribute__((always_inline)) void ar_im2col_body(AR_IM2COL_PARAMETERS) {
    uint32_t *words = (uint32_t *)dst;
    long pairs = ar_conv_depth(channels, kernelH, kernelW) / 2, perRow = ar_even(kernelW) / 2;
    for (long c = 0; c < channels; c++) {
        for (long ky = 0; ky < kernelH; ky++) {
            for (long p = 0; p < perRow; p++) {
                long kk = (c * kernelH + ky) * perRow + p;
                ar_im2col_pair(
                    input + c * height * width, samples, sampleStride, height, width, ky, 2 * p,
                    2 * p + 1 < kernelW, strideH, strideW, padTop, padLeft, outH, outW, words + kk * AR_PANEL,
                    pairs * AR_PANEL);
            }
        }
    }
    ar_zero_columns(words, pairs, samples * outH * outW);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"))) static void ar_im2col_avx512(AR_IM2COL_PARAMETERS) {
    ar_im2col_body(AR_IM2COL_ARGUMENTS);
}

__attribute__((target("avx2"))) static void ar_im2col_avx2(AR_IM2COL_PARAMETERS) {
    ar_im2col_body(AR_IM2COL_ARGUMENTS);
}
#endif

void ar_im2col_pack(AR_IM2COL_PARAMETERS) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw")) return ar_im2col_avx512(AR_IM2COL_ARGUMENTS);
    if (__builtin_cpu_supports("avx2")) return ar_im2col_avx2(AR_IM2COL_ARGUMENTS);
#endif
    ar_im2col_body(AR_IM2COL_ARGUMENTS);
}

static inline __attribute__((always_inline)) void ar_pair_planes_body(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst, int32_t *line) {
    long plane = paddedH * paddedW;
    // Columns x in [left, right) of a padded row hold input columns x - padLeft.
    long left = padLeft < paddedW ? padLeft : paddedW;
    long right = padLeft + width < paddedW ? padLeft + width : paddedW;
    if (right < left) right = left;
    for (long x = 0; x <= paddedW; x++) line[x] = 0;
    for (long s = 0; s < samples; s++) {
        for (long c = 0; c < channels; c++) {
            const int32_t *source = input + s * sampleStride + c * height * width;
            uint32_t *out = dst + (s * channels + c) * plane;
            for (long y = 0; y < paddedH; y++) {
                long iy = y - padTop;
                uint32_t *words = out + y * paddedW;
                if (iy < 0 || iy >= height) {
                    for (long x = 0; x < paddedW; x++) words[x] = 0;
                    continue;
                }
                // The padded row in `line` (zeros outside [left, right) and at paddedW), then its pairs.
                memcpy(line + left, source + iy * width, (size_t)(right - left) * sizeof(int32_t));
                for (long x = 0; x < paddedW; x++) words[x] = ar_word(line[x], line[x + 1]);
            }
        }
    }
    memset(dst + samples * channels * plane, 0, (size_t)slack * sizeof(uint32_t));
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"))) static void ar_pair_planes_avx512(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst, int32_t *line) {
    ar_pair_planes_body(
        input, samples, sampleStride, channels, height, width, padTop, padLeft, paddedH, paddedW, slack, dst, line);
}
#endif

void ar_pair_planes(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst) {
    int32_t *line = malloc((size_t)(paddedW + 1) * sizeof(int32_t));
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw")) {
        ar_pair_planes_avx512(
            input, samples, sampleStride, channels, height, width, padTop, padLeft, paddedH, paddedW, slack, dst,
            line);
        free(line);
        return;
    }
#endif
    ar_pair_planes_body(
        input, samples, sampleStride, channels, height, width, padTop, padLeft, paddedH, paddedW, slack, dst, line);
    free(line);
}

// Four codes (0 ... 255) as the 32-bit word of one column of a quad row, the first in the low byte.
static inline __attribute__((always_inline)) uint32_t ar_quad(int32_t c0, int32_t c1, int32_t c2, int32_t c3) {
    return (uint32_t)c0 | (uint32_t)c1 << 8 | (uint32_t)c2 << 16 | (uint32_t)c3 << 24;
}

// One padded row of a channel group's plane: `words[x]` for x < paddedW packs the `lanes` channels' codes at
// input column x - left (`src[x - left + i * area]` for channel i) where left <= x < right, else 0.
typedef void (*ar_row_fn)(const int32_t *src, long area, long left, long right, long paddedW, uint32_t *words);

static void ar_row_pairs_portable(const int32_t *src, long area, long left, long right, long paddedW, uint32_t *words) {
    for (long x = 0; x < paddedW; x++) {
        words[x] = x >= left && x < right ? ar_word(src[x - left], src[x - left + area]) : 0;
    }
}

static void ar_row_quads_portable(const int32_t *src, long area, long left, long right, long paddedW, uint32_t *words) {
    for (long x = 0; x < paddedW; x++) {
        const int32_t *p = src + (x - left);
        words[x] = x >= left && x < right ? ar_quad(p[0], p[area], p[2 * area], p[3 * area]) : 0;
    }
}

#if defined(__x86_64__)
// Rows are short (a few dozen columns): 16 columns per step, the edges by masks, not a vector loop's scalar tail.
// Masked-off lanes of a load neither read memory nor fault.
#define AR_ROW_512(NAME, PACK)                                                                                   \
    __attribute__((target("avx512f,avx512bw"))) static void NAME(                                             \
        const int32_t *src, long area, long left, long right, long paddedW, uint32_t *words) {                 \
        for (long x = 0; x < paddedW; x += 16) {                                                               \
            long lo = left - x < 0 ? 0 : left - x > 16 ? 16 : left - x;                                       \
            long hi = right - x < 0 ? 0 : right - x > 16 ? 16 : right - x;                                    \
            long end = paddedW - x > 16 ? 16 : paddedW - x;                                                   \
            __mmask16 inside = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));                             \
            __mmask16 row = (__mmask16)((1u << end) - 1);                                                     \
            const int32_t *p = src + (x - left);                                                               \
            _mm512_mask_storeu_epi32(words + x, row, PACK);                                                   \
        }                                                                                                      \
    }
#define AR_LOAD(i) _mm512_maskz_loadu_epi32(inside, p + (i) * area)
AR_ROW_512(ar_row_pairs_avx512,
    _mm512_or_si512(_mm512_and_si512(AR_LOAD(0), _mm512_set1_epi32(0xffff)), _mm512_slli_epi32(AR_LOAD(1), 16)))
AR_ROW_512(ar_row_quads_avx512,
    _mm512_or_si512(_mm512_or_si512(AR_LOAD(0), _mm512_slli_epi32(AR_LOAD(1), 8)),
                    _mm512_or_si512(_mm512_slli_epi32(AR_LOAD(2), 16), _mm512_slli_epi32(AR_LOAD(3), 24))))
#undef AR_LOAD
#endif

// The row function of a version (0 portable, 2 AVX-512BW) for groups of 2 or 4 channels; 0 when unavailable.
static ar_row_fn ar_row_for(int version, long lanes) {
    if (version == 0) return lanes == 4 ? ar_row_quads_portable : ar_row_pairs_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (version == 2 && __builtin_cpu_supports("avx512bw")) return lanes == 4 ? ar_row_quads_avx512 : ar_row_pairs_avx512;
#endif
    return 0;
}

static void ar_channel_planes(
    ar_row_fn pack, long lanes, const int32_t *input, long samples, long sampleStride, long channels, long height,
    long width, long padTop, long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst) {
    long plane = paddedH * paddedW, groups = channels / lanes, area = height * width;
    long left = padLeft < paddedW ? padLeft : paddedW;
    long right = padLeft + width < paddedW ? padLeft + width : paddedW;
    if (right < left) right = left;
    for (long s = 0; s < samples; s++) {
        for (long g = 0; g < groups; g++) {
            const int32_t *first = input + s * sampleStride + lanes * g * area;
            uint32_t *out = dst + (s * groups + g) * plane;
            for (long y = 0; y < paddedH; y++) {
                long iy = y - padTop;
                if (iy < 0 || iy >= height) {
                    memset(out + y * paddedW, 0, (size_t)paddedW * sizeof(uint32_t));
                } else {
                    pack(first + iy * width, area, left, right, paddedW, out + y * paddedW);
                }
            }
        }
    }
    memset(dst + samples * groups * plane, 0, (size_t)slack * sizeof(uint32_t));
}

static ar_row_fn ar_row_best(long lanes) {
    ar_row_fn fn = ar_row_for(2, lanes);
    return fn ? fn : ar_row_for(0, lanes);
}

void ar_pair_channels(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst) {
    ar_channel_planes(
        ar_row_best(2), 2, input, samples, sampleStride, channels, height, width, padTop, padLeft, paddedH, paddedW,
        slack, dst);
}

void ar_quad_channels(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst) {
    ar_channel_planes(
        ar_row_best(4), 4, input, samples, sampleStride, channels, height, width, padTop, padLeft, paddedH, paddedW,
        slack, dst);
}

int ar_channel_planes_version(
    int version, long lanes, const int32_t *input, long samples, long sampleStride, long channels, long height,
    long width, long padTop, long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst) {
    ar_row_fn fn = (lanes == 2 || lanes == 4) ? ar_row_for(version, lanes) : 0;
    if (!fn) return 0;
    ar_channel_planes(
        fn, lanes, input, samples, sampleStride, channels, height, width, padTop, padLeft, paddedH, paddedW, slack,
        dst);
    return 1;
}

AR_CLONES void ar_max_pool(
    const int32_t *input, long samples, long inStride, long channels, long height, long width, long kernelH,
    long kernelW, long strideH, long strideW, long padTop, long padLeft, long outH, long outW, int32_t *out,
    long outStride) {
    int pairs = kernelH == 2 && kernelW == 2 && strideH == 2 && strideW == 2 && padTop == 0 && padLeft == 0 &&
                2 * outH <= height && 2 * outW <= width;
    for (long s = 0; s < samples; s++) {
        for (long c = 0; c < channels; c++) {
            const int32_t *plane = input + s * inStride + c * height * width;
            int32_t *y = out + s * outStride + c * outH * outW;
            // The common 2 x 2 window of stride 2, every window inside.
            for (long oy = 0; pairs && oy < outH; oy++) {
                const int32_t *top = plane + 2 * oy * width, *bottom = top + width;
                for (long ox = 0; ox < outW; ox++) {
                    int32_t a = top[2 * ox] > top[2 * ox + 1] ? top[2 * ox] : top[2 * ox + 1];
                    int32_t b = bottom[2 * ox] > bottom[2 * ox + 1] ? bottom[2 * ox] : bottom[2 * ox + 1];
                    y[oy * outW + ox] = a > b ? a : b;
                }
            }
            for (long oy = 0; !pairs && oy < outH; oy++) {
                long y0 = oy * strideH - padTop, y1 = y0 + kernelH;
                if (y0 < 0) y0 = 0;
                if (y1 > height) y1 = height;
                for (long ox = 0; ox < outW; ox++) {
                    long x0 = ox * strideW - padLeft, x1 = x0 + kernelW;
                    if (x0 < 0) x0 = 0;
                    if (x1 > width) x1 = width;
                    int32_t best = plane[y0 * width + x0];
                    for (long iy = y0; iy < y1; iy++) {
                        for (long ix = x0; ix < x1; ix++) {
                            int32_t v = plane[iy * width + ix];
                            best = v > best ? v : best;
                        }
                    }
                    y[oy * outW + ox] = best;
                }
            }
        }
    }
}

// The pair of A's row `r` at pair index kk, as one 32-bit word (memcpy: A is an int16 array).
static inline int32_t ar_pair(const int16_t *row, long kk) {
    int32_t word;
    memcpy(&word, row + 2 * kk, sizeof word);
    return word;
}

static void ar_gemm_direct_portable(
    long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc) {
    long pairs = depth / 2, perSample = ar_panels(columns) * AR_PANEL;
    for (long s = 0; s < samples; s++) {
        const uint32_t *q = planes + s * sampleWords;
        for (long r = 0; r < m; r++) {
            for (long col = 0; col < perSample; col++) {
                uint32_t sum = 0;
                for (long kk = 0; kk < pairs; kk++) {
                    uint32_t word = q[offsets[kk] + col];
                    int16_t lo = (int16_t)(word & 0xffff), hi = (int16_t)(word >> 16);
                    sum += (uint32_t)(a[r * depth + 2 * kk] * lo) + (uint32_t)(a[r * depth + 2 * kk + 1] * hi);
                }
                c[r * ldc + s * perSample + col] = (int32_t)sum;
            }
        }
    }
}

#if defined(__x86_64__)

#define AR_STEP_VNNI(acc, a, b) _mm512_dpwssd_epi32(acc, a, b)
#define AR_STEP_BW(acc, a, b) _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
// One block of up to 8 rows of A times one panel of B: B's two registers load each pair row at its offset (a pair
// plane's for a direct convolution, the packed panel's for ar_gemm). A row is `pairs` 32-bit words (WORD codes
// each: two int16, or four int8 for quads), so kp = 2 * pairs int16 apart.
#define AR_DIRECT_512(NAME, TARGET, STEP, WORD)                                                                      \
    static inline __attribute__((always_inline, target(TARGET))) void NAME##_block(                             \
        const int mr, long pairs, const int16_t *a, long kp, const uint32_t *q, const long *offsets, int32_t *c,  \
        long ldc) {                                                                                              \
        __m512i acc[8][2];                                                                                       \
        for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();                             \
        for (long kk = 0; kk < pairs; kk++) {                                                                    \
            __m512i b0 = _mm512_loadu_si512((const void *)(q + offsets[kk]));                                     \
            __m512i b1 = _mm512_loadu_si512((const void *)(q + offsets[kk] + 16));                                \
            for (int r = 0; r < mr; r++) {                                                                       \
                __m512i av = _mm512_set1_epi32(ar_pair(a + r * kp, kk));                                         \
                acc[r][0] = STEP(acc[r][0], av, b0);                                                             \
                acc[r][1] = STEP(acc[r][1], av, b1);                                                             \
            }                                                                                                    \
        }                                                                                                        \
        for (int r = 0; r < mr; r++) {                                                                           \
            _mm512_storeu_si512((void *)(c + r * ldc), acc[r][0]);                                               \
            _mm512_storeu_si512((void *)(c + r * ldc + 16), acc[r][1]);                                          \
        }                                                                                                        \
    }                                                                                                            \
    __attribute__((target(TARGET))) static void NAME(                                                           \
        long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes,                \
        long sampleWords, const long *offsets, int32_t *c, long ldc) {                                           \
        long pairs = depth / WORD, kp = 2 * pairs, panels = ar_panels(columns);                                  \
        for (long s = 0; s < samples; s++) {                                                                     \
            for (long p = 0; p < panels; p++) {                                                                  \
                const uint32_t *q = planes + s * sampleWords + p * AR_PANEL;                                     \
                int32_t *out = c + (s * panels + p) * AR_PANEL;                                                  \
                long r = 0;                                                                                      \
                for (; r + 8 <= m; r += 8) NAME##_block(8, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); \
                switch (m - r) {                                                                                 \
                case 7: NAME##_block(7, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                case 6: NAME##_block(6, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                case 5: NAME##_block(5, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                case 4: NAME##_block(4, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                case 3: NAME##_block(3, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                case 2: NAME##_block(2, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                case 1: NAME##_block(1, pairs, a + r * kp, kp, q, offsets, out + r * ldc, ldc); break;     \
                default: break;                                                                                  \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }

AR_DIRECT_512(ar_direct_vnni, "avx512f,avx512bw,avx512vnni", AR_STEP_VNNI, 2)
AR_DIRECT_512(ar_direct_bw, "avx512f,avx512bw", AR_STEP_BW, 2)
// Quads: B's bytes unsigned, A's signed (vpdpbusd's operand order), four products per 32-bit lane.
#define AR_STEP_QUAD(acc, a, b) _mm512_dpbusd_epi32(acc, b, a)
AR_DIRECT_512(ar_direct_quads_vnni, "avx512f,avx512bw,avx512vnni", AR_STEP_QUAD, 4)

// AVX2: half a panel (two registers) per block of up to 4 rows.
static inline __attribute__((always_inline, target("avx2"))) void ar_direct_avx2_block(
    const int mr, long pairs, const int16_t *a, long kp, const uint32_t *q, const long *offsets, int32_t *c,
    long ldc) {
    __m256i acc[4][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (long kk = 0; kk < pairs; kk++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(q + offsets[kk]));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(q + offsets[kk] + 8));
        for (int r = 0; r < mr; r++) {
            __m256i av = _mm256_set1_epi32(ar_pair(a + r * kp, kk));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_si256((__m256i *)(c + r * ldc), acc[r][0]);
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), acc[r][1]);
    }
}

__attribute__((target("avx2"))) static void ar_direct_avx2(
    long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc) {
    long pairs = depth / 2, panels = ar_panels(columns);
    for (long s = 0; s < samples; s++) {
        for (long p = 0; p < panels; p++) {
            for (long h = 0; h < 2; h++) {
                const uint32_t *q = planes + s * sampleWords + p * AR_PANEL + h * 16;
                int32_t *out = c + (s * panels + p) * AR_PANEL + h * 16;
                long r = 0;
                for (; r + 4 <= m; r += 4) ar_direct_avx2_block(4, pairs, a + r * depth, depth, q, offsets, out + r * ldc, ldc);
                switch (m - r) {
                case 3: ar_direct_avx2_block(3, pairs, a + r * depth, depth, q, offsets, out + r * ldc, ldc); break;
                case 2: ar_direct_avx2_block(2, pairs, a + r * depth, depth, q, offsets, out + r * ldc, ldc); break;
                case 1: ar_direct_avx2_block(1, pairs, a + r * depth, depth, q, offsets, out + r * ldc, ldc); break;
                default: break;
                }
            }
        }
    }
}

#endif

typedef void (*ar_direct_fn)(
    long, long, long, long, const int16_t *, const uint32_t *, long, const long *, int32_t *, long);

static ar_direct_fn ar_direct_for(int version) {
    if (version == 0) return ar_gemm_direct_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (version == 1 && __builtin_cpu_supports("avx2")) return ar_direct_avx2;
    if (version == 2 && __builtin_cpu_supports("avx512bw")) return ar_direct_bw;
    if (version == 3 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) return ar_direct_vnni;
#endif
    return 0;
}

static ar_direct_fn ar_direct_best(const char **name) {
    static const char *names[] = {"portable", "avx2", "avx512bw", "avx512-vnni"};
    for (int version = 3; version > 0; version--) {
        ar_direct_fn fn = ar_direct_for(version);
        if (fn) {
            if (name) *name = names[version];
            return fn;
        }
    }
    if (name) *name = names[0];
    return ar_gemm_direct_portable;
}

void ar_gemm_direct(
    long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc) {
    ar_direct_best(0)(m, samples, columns, depth, a, planes, sampleWords, offsets, c, ldc);
}

int ar_gemm_direct_version(
    int version, long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes,
    long sampleWords, const long *offsets, int32_t *c, long ldc) {
    ar_direct_fn fn = ar_direct_for(version);
    if (!fn) return 0;
    fn(m, samples, columns, depth, a, planes, sampleWords, offsets, c, ldc);
    return 1;
}

static void ar_gemm_direct_quads_portable(
    long m, long samples, long columns, long depth, const int16_t *a16, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc) {
    const int8_t *a = (const int8_t *)a16;
    long quads = depth / 4, perSample = ar_panels(columns) * AR_PANEL;
    for (long s = 0; s < samples; s++) {
        const uint32_t *q = planes + s * sampleWords;
        for (long r = 0; r < m; r++) {
            for (long col = 0; col < perSample; col++) {
                uint32_t sum = 0;
                for (long kk = 0; kk < quads; kk++) {
                    uint32_t word = q[offsets[kk] + col];
                    for (int i = 0; i < 4; i++) {
                        sum += (uint32_t)(a[r * depth + 4 * kk + i] * (int32_t)((word >> (8 * i)) & 0xff));
                    }
                }
                c[r * ldc + s * perSample + col] = (int32_t)sum;
            }
        }
    }
}

static ar_direct_fn ar_quads_for(int version) {
    if (version == 0) return ar_gemm_direct_quads_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (version == 3 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) {
        return ar_direct_quads_vnni;
    }
#endif
    return 0;
}

int ar_quads_supported(void) { return ar_quads_for(3) != 0; }

void ar_gemm_direct_quads(
    long m, long samples, long columns, long depth, const int8_t *a, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc) {
    ar_direct_fn fn = ar_quads_for(3);
    (fn ? fn : ar_gemm_direct_quads_portable)(
        m, samples, columns, depth, (const int16_t *)a, planes, sampleWords, offsets, c, ldc);
}

int ar_gemm_direct_quads_version(
    int version, long m, long samples, long columns, long depth, const int8_t *a, const uint32_t *planes,
    long sampleWords, const long *offsets, int32_t *c, long ldc) {
    ar_direct_fn fn = ar_quads_for(version);
    if (!fn) return 0;
    fn(m, samples, columns, depth, (const int16_t *)a, planes, sampleWords, offsets, c, ldc);
    return 1;
}

// A packed B is the same kernel's input: each panel is one "sample" of AR_PANEL columns, and pair row kk sits
// kk * AR_PANEL words into it.
static void ar_gemm_packed(
    ar_direct_fn fn, long m, long n, long depth, const int16_t *a, const int16_t *b, int32_t *c, long ldc) {
    long pairs = depth / 2;
    long *offsets = malloc((size_t)(pairs > 0 ? pairs : 1) * sizeof(long));
    for (long kk = 0; kk < pairs; kk++) offsets[kk] = kk * AR_PANEL;
    fn(m, ar_panels(n), AR_PANEL, depth, a, (const uint32_t *)b, pairs * AR_PANEL, offsets, c, ldc);
    free(offsets);
}

void ar_gemm(long m, long n, long depth, const int16_t *a, const int16_t *b, int32_t *c, long ldc) {
    ar_gemm_packed(ar_direct_best(0), m, n, depth, a, b, c, ldc);
}

int ar_gemm_version(int version, long m, long n, long depth, const int16_t *a, const int16_t *b, int32_t *c, long ldc) {
    ar_direct_fn fn = ar_direct_for(version);
    if (!fn) return 0;
    ar_gemm_packed(fn, m, n, depth, a, b, c, ldc);
    return 1;
}

const char *ar_gemm_isa(void) {
    const char *name;
    ar_direct_best(&name);
    return name;
}

// The requantization loop, written so that compilers vectorize it in 32-bit lanes: (v + 2^(s-1)) >> s is
// (v >> s) + bit s-1 of v, which cannot overflow; a shift of 32 or more leaves 0 (|v| < 2^31 <= 2^(s-1)); a left
// shift saturates by comparing v with the limits shifted right, so v << n is taken only where it fits.
static inline __attribute__((always_inline)) void ar_requantize_body(
    const int32_t *acc, long count, int32_t bias, int32_t scale, int shift, int relu, int bits, int32_t *out) {
    int32_t top = (int32_t)((1L << (bits - 1)) - 1), bottom = -top - 1, low = relu ? 0 : bottom;
    if (shift >= 32) {
        for (long i = 0; i < count; i++) out[i] = 0;
    } else if (shift > 0) {
        for (long i = 0; i < count; i++) {
            int32_t v = (int32_t)((uint32_t)bias + (uint32_t)scale * (uint32_t)acc[i]);
            int32_t y = (v >> shift) + ((v >> (shift - 1)) & 1);
            y = y < low ? low : y;
            out[i] = y > top ? top : y;
        }
    } else {
        int n = -shift;
        int32_t above = top >> n, below = -((-(int64_t)bottom) >> n);
        for (long i = 0; i < count; i++) {
            int32_t v = (int32_t)((uint32_t)bias + (uint32_t)scale * (uint32_t)acc[i]);
            int32_t y = v > above ? top : v < below ? bottom : (int32_t)((uint32_t)v << n);
            out[i] = y < low ? low : y;
        }
    }
}

static void ar_requantize_portable(
    const int32_t *acc, long count, int32_t bias, int32_t scale, int shift, int relu, int bits, int32_t *out) {
    ar_requantize_body(acc, count, bias, scale, shift, relu, bits, out);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"))) static void ar_requantize_avx512(
    const int32_t *acc, long count, int32_t bias, int32_t scale, int shift, int relu, int bits, int32_t *out) {
    ar_requantize_body(acc, count, bias, scale, shift, relu, bits, out);
}

__attribute__((target("avx2"))) static void ar_requantize_avx2(
    const int32_t *acc, long count, int32_t bias, int32_t scale, int shift, int relu, int bits, int32_t *out) {
    ar_requantize_body(acc, count, bias, scale, shift, relu, bits, out);
}
#endif

typedef void (*ar_requantize_fn)(const int32_t *, long, int32_t, int32_t, int, int, int, int32_t *);

static ar_requantize_fn ar_requantize_version(void) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw")) return ar_requantize_avx512;
    if (__builtin_cpu_supports("avx2")) return ar_requantize_avx2;
#endif
    return ar_requantize_portable;
}

#if defined(__x86_64__)
// A right shift (0 < shift < 32), row by row straight into the outputs, 16 codes a step with a masked last one:
// the rows (a direct convolution's output rows) are a few dozen codes long.
__attribute__((target("avx512f,avx512bw"))) static void ar_requantize_rows_avx512(
    const int32_t *acc, long rows, long count, long accStride, int32_t bias, int32_t scale, int shift, int relu,
    int bits, int32_t *out) {
    int32_t top = (int32_t)((1L << (bits - 1)) - 1), low = relu ? 0 : -top - 1;
    __m512i b = _mm512_set1_epi32(bias), k = _mm512_set1_epi32(scale), one = _mm512_set1_epi32(1);
    __m512i hi = _mm512_set1_epi32(top), lo = _mm512_set1_epi32(low);
    __m128i s = _mm_cvtsi32_si128(shift), s1 = _mm_cvtsi32_si128(shift - 1);
    for (long r = 0; r < rows; r++) {
        for (long x = 0; x < count; x += 16) {
            __mmask16 m = count - x >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (count - x)) - 1);
            __m512i v = _mm512_maskz_loadu_epi32(m, acc + r * accStride + x);
            v = _mm512_add_epi32(b, _mm512_mullo_epi32(k, v));
            __m512i y = _mm512_add_epi32(_mm512_sra_epi32(v, s), _mm512_and_si512(_mm512_sra_epi32(v, s1), one));
            y = _mm512_min_epi32(_mm512_max_epi32(y, lo), hi);
            _mm512_mask_storeu_epi32(out + r * count + x, m, y);
        }
    }
}
#endif

void ar_requantize_rows(
    const int32_t *acc, long rows, long count, long accStride, int32_t bias, int32_t scale, int shift, int relu,
    int bits, int32_t *scratch, int32_t *out) {
    if (rows <= 0) return;
#if defined(__x86_64__)
    if (shift > 0 && shift < 32 && __builtin_cpu_supports("avx512bw")) {
        ar_requantize_rows_avx512(acc, rows, count, accStride, bias, scale, shift, relu, bits, out);
        return;
    }
#endif
    ar_requantize_version()(acc, (rows - 1) * accStride + count, bias, scale, shift, relu, bits, scratch);
    for (long r = 0; r < rows; r++) memcpy(out + r * count, scratch + r * accStride, (size_t)count * sizeof(int32_t));
}

void ar_requantize(
    const int32_t *acc, long count, int32_t bias, int32_t scale, int shift, int relu, int bits, int32_t *out) {
    ar_requantize_version()(acc, count, bias, scale, shift, relu, bits, out);
}
