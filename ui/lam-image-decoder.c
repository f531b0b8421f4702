#include "lam-image-decoder.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A 100-megapixel image takes 400 MB decoded; anything bigger in a folder
 * of training images is a mistake, not a sample. */
#define MAX_SOURCE_PIXELS (100 * 1000 * 1000)
/* Photos far larger than the target are loaded at about this multiple of
 * its size, which lets the JPEG loader decode at 1/2, 1/4 or 1/8 scale;
 * the final bilinear reduction then still averages several pixels into
 * each one. */
#define PRESCALE 4

/* gdk-pixbuf's messages name the file, which the caller's "path: reason"
 * already does; these say what is wrong in a few words. */
static void
set_reason (GError **error, const GError *cause)
{
  const char *reason = NULL;
  if (cause->domain == GDK_PIXBUF_ERROR) {
    switch (cause->code) {
    case GDK_PIXBUF_ERROR_UNKNOWN_TYPE:
    case GDK_PIXBUF_ERROR_UNSUPPORTED_OPERATION:
      reason = "not an image format this program reads (expected PNG or JPEG)";
      break;
    case GDK_PIXBUF_ERROR_CORRUPT_IMAGE:
      reason = "corrupt or truncated image data";
      break;
    case GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY:
      reason = "too large to decode";
      break;
    default:
      break;
    }
  } else if (cause->domain == G_FILE_ERROR) {
    reason = "cannot open the file";
  }
  if (reason != NULL)
    g_set_error (error, cause->domain, cause->code, "%s", reason);
  else
    g_set_error (error, cause->domain, cause->code, "cannot decode (%s)", cause->message);
}

/* A copy without alpha, transparent parts laid onto white: a transparent
 * background is what image viewers and browsers show as white, and most
 * transparent images (drawings, icons, cut-outs) have dark content meant
 * to stand on it — on black, a black stroke would vanish. */
