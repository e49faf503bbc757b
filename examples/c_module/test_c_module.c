/*
 * test_c_module.c: a TestModule written in C against module-abi/include/mesos_module.h, to show
 * (and test) that the ABI needs no Rust on the module side. It mirrors Mesos's
 * src/examples/example_module_impl.cpp, except that baz always sums and parameters() is always
 * the empty list.
 *
 * Build (from the repository root), as C or as C++:
 *   cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror -I module-abi/include \
 *      -o libtestcmodule.so examples/c_module/test_c_module.c
 *   c++ -x c++ -std=c++20 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
 *      -I module-abi/include -o libtestcmodule.so examples/c_module/test_c_module.c
 *
 * Exports one symbol, org_example_CTestModule (kind TestModule, built against
 * MM_MODULE_ABI_VERSION). Everything else stays hidden.
 */
#include <stdlib.h>
#include <string.h>

#include "mesos_module.h"

/* An instance: nothing to keep, but it is allocated and freed like a real one. */
struct c_test_module {
  int unused;
};

/*
 * The veto: this module runs only where the host knows the TestModule kind. A real module would
 * parse the JSON; the host writes it compactly, so a search for the key is enough here.
 */
static int compatible(const uint8_t *host_info, size_t host_info_len, const struct mm_output *output) {
  static const char key[] = "\"TestModule\":";
  size_t key_len = sizeof key - 1;
  int known = 0;
  for (size_t i = 0; i + key_len <= host_info_len && !known; i++) {
    known = memcmp(host_info + i, key, key_len) == 0;
  }
  mm_output_write_str(output, known ? "true" : "false");
  return MM_STATUS_OK;
}

static int create(const uint8_t *params, size_t params_len, void **instance,
                  const struct mm_output *error) {
  (void)params;
  (void)params_len;
  if (instance == NULL) {
    mm_output_write_str(error, "create() was given no instance slot");
    return MM_STATUS_ERROR;
  }
  struct c_test_module *module = (struct c_test_module *)malloc(sizeof *module);
  if (module == NULL) {
    mm_output_write_str(error, "out of memory");
    return MM_STATUS_ERROR;
  }
  module->unused = 0;
  *instance = module;
  return MM_STATUS_OK;
}

static void destroy(void *instance) { free(instance); }

/* Writes `value` to `result`, or fails when the host gave no result slot. */
static int finish(int32_t value, int32_t *result, const struct mm_output *error) {
  if (result == NULL) {
    mm_output_write_str(error, "no result slot given");
    return MM_STATUS_ERROR;
  }
  *result = value;
  return MM_STATUS_OK;
}

static int foo(void *instance, int8_t a, int64_t b, int32_t *result,
               const struct mm_output *error) {
  (void)instance;
  return finish((int32_t)(a + b), result, error);
}

static int bar(void *instance, float a, double b, int32_t *result,
               const struct mm_output *error) {
  (void)instance;
  return finish((int32_t)(a * b), result, error);
}

static int baz(void *instance, int32_t a, int32_t b, int32_t *result,
               const struct mm_output *error) {
  (void)instance;
  return finish(a + b, result, error);
}

static int parameters(void *instance, const uint8_t *request, size_t request_len,
                      const struct mm_output *output) {
  (void)instance;
  (void)request;
  (void)request_len;
  mm_output_write_str(output, "[]");
  return MM_STATUS_OK;
}

static const struct mm_test_module_table table = {
    .header = MM_TABLE_HEADER(struct mm_test_module_table),
    .foo = foo,
    .bar = bar,
    .baz = baz,
    .parameters = parameters,
};

MM_EXPORT const struct mm_module_descriptor org_example_CTestModule = {
    .magic = MM_MODULE_MAGIC,
    .size = sizeof(struct mm_module_descriptor),
    .abi_version = MM_ABI_VERSION,
    .kind = MM_KIND_TEST_MODULE,
    .built_against = MM_MODULE_ABI_VERSION,
    .author_name = "C Example",
    .author_email = "c-example@example.org",
    .description = "A TestModule written in C.",
    .compatible = compatible,
    .create = create,
    .destroy = destroy,
    .table = &table,
    .required_features = 0,
};
