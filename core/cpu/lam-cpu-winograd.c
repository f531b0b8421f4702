/* lam-cpu-winograd.c: 3×3 convolutions of stride 1 and padding 1 by
 * Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each 2×2 block of output pixels (a tile) comes from the 4×4 patch of
 * input around it. With the patch d and the 3×3 kernel g of one pair of
 * channels, the block is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A: 16 multiplications
 * instead of 36. Summed over the input channels, the 16 products of a tile
 * become 16 matrix products, one per position ξ of the 4×4 transforms:
 * M[ξ] (out_c, tiles) = U[ξ] (out_c, in_c) · V[ξ] (in_c, tiles), so the
 * multiplications go to sgemm at 16/36 of the lowering's count. The
 * transforms only add and halve.
 *
 * The same routine gives a convolution's input gradient: dx is dy
 * convolved with each kernel rotated by 180° and the channels swapped,
 * again 3×3 with padding 1. The weight gradient runs the forward's chain
 * backwards: dy through the output transform's transpose (A dy Aᵀ), its
 * 16 products with the inputs' transforms summed over the tiles into dU
 * (out_c, in_c) per ξ, and dW = Gᵀ dU G.
 *
 * Results differ from the lowering's by rounding (the transforms add
 * inputs before they are multiplied); test-backend holds both to the same
 * double-precision reference.
 */
#include <string.h>

#include "lam-cpu-private.h"

#define XI 16 /* positions of a 4×4 transform */

/* The first layers of image models (1 or 3 input channels) stay on the
 * lowering: their products are too thin for the transforms to pay. Against
 * the lowering, batch 128 on Zen 3 with two threads (forward, weight
 * gradient, input gradient): 32→64 channels on 32×32 gained 1.53×, 1.52×,
 * 1.70×; 128→128 on 16×16 1.74×, 1.73×, 2.01×; 256→256 on 8×8 2.11×,
 * 1.74×, 2.08×; 32→64 on 14×14, whose rows of 7 tiles are mostly single
 * steps, about 1.0×, 1.1×, 1.2×. */
#define WINOGRAD_MIN_CHANNELS 16

/* A chunk's tiles (whole images, so at least one image's): few enough for
 * the chunk's transforms to stay in the core's L2 cache between the
 * transforms and the products. Batch 128 against chunks of 64, 128 and
 * 256 tiles, the layers on 8×8 and 16×16 ran 4-15% faster; 16 were no
 * faster than 32, and the weight gradient's products were slower. */
#define WINOGRAD_CHUNK_TILES 32

/* The 16 planes of a chunk's transforms start a cache line apart modulo
 * 4 KiB: their sizes are powers of two times the channels, and planes a
 * multiple of 4 KiB apart fall into one set of the L1 cache, which the
 * transforms, reading or writing all 16 at once, then thrash. */
#define PLANE_SKEW 16

typedef struct
{
  CpuIsa isa;
  int batch, in_c, out_c, h, w;
  int tiles_h, tiles_w, tiles; /* one image's tile rows, tile columns and tiles */
  const float *x, *weight, *bias;
  gboolean flipped;
  float *y;
  float *u;        /* (XI, out_c, in_c) */
  size_t u_floats; /* u's floats, rounded up to a cache line */
  float *scratch;  /* after u: one slot per group */
  size_t slot;     /* floats of a group's slot */
  size_t v_stride; /* floats from one ξ's V (in_c, tiles) to the next's */
  size_t m_stride; /* and M's (out_c, tiles), or the output gradient's */
  int images_per_chunk;
  int n_groups;
  LamCpuWinogradImageDone image_done;
  const void *image_done_data;
  /* The weight gradient's: dy (batch, out_c, h, w) in, dbias (out_c)
   * summed into unless NULL; each group's slot starts with its own dU (XI,
   * out_c, in_c) and bias sums, which the caller adds up. */
  const float *dy;
  float *dbias;
  size_t sums; /* floats of those, rounded up to a cache line */
  size_t rows_floats; /* a slot's room for the input transform's padded rows */
  /* After those, room for one ξ's V transposed, (tiles, in_c), where the
   * SIMD kernels run: dU[ξ] += dM[ξ] · V[ξ]ᵀ in the dot form of an NT
   * product, reducing each sum across lanes, ran at 44-72 GFLOP/s on one
   * Zen 5 core (256×256×32: 96 µs, 128×128×64: 29 µs); the transpose and
   * the broadcast form of the product, at 183-185 (23 µs, 11 µs), and the
   * sums over a gradient's nonzero entries no longer transpose V for
   * every product themselves. */
  size_t vt_floats;
} WinogradJob;