static GdkPixbuf *
flatten_onto_white (GdkPixbuf *pixbuf)
{
  int width = gdk_pixbuf_get_width (pixbuf), height = gdk_pixbuf_get_height (pixbuf);
  GdkPixbuf *flat = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (flat == NULL)
    return NULL;
  int in_stride = gdk_pixbuf_get_rowstride (pixbuf);
  int out_stride = gdk_pixbuf_get_rowstride (flat);
  const guint8 *in = gdk_pixbuf_read_pixels (pixbuf);
  guint8 *out = gdk_pixbuf_get_pixels (flat);
  for (int y = 0; y < height; y++) {
    const guint8 *src = in + (gsize) y * in_stride;
    guint8 *dst = out + (gsize) y * out_stride;
    for (int x = 0; x < width; x++, src += 4, dst += 3) {
      guint a = src[3];
      for (int c = 0; c < 3; c++)
        dst[c] = (guint8) ((src[c] * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return flat;
}

/* libpng allocates what a chunk's header claims before reading it: a small
 * PNG whose text chunk claims 1.8 GB costs 1.8 GB. Walks the chunks' headers
 * (not their data) and refuses a claim beyond the end of the file. TRUE for
 * files that are not PNG. */
static gboolean
check_png_chunks (const char *path, GError **error)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  FILE *file = fopen (path, "rb");
  if (file == NULL)
    return TRUE; /* the loader says why */
  guint8 head[8];
  gboolean ok = TRUE;
  if (fread (head, 1, 8, file) == 8 && memcmp (head, signature, 8) == 0 &&
      fseeko (file, 0, SEEK_END) == 0) {
    off_t size = ftello (file);
    off_t at = 8;
    while (ok && at + 12 <= size) {
      guint8 chunk[8];
      if (fseeko (file, at, SEEK_SET) != 0 || fread (chunk, 1, 8, file) != 8)
        break;
      guint32 length = (guint32) chunk[0] << 24 | (guint32) chunk[1] << 16 |
                       (guint32) chunk[2] << 8 | chunk[3];
      off_t left = size - at - 12; /* after the length, type and CRC */
      if ((off_t) length > left) {
        char type[5] = { 0 };
        for (int i = 0; i < 4; i++)
          type[i] = g_ascii_isalpha (chunk[4 + i]) ? (char) chunk[4 + i] : '?';
        g_autofree char *claim = g_format_size (length);
        g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                     "corrupt PNG: its %s chunk claims %s but only %" G_GINT64_FORMAT
                     " bytes follow",
                     type, claim, (gint64) MAX (left, 0));
        ok = FALSE;
      } else if (memcmp (chunk + 4, "IEND", 4) == 0) {
        break;
      }
      at += 12 + (off_t) length;
    }
  }
  fclose (file);
  return ok;
}

/* Skips GIF data sub-blocks (a length byte, then that many bytes, until a
 * length of 0); FALSE at the end of the data. */
static gboolean
skip_gif_sub_blocks (const guint8 *data, gsize size, gsize *at)
{
  while (*at < size) {
    guint8 n = data[(*at)++];
    if (n == 0)
      return TRUE;
    *at += n;
  }
  return FALSE;
}

/* gdk-pixbuf's GIF loader fails with a critical and "out of memory" on a
 * screen or frame 0 pixels wide or high: find those first and say so. */
static gboolean
check_gif_frames (const char *path, GError **error)
{
  g_autofree guint8 *data = NULL;
  gsize size = 0;
  if (!g_file_get_contents (path, (char **) &data, &size, NULL) || size < 13 ||
      memcmp (data, "GIF8", 4) != 0)
    return TRUE;
  int width = data[6] | data[7] << 8, height = data[8] | data[9] << 8;
  gsize at = 13 + ((data[10] & 0x80) ? (gsize) 3 << ((data[10] & 7) + 1) : 0);
  while (width > 0 && height > 0 && at < size && data[at] != ';') {
    if (data[at] == '!' && at + 2 <= size) {
      at += 2;
      if (!skip_gif_sub_blocks (data, size, &at))
        break;
    } else if (data[at] == ',' && at + 10 <= size) {
      width = data[at + 5] | data[at + 6] << 8;
      height = data[at + 7] | data[at + 8] << 8;
      guint8 flags = data[at + 9];
      at += 10 + ((flags & 0x80) ? (gsize) 3 << ((flags & 7) + 1) : 0) + 1;
      if (!skip_gif_sub_blocks (data, size, &at))
        break;
    } else {
      break;
    }
  }
  if (width <= 0 || height <= 0) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                 "GIF image of %d×%d pixels: it has no pixels to read", width, height);
    return FALSE;
  }
  return TRUE;
}

