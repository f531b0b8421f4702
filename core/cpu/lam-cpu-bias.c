/* lam-cpu-bias.c: adding a per-channel bias and its gradient. */
#include "lam-cpu-private.h"

// y (outer, channels, inner) += bias (channels)
void
lam_cpu_bias_add (LamBackend *self, float *restrict y, const float *restrict bias, int outer,
                  int channels, int inner)
{
  if (inner == 1) {
    for (int o = 0; o < outer; o++) {
      float *restrict row = y + (size_t) o * channels;
      for (int ch = 0; ch < channels; ch++)
        row[ch] += bias[ch];
    }
    return;
  }
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++) {
      float *restrict row = y + ((size_t) o * channels + ch) * inner;
      float value = bias[ch];
      for (int i = 0; i < inner; i++)
        row[i] += value;
    }
}

// dbias (channels) += sum over outer and inner of dy (outer, channels, inner)
void
lam_cpu_bias_backward (LamBackend *self, const float *restrict dy, float *restrict dbias, int outer,
                       int channels, int inner)
{
  if (inner == 1) {
    for (int o = 0; o < outer; o++) {
      const float *restrict row = dy + (size_t) o * channels;
      for (int ch = 0; ch < channels; ch++)
        dbias[ch] += row[ch];
    }
    return;
  }
  for (int o = 0; o < outer; o++)
    for (int ch = 0; ch < channels; ch++)
      dbias[ch] += sum_floats (dy + ((size_t) o * channels + ch) * inner, (size_t) inner);
}
