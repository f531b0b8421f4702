/* lam-image-decoder.h: the dataset readers' image decoder, over gdk-pixbuf
 * (core links no image library; the app registers this one at start-up). */
#pragma once

#include "lam-dataset.h"

G_BEGIN_DECLS

/* A LamImageDecodeFunc: reads a PNG or JPEG (or anything gdk-pixbuf
 * reads), turns it upright by its EXIF orientation, lays transparency onto
 * white, crops the centre to the target's aspect ratio, scales it
 * bilinearly to width × height and converts it to grey (ITU-R BT.601 luma)
 * when channels is 1. Thread-safe; user_data is unused. */
gboolean lam_image_decode (const char *path, int channels, int height, int width, guint8 *pixels,
                           gpointer user_data, GError **error);

/* Makes lam_image_decode the decoder of lam_dataset_load_dir and of image
 * folder imports. */
void lam_image_decoder_register (void);

G_END_DECLS