gboolean
lam_image_decode (const char *path, int channels, int height, int width, guint8 *pixels,
                  gpointer user_data, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (channels == 1 || channels == 3, FALSE);
  g_return_val_if_fail (height > 0 && width > 0, FALSE);
  g_return_val_if_fail (pixels != NULL, FALSE);

  if (!check_png_chunks (path, error) || !check_gif_frames (path, error))
    return FALSE;
  int source_width = 0, source_height = 0;
  if (gdk_pixbuf_get_file_info (path, &source_width, &source_height) == NULL) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE,
                 "not an image this program reads (expected PNG or JPEG)");
    return FALSE;
  }
  if (source_width <= 0 || source_height <= 0) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                 "image of %d×%d pixels: it has no pixels to read", source_width,
                 source_height);
    return FALSE;
  }
  if (source_width > 0 && source_height > 0 &&
      (gint64) source_width * source_height > MAX_SOURCE_PIXELS) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                 "image of %d×%d pixels, expected at most %d megapixels", source_width,
                 source_height, MAX_SOURCE_PIXELS / 1000000);
    return FALSE;
  }

  g_autoptr (GError) local = NULL;
  g_autoptr (GdkPixbuf) loaded = NULL;
  int target = MAX (width, height);
  int short_side = MIN (source_width, source_height);
  if (short_side > 2 * PRESCALE * target) {
    double scale = (double) (PRESCALE * target) / short_side;
    loaded = gdk_pixbuf_new_from_file_at_scale (path, MAX (1, (int) ceil (source_width * scale)),
                                                MAX (1, (int) ceil (source_height * scale)), TRUE,
                                                &local);
  } else {
    loaded = gdk_pixbuf_new_from_file (path, &local);
  }
  if (loaded == NULL) {
    set_reason (error, local);
    return FALSE;
  }
  if (gdk_pixbuf_get_bits_per_sample (loaded) != 8 ||
      gdk_pixbuf_get_colorspace (loaded) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_n_channels (loaded) != (gdk_pixbuf_get_has_alpha (loaded) ? 4 : 3)) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE,
                 "unusual pixel layout (%d bits, %d channels)",
                 gdk_pixbuf_get_bits_per_sample (loaded), gdk_pixbuf_get_n_channels (loaded));
    return FALSE;
  }

  /* Cameras store photos sideways and say so in EXIF; the person sorting
   * them into folders saw them upright. */
  g_autoptr (GdkPixbuf) upright = gdk_pixbuf_apply_embedded_orientation (loaded);
  g_autoptr (GdkPixbuf) flat =
    gdk_pixbuf_get_has_alpha (upright) ? flatten_onto_white (upright) : g_object_ref (upright);
  if (flat == NULL) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                 "too large to decode");
    return FALSE;
  }

  /* The centre, cropped to the target's aspect ratio, rather than the whole
   * image letterboxed: the subject stays as large as it can be, and there
   * are no bars whose size would tell the network an image's original
   * shape (which can go with its class) instead of what it shows. This is
   * torchvision's Resize + CenterCrop. */
  int w = gdk_pixbuf_get_width (flat), h = gdk_pixbuf_get_height (flat);
  int crop_w = w, crop_h = h;
  if ((gint64) w * height > (gint64) h * width)
    crop_w = MAX (1, (int) llround ((double) h * width / height));
  else
    crop_h = MAX (1, (int) llround ((double) w * height / width));
  g_autoptr (GdkPixbuf) crop =
    gdk_pixbuf_new_subpixbuf (flat, (w - crop_w) / 2, (h - crop_h) / 2, crop_w, crop_h);
  g_autoptr (GdkPixbuf) scaled =
    crop_w == width && crop_h == height
      ? g_object_ref (crop)
      : gdk_pixbuf_scale_simple (crop, width, height, GDK_INTERP_BILINEAR);
  if (scaled == NULL) {
    g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                 "too large to decode");
    return FALSE;
  }

  int stride = gdk_pixbuf_get_rowstride (scaled);
  int step = gdk_pixbuf_get_n_channels (scaled);
  const guint8 *data = gdk_pixbuf_read_pixels (scaled);
  gsize plane = (gsize) width * height;
  for (int y = 0; y < height; y++) {
    const guint8 *row = data + (gsize) y * stride;
    for (int x = 0; x < width; x++) {
      const guint8 *p = row + (gsize) x * step;
      gsize at = (gsize) y * width + x;
      if (channels == 1) {
        /* ITU-R BT.601 luma, as PIL's convert("L") and MNIST-style greys;
         * the weights sum to 1000, so a grey pixel keeps its exact value. */
        pixels[at] = (guint8) ((299u * p[0] + 587u * p[1] + 114u * p[2] + 500) / 1000);
      } else {
        pixels[at] = p[0];
        pixels[plane + at] = p[1];
        pixels[2 * plane + at] = p[2];
      }
    }
  }
  return TRUE;
}

void
lam_image_decoder_register (void)
{
  lam_dataset_set_image_decoder (lam_image_decode, NULL);
}