/* The kernel's transform G g Gᵀ (4×4), g row-major 3×3, rotated by 180°
 * when flipped. */
static void
transform_kernel (const float *g, gboolean flipped, float *restrict u, size_t u_stride)
{
  float k[9];
  for (int i = 0; i < 9; i++)
    k[i] = flipped ? g[8 - i] : g[i];
  float t[4][3];
  for (int j = 0; j < 3; j++) {
    t[0][j] = k[j];
    t[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
    t[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
    t[3][j] = k[6 + j];
  }
  for (int i = 0; i < 4; i++) {
    u[(4 * i + 0) * u_stride] = t[i][0];
    u[(4 * i + 1) * u_stride] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
    u[(4 * i + 2) * u_stride] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
    u[(4 * i + 3) * u_stride] = t[i][2];
  }
}

/* KERNEL_LANES kernels' transforms at once, as transform_kernel computes
 * each: g[t][lane] the kernels' taps (rotated already where flipped), u
 * the first of the 16 planes, u_stride apart, each taking KERNEL_LANES
 * floats in a row. The lanes' loops are what the compiler vectorises: one
 * kernel at a time, the scalar arithmetic and sixteen scattered stores
 * took 2.3% of cifar10-cnn's training (each batch transforms 245,760
 * kernels, forward and rotated). */
#define KERNEL_LANES 16

static void
transform_kernel_lanes (const float g[9][KERNEL_LANES], float *restrict u, size_t u_stride)
{
  float t[4][3][KERNEL_LANES];
  for (int j = 0; j < 3; j++)
    for (int l = 0; l < KERNEL_LANES; l++) {
      t[0][j][l] = g[j][l];
      t[1][j][l] = 0.5f * (g[j][l] + g[3 + j][l] + g[6 + j][l]);
      t[2][j][l] = 0.5f * (g[j][l] - g[3 + j][l] + g[6 + j][l]);
      t[3][j][l] = g[6 + j][l];
    }
  for (int i = 0; i < 4; i++) {
    float *u0 = u + (4 * i + 0) * u_stride, *u1 = u + (4 * i + 1) * u_stride;
    float *u2 = u + (4 * i + 2) * u_stride, *u3 = u + (4 * i + 3) * u_stride;
    for (int l = 0; l < KERNEL_LANES; l++) {
      u0[l] = t[i][0][l];
      u1[l] = 0.5f * (t[i][0][l] + t[i][1][l] + t[i][2][l]);
      u2[l] = 0.5f * (t[i][0][l] - t[i][1][l] + t[i][2][l]);
      u3[l] = t[i][2][l];
    }
  }
}

// U rows [o0, o1) of every ξ
static void
transform_kernels (const WinogradJob *j, int o0, int o1)
{
  size_t u_stride = (size_t) j->out_c * j->in_c;
  /* flipped: this convolution's (o, i) is the layer's kernel (i, o), the
   * layer's out_c being this one's in_c */
  size_t i_step = j->flipped ? (size_t) j->out_c * 9 : 9;
  for (int o = o0; o < o1; o++) {
    const float *first =
      j->flipped ? j->weight + (size_t) o * 9 : j->weight + (size_t) o * j->in_c * 9;
    int i = 0;
    for (; i + KERNEL_LANES <= j->in_c; i += KERNEL_LANES) {
      float g[9][KERNEL_LANES];
      for (int l = 0; l < KERNEL_LANES; l++) {
        const float *kernel = first + (size_t) (i + l) * i_step;
        for (int tap = 0; tap < 9; tap++)
          g[tap][l] = kernel[j->flipped ? 8 - tap : tap];
      }
      transform_kernel_lanes (g, j->u + (size_t) o * j->in_c + i, u_stride);
    }
    for (; i < j->in_c; i++)
      transform_kernel (first + (size_t) i * i_step, j->flipped, j->u + (size_t) o * j->in_c + i,
                        u_stride);
  }
}

static void
kernels_task (int task, void *data)
{
  const WinogradJob *j = data;
  transform_kernels (j, (int) ((gint64) j->out_c * task / j->n_groups),
                     (int) ((gint64) j->out_c * (task + 1) / j->n_groups));
}

/* One image's input transform Bᵀ d B of every tile and channel, x (c, h,
 * w) -> v[ξ * xi_stride + ci * ldv + tile]. The rows of Bᵀ d first, along
 * whole padded rows (rows holds at least 4 of w + 2 floats), then the columns. */
static void
transform_input_plain (const float *restrict x, int c, int h, int w, float *restrict v, size_t ldv,
                       size_t xi_stride, float *restrict rows)
{
  int th = h / 2, tw = w / 2;
  size_t padded = (size_t) w + 2;
  for (int ci = 0; ci < c; ci++) {
    const float *plane = x + (size_t) ci * h * w;
    for (int ty = 0; ty < th; ty++) {
      const float *r0 = ty > 0 ? plane + (size_t) (2 * ty - 1) * w : NULL;
      const float *r1 = plane + (size_t) (2 * ty) * w, *r2 = r1 + w;
      const float *r3 = ty + 1 < th ? r2 + w : NULL;
      float *t0 = rows, *t1 = rows + padded, *t2 = rows + 2 * padded, *t3 = rows + 3 * padded;
      for (int px = 0; px < w; px++) {
        float d0 = r0 ? r0[px] : 0.0f, d1 = r1[px], d2 = r2[px], d3 = r3 ? r3[px] : 0.0f;
        t0[px + 1] = d0 - d2;
        t1[px + 1] = d1 + d2;
        t2[px + 1] = d2 - d1;
        t3[px + 1] = d1 - d3;
      }
      for (int i = 0; i < 4; i++) {
        float *t = rows + i * padded;
        t[0] = t[w + 1] = 0.0f;
        float *dst = v + (size_t) 4 * i * xi_stride + (size_t) ci * ldv + (size_t) ty * tw;
        for (int tx = 0; tx < tw; tx++) {
          const float *d = t + 2 * tx;
          dst[tx] = d[0] - d[2];
          dst[xi_stride + tx] = d[1] + d[2];
          dst[2 * xi_stride + tx] = d[2] - d[1];
          dst[3 * xi_stride + tx] = d[1] - d[3];
        }
      }
    }
  }
}

/* One image's output transform Aᵀ m A (+ bias) of every tile and output
 * channel, m[ξ * xi_stride + o * ldm + tile] -> y (out_c, h, w). */
static void
transform_output_plain (const float *restrict m, size_t ldm, size_t xi_stride, int out_c, int h,
                        int w, const float *restrict bias, float *restrict y)
{
  int th = h / 2, tw = w / 2;
  for (int o = 0; o < out_c; o++) {
    float b = bias != NULL ? bias[o] : 0.0f;
    for (int ty = 0; ty < th; ty++) {
      const float *src = m + (size_t) o * ldm + (size_t) ty * tw;
      float *y0 = y + ((size_t) o * h + 2 * ty) * w, *y1 = y0 + w;
      for (int tx = 0; tx < tw; tx++) {
        float s0[4], s1[4];
        for (int col = 0; col < 4; col++) {
          float m0 = src[col * xi_stride + tx], m1 = src[(4 + col) * xi_stride + tx];
          float m2 = src[(8 + col) * xi_stride + tx], m3 = src[(12 + col) * xi_stride + tx];
          s0[col] = m0 + m1 + m2;
          s1[col] = m1 - m2 - m3;
        }
        y0[2 * tx] = s0[0] + s0[1] + s0[2] + b;
        y0[2 * tx + 1] = s0[1] - s0[2] - s0[3] + b;
        y1[2 * tx] = s1[0] + s1[1] + s1[2] + b;
        y1[2 * tx + 1] = s1[1] - s1[2] - s1[3] + b;
      }
    }
  }
}

static void
transform_input (const WinogradJob *j, const float *x, float *v, size_t ldv, float *rows)
{
  size_t xi_stride = j->v_stride;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->isa == CPU_ISA_AVX512 &&
      lam_cpu_avx512_winograd_input (x, j->in_c, j->h, j->w, v, ldv, xi_stride))
    return;
#endif
#ifdef LAM_CPU_HAVE_AVX2
  if (j->isa != CPU_ISA_GENERIC) {
    lam_cpu_avx2_winograd_input (x, j->in_c, j->h, j->w, v, ldv, xi_stride, rows);
    return;
  }
#endif
  transform_input_plain (x, j->in_c, j->h, j->w, v, ldv, xi_stride, rows);
}

static void
transform_output (const WinogradJob *j, const float *m, size_t ldm, float *y)
{
  size_t xi_stride = j->m_stride;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->isa == CPU_ISA_AVX512 &&
      lam_cpu_avx512_winograd_output (m, ldm, xi_stride, j->out_c, j->h, j->w, j->bias, y))
    return;
#endif
#ifdef LAM_CPU_HAVE_AVX2
  if (j->isa != CPU_ISA_GENERIC) {
    lam_cpu_avx2_winograd_output (m, ldm, xi_stride, j->out_c, j->h, j->w, j->bias, y);
    return;
  }
#endif
  transform_output_plain (m, ldm, xi_stride, j->out_c, j->h, j->w, j->bias, y);
}

