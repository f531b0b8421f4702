/* A model spec as compact text ("flatten,linear:256,relu,linear:10").
 * What parses is written as text and must parse to the same spec. */
#include "fuzz-util.h"

#include "lam-model.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_text (text, &error);
  if (spec == NULL) {
    g_assert (error != NULL && error->domain == LAM_MODEL_ERROR);
    return 0;
  }
  g_autofree char *written = lam_model_spec_to_text (spec);
  g_autoptr (LamModelSpec) back = lam_model_spec_from_text (written, &error);
  if (back == NULL)
    g_error ("written text does not parse: %s\n%s", error->message, written);
  g_autofree char *a = lam_model_spec_to_json (spec);
  g_autofree char *b = lam_model_spec_to_json (back);
  FUZZ_CHECK (g_str_equal (a, b), "the spec changed:\n%s\n%s", a, b);
  if (spec->has_input) {
    g_autoptr (GError) plan_error = NULL;
    g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &plan_error);
    g_assert (plan != NULL || plan_error != NULL);
  }
  return 0;
}
