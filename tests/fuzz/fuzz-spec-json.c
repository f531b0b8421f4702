/* A model spec as JSON. What parses is written as JSON and as compact text
 * and both must parse to the same spec. */
#include "fuzz-util.h"

#include "lam-model.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_json ((const char *) data, (gssize) size,
                                                             &error);
  if (spec == NULL) {
    g_assert (error != NULL && error->domain == LAM_MODEL_ERROR);
    return 0;
  }
  g_autofree char *json = lam_model_spec_to_json (spec);
  FUZZ_CHECK (g_utf8_validate (json, -1, NULL), "the JSON written is not UTF-8");
  g_autoptr (LamModelSpec) back = lam_model_spec_from_json (json, -1, &error);
  if (back == NULL)
    g_error ("written JSON does not parse: %s\n%s", error->message, json);
  g_autofree char *again = lam_model_spec_to_json (back);
  FUZZ_CHECK (g_str_equal (json, again), "JSON changed:\n%s\n%s", json, again);
  /* Plans whatever fits, to exercise shape inference. */
  if (spec->has_input) {
    g_autoptr (GError) plan_error = NULL;
    g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &plan_error);
    g_assert (plan != NULL || plan_error != NULL);
  }
  return 0;
}