static void
chunk_task (int group, void *data)
{
  const WinogradJob *j = data;
  int b0 = (int) ((gint64) j->batch * group / j->n_groups);
  int b1 = (int) ((gint64) j->batch * (group + 1) / j->n_groups);
  float *v = j->scratch + j->slot * group;
  float *m = v + XI * j->v_stride;
  float *rows = m + XI * j->m_stride;
  size_t in_image = (size_t) j->in_c * j->h * j->w, out_image = (size_t) j->out_c * j->h * j->w;

  for (int first = b0; first < b1; first += j->images_per_chunk) {
    int n_images = MIN (j->images_per_chunk, b1 - first);
    size_t ld = (size_t) n_images * j->tiles;
    for (int k = 0; k < n_images; k++)
      transform_input (j, j->x + (first + k) * in_image, v + (size_t) k * j->tiles, ld, rows);
    for (int xi = 0; xi < XI; xi++)
      // U[ξ] (out_c, in_c) · V[ξ] (in_c, tiles) -> M[ξ] (out_c, tiles)
      lam_cpu_sgemm (j->isa, 0, 0, j->out_c, (int) ld, j->in_c, 1.0f,
                     j->u + (size_t) xi * j->out_c * j->in_c, j->in_c, v + xi * j->v_stride,
                     (int) ld, 0.0f, m + xi * j->m_stride, (int) ld);
    for (int k = 0; k < n_images; k++) {
      transform_output (j, m + (size_t) k * j->tiles, ld, j->y + (first + k) * out_image);
      if (j->image_done != NULL)
        j->image_done (first + k, j->image_done_data);
    }
  }
}

