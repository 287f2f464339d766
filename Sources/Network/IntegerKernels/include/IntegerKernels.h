// Integer matrix kernels for the golden model: 16-bit codes (8-bit ones on quad planes), 32-bit wrapping
// accumulation.
//
// C[m, n] = sum_k A[m, k] * B[k, n], every product and sum modulo 2^32. The caller uses them where the true
// result fits 32 bits (docs/arithmetic.md section 7: wrapping arithmetic is exact then), so the result does not
// depend on the order of the sum or on which instruction set ran it.
//
// B is packed into panels of AR_PANEL columns; within a panel, row pair kk (rows 2kk and 2kk+1) holds for each
// column j the two codes side by side, so one 32-bit lane holds one column's pair: the layout of x86's
// multiply-add of 16-bit pairs (pmaddwd, vpdpwssd). A is row-major with rows of K rounded up to even, padded
// with zeros.
#ifndef APPROXRTL_INTEGER_KERNELS_H
#define APPROXRTL_INTEGER_KERNELS_H

#include <stdint.h>

#define AR_PANEL 32

#ifdef __cplusplus
extern "C" {
#endif

/// K rounded up to even: the row length of A and the pair rows of a packed B for a dense layer.
long ar_even(long k);

/// The packed depth of a convolution: each (input channel, kernel row) holds its kW taps rounded up to even,
/// the odd one out paired with a zero, so that a pair is two neighbouring taps of one input row. A's columns
/// follow this order: (c, ky, kx) at (c * kernelH + ky) * ar_even(kernelW) + kx.
long ar_conv_depth(long channels, long kernelH, long kernelW);

/// int16 elements of a packed B of `depth` (even) rows and n columns (n rounded up to whole panels).
long ar_packed_size(long depth, long n);

/// Packs a dense layer's B: column n is sample n's inputs, `src + n * sampleStride`, `k` 32-bit codes that fit
/// 16 bits (rows k ... ar_even(k) - 1 read 0); padding columns are zeroed.
void ar_pack_inputs(const int32_t *src, long sampleStride, long k, long n, int16_t *dst);

/// The im2col matrix of `samples` inputs [channels, height, width] (`sampleStride` apart) in the packed layout,
/// rows in `ar_conv_depth` order, columns (sample, oy, ox); taps in the padding read 0.
void ar_im2col_pack(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long kernelH,
    long kernelW, long strideH, long strideW, long padTop, long padLeft, long outH, long outW, int16_t *dst);

/// Direct convolution (stride 1 both ways), without an im2col matrix: `ar_pair_planes` writes each padded input
/// plane as words word(P[y][x], P[y][x + 1]) (paddedW = outW + kernelW - 1, paddedH = outH + kernelH - 1; the
/// last word of a row pairs with 0: only a kernel's padding tap, whose weight is 0, or an ignored column reads it). Pair row (c, ky, p) of B, over the wide columns (oy, x) of one sample, is then the run of
/// words starting at c * paddedH * paddedW + ky * paddedW + 2p: `offsets` lists these starts in ar_conv_depth
/// order. Samples follow one another, `sampleWords` apart, then `slack` zero words (kernelW + AR_PANEL suffice).
void ar_pair_planes(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst);

/// The channel-paired form of `ar_pair_planes` for an even channel count: plane cp holds words
/// word(P_2cp[y][x], P_2cp+1[y][x]), so pair row (cp, ky, kx) of B starts at cp * paddedH * paddedW + ky * paddedW +
/// kx and no tap is padding (A's columns: (c, ky, kx) at ((c / 2 * kernelH + ky) * kernelW + kx) * 2 + c % 2).
void ar_pair_channels(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst);

/// C = A * B for `samples` samples of `columns` wide columns each, B read from pair planes at `offsets`;
/// sample s's columns start at C column s * ar_packed_size(2, columns) / 2 (whole panels), `ldc` apart per row.
/// Columns past the real ones read neighbouring words and are to be ignored.
void ar_gemm_direct(
    long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc);

/// `ar_gemm_direct` on one version, as `ar_gemm_version`.
int ar_gemm_direct_version(
    int version, long m, long samples, long columns, long depth, const int16_t *a, const uint32_t *planes,
    long sampleWords, const long *offsets, int32_t *c, long ldc);

/// The 8-bit form of `ar_pair_channels` for a channel count divisible by 4 and codes 0 ... 255: plane cq holds
/// words of four bytes, P_4cq[y][x] in the low byte up to P_4cq+3[y][x] in the high one, so that quad row
/// (cq, ky, kx) of B starts at cq * paddedH * paddedW + ky * paddedW + kx.
void ar_quad_channels(
    const int32_t *input, long samples, long sampleStride, long channels, long height, long width, long padTop,
    long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst);

/// `ar_pair_channels` (lanes 2) or `ar_quad_channels` (lanes 4) on one version (0 portable, 2 AVX-512BW), for
/// the tests that hold the versions equal; returns 0 without writing when this machine lacks it, else 1.
int ar_channel_planes_version(
    int version, long lanes, const int32_t *input, long samples, long sampleStride, long channels, long height,
    long width, long padTop, long padLeft, long paddedH, long paddedW, long slack, uint32_t *dst);

/// `ar_gemm_direct` over quad planes: B's bytes unsigned, A int8 with rows of `depth` (a multiple of 4) in the
/// order (c, ky, kx) at ((c / 4 * kernelH + ky) * kernelW + kx) * 4 + c % 4, `offsets` one per quad row. Four
/// products per 32-bit word (AVX-512 VNNI's vpdpbusd): half the instructions of the pair form.
void ar_gemm_direct_quads(
    long m, long samples, long columns, long depth, const int8_t *a, const uint32_t *planes, long sampleWords,
    const long *offsets, int32_t *c, long ldc);

/// 1 when `ar_gemm_direct_quads` has a vector version on this machine (AVX-512 VNNI); without one it runs the
/// portable loop, which is slower than the pair form, so callers use quads only when this says 1.
int ar_quads_supported(void);

/// `ar_gemm_direct_quads` on one version (0 portable, 3 AVX-512 VNNI), as `ar_gemm_version`.
int ar_gemm_direct_quads_version(
    int version, long m, long samples, long columns, long depth, const int8_t *a, const uint32_t *planes,
    long sampleWords, const long *offsets, int32_t *c, long ldc);

/// C[m, n] (row-major, `ldc` >= n rounded up to whole panels) = A * B; A [m, depth] row-major, depth even,
/// B packed with the same depth.
void ar_gemm(long m, long n, long depth, const int16_t *a, const int16_t *packedB, int32_t *c, long ldc);

/// out[i] = saturate(relu(round_shift(bias + scale * acc[i], shift))) for `count` accumulators, as
/// docs/arithmetic.md section 3 requantizes: the sum in 32-bit wrapping arithmetic (exact, the accumulator fits
/// 32 bits), then a right shift rounding half up (shift >= 1) or a left shift (-31 <= shift <= 0);
/// 1 <= bits <= 16.
void ar_requantize(
    const int32_t *acc, long count, int32_t bias, int32_t scale, int shift, int relu, int bits, int32_t *out);

/// `ar_requantize` of `rows` runs of `count` accumulators, `accStride` (>= count) apart, into consecutive runs:
/// with AVX-512 and a right shift (1 ... 31) row by row into `out`; otherwise the whole span in one pass into
/// `scratch` ((rows - 1) * accStride + count words), then the runs copied out.
void ar_requantize_rows(
    const int32_t *acc, long rows, long count, long accStride, int32_t bias, int32_t scale, int shift, int relu,
    int bits, int32_t *scratch, int32_t *out);

/// Max pooling of `samples` inputs [channels, height, width] into [channels, outH, outW] (`inStride` and
/// `outStride` apart); every window must hold at least one cell inside the input.
void ar_max_pool(
    const int32_t *input, long samples, long inStride, long channels, long height, long width, long kernelH,
    long kernelW, long strideH, long strideW, long padTop, long padLeft, long outH, long outW, int32_t *out,
    long outStride);

/// The instruction set `ar_gemm` runs on this machine: "avx512-vnni", "avx512bw", "avx2" or "portable".
const char *ar_gemm_isa(void);

/// `ar_gemm` on one version (0 portable, 1 AVX2, 2 AVX-512BW, 3 AVX-512 VNNI), for the tests that hold every
/// version to the portable one; returns 0 without computing when this machine lacks it, else 1.
int ar_gemm_version(
    int version, long m, long n, long depth, const int16_t *a, const int16_t *packedB, int32_t *c, long ldc);

#ifdef __cplusplus
}
#endif

#endif
