/*
 * mesos_module.h: the module ABI of the isolation suite, for modules written in C or C++.
 *
 * A module library exports one data symbol per module, named after the module
 * (org_apache_mesos_CgroupsCpuIsolator). The symbol is a `struct mm_module_descriptor`. The host
 * reads `magic` first and refuses anything else; it reads a field only when `size` says the module
 * has it, and a table slot only when the table's `size` covers it. Fields and slots only ever grow
 * at the end.
 *
 * Calls return MM_STATUS_OK and write their JSON result (possibly nothing, meaning null) to the
 * output, or return MM_STATUS_ERROR and write a one-line error message. The host copies what is
 * written during the call; the module keeps ownership of all its memory. Requests are JSON bytes,
 * not NUL-terminated. Never let a C++ exception or a longjmp cross a call.
 *
 * The JSON requests and results are described in module-abi's Rust docs (messages module);
 * their field names follow Mesos's protobufs (ContainerID, ContainerConfig, ContainerLaunchInfo,
 * ContainerLimitation, ResourceStatistics, ContainerState, ContainerStatus).
 *
 * This header is checked against the Rust definitions by module-abi's tests (sizes and offsets).
 */
#ifndef MESOS_MODULE_H
#define MESOS_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "MESOSMOD" read as a little-endian 64-bit integer. */
#define MM_MODULE_MAGIC 0x444f4d534f53454dULL
#define MM_ABI_VERSION 1u

#define MM_STATUS_OK 0
#define MM_STATUS_ERROR 1

#define MM_KIND_ISOLATOR "Isolator"
#define MM_KIND_CONTAINERIZER "Containerizer"
#define MM_KIND_ANONYMOUS "Anonymous"
#define MM_KIND_TEST_MODULE "TestModule"

/* Where a call writes its result or error message. */
struct mm_output {
  void *context;
  void (*write)(void *context, const uint8_t *data, size_t len);
};

/* Convenience for module code: write a NUL-terminated string to an output. */
static inline void mm_output_write_str(const struct mm_output *out, const char *text) {
  size_t len = 0;
  if (out == NULL || out->write == NULL || text == NULL) return;
  while (text[len] != '\0') len++;
  out->write(out->context, (const uint8_t *)text, len);
}

/* The shape of every JSON call in a kind table. */
typedef int (*mm_call_fn)(void *instance, const uint8_t *request, size_t request_len,
                          const struct mm_output *output);

struct mm_module_descriptor {
  uint64_t magic;        /* MM_MODULE_MAGIC */
  uint32_t size;         /* sizeof(struct mm_module_descriptor) */
  uint32_t abi_version;  /* MM_ABI_VERSION */
  const char *kind;      /* one of MM_KIND_* */
  const char *built_against; /* the module-abi version, e.g. "0.1.0" */
  const char *author_name;
  const char *author_email;
  const char *description;
  /* Optional (NULL: an exact version match is required). 1 compatible, 0 not, <0 failed. */
  int (*compatible)(const struct mm_output *error);
  /* params: JSON array of {"key": "...", "value": "..."}. Sets *instance on MM_STATUS_OK. */
  int (*create)(const uint8_t *params, size_t params_len, void **instance,
                const struct mm_output *error);
  void (*destroy)(void *instance);
  const void *table;     /* the kind's table, which starts with its size */
};

/*
 * Isolator: every slot is a JSON call.
 *   recover   {"states":[ContainerState],"orphans":[ContainerID]} -> nothing
 *   prepare   {"container_id","container_config"} -> ContainerLaunchInfo or null
 *   isolate   {"container_id","pid"} -> nothing
 *   watch     {"container_id"} -> {"fd": N or null}  (readable when a limit may have been hit;
 *             the module keeps the fd open until the container's cleanup; the host dups it)
 *   limitation {"container_id"} -> ContainerLimitation or null
 *   update    {"container_id","resources","limits"} -> nothing
 *   usage     {"container_id"} -> ResourceStatistics
 *   status    {"container_id"} -> ContainerStatus
 *   cleanup   {"container_id"} -> nothing (unknown containers are not errors)
 *   supports_nesting, supports_standalone: no request -> true or false
 */
struct mm_isolator_table {
  size_t size;
  mm_call_fn recover;
  mm_call_fn prepare;
  mm_call_fn isolate;
  mm_call_fn watch;
  mm_call_fn limitation;
  mm_call_fn update;
  mm_call_fn usage;
  mm_call_fn status;
  mm_call_fn cleanup;
  mm_call_fn supports_nesting;
  mm_call_fn supports_standalone;
};

/*
 * Containerizer: every slot is a JSON call.
 *   recover {"states":[ContainerState]} -> {"orphans":[ContainerID]}
 *   launch  {"container_id","container_config","launch_info","attach_output"} -> {"pid": N}
 *           (the first process, blocked before exec)
 *   exec    {"container_id"} -> nothing
 *   watch   {"container_id"} -> {"fd": N or null} (readable when the first process ended;
 *           the module keeps the fd open until the container's destroy; the host dups it)
 *   wait    {"container_id"} -> {"exit_code"?, "signal"?} or null while running
 *   destroy {"container_id"} -> nothing
 *   status  {"container_id"} -> ContainerStatus
 */
struct mm_containerizer_table {
  size_t size;
  mm_call_fn recover;
  mm_call_fn launch;
  mm_call_fn exec;
  mm_call_fn watch;
  mm_call_fn wait;
  mm_call_fn destroy;
  mm_call_fn status;
};

/* Anonymous: created at start-up, nothing to call. */
struct mm_anonymous_table {
  size_t size;
};

/* TestModule: Mesos's example interface. */
struct mm_test_module_table {
  size_t size;
  int (*foo)(void *instance, int8_t a, int64_t b, int32_t *result, const struct mm_output *error);
  int (*bar)(void *instance, float a, double b, int32_t *result, const struct mm_output *error);
  int (*baz)(void *instance, int32_t a, int32_t b, int32_t *result, const struct mm_output *error);
  mm_call_fn parameters; /* no request -> [{"key","value"}] */
};

#ifdef __cplusplus
}
#endif

#endif /* MESOS_MODULE_H */