/* One image's output gradient taken back through the output transform,
 * A dy Aᵀ of every 2×2 block, dy (out_c, h, w) -> d[ξ * xi_stride + o *
 * ldd + tile]: the gradient of the 16 products M of the forward. */
static void
transform_output_gradient_plain (const float *restrict dy, int out_c, int h, int w,
                                 float *restrict d, size_t ldd, size_t xi_stride)
{
  int th = h / 2, tw = w / 2;
  for (int o = 0; o < out_c; o++)
    for (int ty = 0; ty < th; ty++) {
      const float *row0 = dy + ((size_t) o * h + 2 * ty) * w, *row1 = row0 + w;
      float *dst = d + (size_t) o * ldd + (size_t) ty * tw;
      for (int tx = 0; tx < tw; tx++) {
        float a = row0[2 * tx], b = row0[2 * tx + 1], c = row1[2 * tx], e = row1[2 * tx + 1];
        // A (4×2) · block: rows (p, q) = (a, b), (a + c, b + e), (a - c, b - e), (-c, -e)
        float p[4] = { a, a + c, a - c, -c }, q[4] = { b, b + e, b - e, -e };
        for (int i = 0; i < 4; i++) {
          // row · Aᵀ: (p, p + q, p - q, -q)
          dst[(4 * i + 0) * xi_stride + tx] = p[i];
          dst[(4 * i + 1) * xi_stride + tx] = p[i] + q[i];
          dst[(4 * i + 2) * xi_stride + tx] = p[i] - q[i];
          dst[(4 * i + 3) * xi_stride + tx] = -q[i];
        }
      }
    }
}

static void
transform_output_gradient (const WinogradJob *j, const float *dy, float *d, size_t ldd)
{
  size_t xi_stride = j->m_stride;
#ifdef LAM_CPU_HAVE_AVX512
  if (j->isa == CPU_ISA_AVX512 &&
      lam_cpu_avx512_winograd_output_gradient (dy, j->out_c, j->h, j->w, d, ldd, xi_stride))
    return;
#endif
#ifdef LAM_CPU_HAVE_AVX2
  if (j->isa != CPU_ISA_GENERIC) {
    lam_cpu_avx2_winograd_output_gradient (dy, j->out_c, j->h, j->w, d, ldd, xi_stride);
    return;
  }
#endif
  transform_output_gradient_plain (dy, j->out_c, j->h, j->w, d, ldd, xi_stride);
}

/* The kernels' gradient from the products': dg (3×3) += Gᵀ dU G, dU 4×4
 * read u_stride apart. */
static void
transform_kernel_gradient (const float *du, size_t u_stride, float *restrict dg)
{
  float t[3][4];
  for (int col = 0; col < 4; col++) {
    float u0 = du[col * u_stride], u1 = du[(4 + col) * u_stride];
    float u2 = du[(8 + col) * u_stride], u3 = du[(12 + col) * u_stride];
    t[0][col] = u0 + 0.5f * (u1 + u2);
    t[1][col] = 0.5f * (u1 - u2);
    t[2][col] = 0.5f * (u1 + u2) + u3;
  }
  for (int i = 0; i < 3; i++) {
    dg[3 * i + 0] += t[i][0] + 0.5f * (t[i][1] + t[i][2]);
    dg[3 * i + 1] += 0.5f * (t[i][1] - t[i][2]);
    dg[3 * i + 2] += 0.5f * (t[i][1] + t[i][2]) + t[i][3];
  }
}

/* A group's images, chunk by chunk: dU[ξ] (out_c, in_c) += dM[ξ] (out_c,
 * tiles) · V[ξ] (in_c, tiles)ᵀ, and the bias sums. */
static void
weight_gradient_task (int group, void *data)
{
  const WinogradJob *j = data;
  int b0 = (int) ((gint64) j->batch * group / j->n_groups);
  int b1 = (int) ((gint64) j->batch * (group + 1) / j->n_groups);
  size_t du_floats = (size_t) XI * j->out_c * j->in_c;
  float *du = j->scratch + j->slot * group, *dbias = du + du_floats;
  float *v = du + j->sums;
  float *d = v + XI * j->v_stride;
  float *rows = d + XI * j->m_stride;
  float *vt = j->vt_floats > 0 ? rows + j->rows_floats : NULL;
  size_t in_image = (size_t) j->in_c * j->h * j->w, out_image = (size_t) j->out_c * j->h * j->w;
  size_t plane = (size_t) j->h * j->w;

  memset (du, 0, sizeof (float) * j->sums);
  for (int first = b0; first < b1; first += j->images_per_chunk) {
    int n_images = MIN (j->images_per_chunk, b1 - first);
    size_t ld = (size_t) n_images * j->tiles;
    for (int k = 0; k < n_images; k++) {
      const float *dyb = j->dy + (first + k) * out_image;
      if (j->image_done != NULL)
        j->image_done (first + k, j->image_done_data);
      transform_input (j, j->x + (first + k) * in_image, v + (size_t) k * j->tiles, ld, rows);
      transform_output_gradient (j, dyb, d + (size_t) k * j->tiles, ld);
      if (j->dbias != NULL)
        for (int o = 0; o < j->out_c; o++)
          dbias[o] += sum_floats (dyb + (size_t) o * plane, plane);
    }
    for (int xi = 0; xi < XI; xi++) {
      const float *dm = d + xi * j->m_stride, *vx = v + xi * j->v_stride;
      float *dux = du + (size_t) xi * j->out_c * j->in_c;
      if (vt != NULL) {
        // vt (tiles, in_c) = V[ξ]ᵀ, then dU[ξ] += dM[ξ] · vt
        lam_cpu_transpose (j->isa, vx, ld, vt, j->in_c, j->in_c, (int) ld);
        lam_cpu_sgemm (j->isa, 0, 0, j->out_c, j->in_c, (int) ld, 1.0f, dm, (int) ld, vt, j->in_c,
                       1.0f, dux, j->in_c);
      } else {
        lam_cpu_sgemm (j->isa, 0, 1, j->out_c, j->in_c, (int) ld, 1.0f, dm, (int) ld, vx, (int) ld,
                       1.0f, dux, j->in_c);
      }
    }
  }
}

/* Sets j's chunking for the scratch at hand: as many groups as threads
 * (at most one per image), each chunk near WINOGRAD_CHUNK_TILES tiles;
 * FALSE when the shape is not for this routine or one image of one group
 * does not fit. The forward's scratch starts with the kernels' transforms
 * U; the weight gradient's groups each start with their own sums. */
static gboolean
winograd_plan (WinogradJob *j, LamBackend *self, gboolean weight_gradient, int batch, int in_c,
               int out_c, int h, int w, size_t scratch_floats)
{
  if (in_c < WINOGRAD_MIN_CHANNELS || out_c < WINOGRAD_MIN_CHANNELS || h < 2 || w < 2 ||
      h % 2 != 0 || w % 2 != 0 || batch < 1)
    return FALSE;
  memset (j, 0, sizeof *j);
  j->isa = cpu_context (self)->isa;
  j->batch = batch;
  j->in_c = in_c;
  j->out_c = out_c;
  j->h = h;
  j->w = w;
  j->tiles_h = h / 2;
  j->tiles_w = w / 2;
  j->tiles = j->tiles_h * j->tiles_w;
  size_t u_floats = ((size_t) XI * out_c * in_c + 15) & ~(size_t) 15;
  if (weight_gradient) {
    j->sums = ((size_t) XI * out_c * in_c + out_c + 15) & ~(size_t) 15;
    j->u_floats = 0;
  } else {
    j->u_floats = u_floats;
  }
  if (j->u_floats >= scratch_floats)
    return FALSE;
  size_t left = scratch_floats - j->u_floats;
  j->rows_floats =
    ((size_t) 2 * h * (w + 2) + 15) & ~(size_t) 15; /* each tile row's 4 padded rows */

  j->n_groups = MIN (cpu_context (self)->n_threads, batch);
  j->images_per_chunk = MAX (1, MIN ((WINOGRAD_CHUNK_TILES + j->tiles / 2) / j->tiles,
                                     (batch + j->n_groups - 1) / j->n_groups));
  for (;;) {
    size_t capacity = (size_t) j->images_per_chunk * j->tiles;
    j->v_stride = (size_t) in_c * capacity + PLANE_SKEW;
    j->m_stride = (size_t) out_c * capacity + PLANE_SKEW;
    j->vt_floats = weight_gradient && j->isa != CPU_ISA_GENERIC ? (size_t) in_c * capacity : 0;
    j->slot = (j->sums + XI * (j->v_stride + j->m_stride) + j->rows_floats + j->vt_floats + 15) &
              ~(size_t) 15;
    if (j->slot * j->n_groups <= left)
      break;
    if (j->images_per_chunk > 1)
      j->images_per_chunk--;
    else if (j->n_groups > 1)
      j->n_groups--;
    else
      return FALSE;
  }
  return TRUE;
}

gboolean
lam_cpu_winograd_fits (LamBackend *self, int batch, int in_c, int out_c, int h, int w, int kh,
                       int kw, int stride, int pad, size_t scratch_floats)
{
  WinogradJob j;
  return kh == 3 && kw == 3 && stride == 1 && pad == 1 &&
         winograd_plan (&j, self, FALSE, batch, in_c, out_c, h, w, scratch_floats);
}

gboolean
lam_cpu_winograd_conv (LamBackend *self, const float *x, const float *weight, gboolean flipped,
                       const float *bias, float *y, int batch, int in_c, int out_c, int h, int w,
                       LamCpuWinogradImageDone image_done, const void *image_done_data,
                       float *scratch, size_t scratch_floats)
{
  WinogradJob j;
  if (!winograd_plan (&j, self, FALSE, batch, in_c, out_c, h, w, scratch_floats))
    return FALSE;
  j.x = x;
  j.weight = weight;
  j.flipped = flipped;
  j.bias = bias;
  j.y = y;
  j.image_done = image_done;
  j.image_done_data = image_done_data;
  j.u = scratch;
  j.scratch = scratch + j.u_floats;

  ThreadPool *pool = cpu_context (self)->pool;
  lam_cpu_threads_run (pool, j.n_groups, kernels_task, &j);
  lam_cpu_threads_run (pool, j.n_groups, chunk_task, &j);
  return TRUE;
}

gboolean
lam_cpu_winograd_weight_gradient_fits (LamBackend *self, int batch, int c, int out_c, int h, int w,
                                       int kh, int kw, int stride, int pad, size_t scratch_floats)
{
  WinogradJob j;
  return kh == 3 && kw == 3 && stride == 1 && pad == 1 &&
         winograd_plan (&j, self, TRUE, batch, c, out_c, h, w, scratch_floats);
}

gboolean
lam_cpu_winograd_weight_gradient (LamBackend *self, const float *x, const float *dy, float *dweight,
                                  float *dbias, int batch, int c, int out_c, int h, int w,
                                  LamCpuWinogradImageDone dy_ready, const void *dy_ready_data,
                                  float *scratch, size_t scratch_floats)
{
  WinogradJob j;
  if (!winograd_plan (&j, self, TRUE, batch, c, out_c, h, w, scratch_floats))
    return FALSE;
  j.x = x;
  j.dy = dy;
  j.dbias = dbias;
  j.image_done = dy_ready;
  j.image_done_data = dy_ready_data;
  j.scratch = scratch;
  lam_cpu_threads_run (cpu_context (self)->pool, j.n_groups, weight_gradient_task, &j);

  // the groups' sums, in group order so that results do not depend on timing
  float *du = scratch, *sum_bias = du + (size_t) XI * out_c * c;
  for (int g = 1; g < j.n_groups; g++) {
    const float *other = scratch + j.slot * g;
    for (size_t i = 0; i < j.sums; i++)
      du[i] += other[i];
  }
  size_t u_stride = (size_t) out_c * c;
  for (int o = 0; o < out_c; o++)
    for (int i = 0; i < c; i++)
      transform_kernel_gradient (du + (size_t) o * c + i, u_stride,
                                 dweight + ((size_t) o * c + i) * 9);
  if (dbias != NULL)
    for (int o = 0; o < out_c; o++)
      dbias[o] += sum_bias[o];
  return TRUE;
}
