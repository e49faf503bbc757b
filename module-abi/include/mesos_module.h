/*
 * mesos_module.h: the module ABI of the isolation suite, for modules written in C or C++.
 *
 * A module library exports one data symbol per module, named after the module
 * (org_apache_mesos_CgroupsCpuIsolator), with MM_EXPORT so that it stays visible under
 * -fvisibility=hidden and keeps C linkage in C++. The symbol is a `struct mm_module_descriptor`.
 *
 * VERSIONS
 *   MM_ABI_VERSION is 1, frozen forever: the layout grows only through sizes.
 *   MM_MODULE_ABI_VERSION is module-abi's own semver; put it in `built_against`. Its minor moves
 *   when the surface grows. A module loads when kind minimum <= built_against <= host's version.
 *   compatible() is an optional veto, told about the host (see below).
 *
 * GROWTH RULES (Linux's copy_struct_from_user rule)
 *   The host reads `magic` first and refuses anything else. A shorter descriptor or table (an
 *   older module) is zero-extended: what it lacks reads as absent, and the host refuses it only
 *   when a required field or slot is missing, before create() runs. A longer descriptor (a newer
 *   module) loads only when every byte the host does not know is zero. A size that ends inside a
 *   field or slot is refused. Table slots past the host's table are ignored (calls this host never
 *   makes). `required_features` and a table's `reserved` must be zero for a 1.0 host. Every
 *   pointer (strings, the table, functions) must point into this library's own mapped image.
 *
 * CALLS
 *   Every call returns MM_STATUS_OK and writes its JSON result (possibly nothing, meaning null) to
 *   the output, or returns MM_STATUS_ERROR and writes a one-line error message. The host copies
 *   what is written during the call; the module keeps ownership of all its memory. Requests are
 *   JSON bytes, not NUL-terminated. Never let a C++ exception or a longjmp cross a call. Ignore
 *   JSON fields you do not know; new fields are only ever optional.
 *
 * THREADING
 *   compatible, create and destroy run on one host thread at a time, never concurrently with
 *   another call on the same instance. Calls on one instance for different containers may run
 *   concurrently on any host thread, so an instance must be thread-safe. Calls for the same
 *   container never overlap and come in lifecycle order. Keep no thread-local state between calls.
 *   (agent-harness makes compatible, create and destroy from its main thread, and every other
 *   call from one call thread at a time, a fresh one after a call overran its deadline.)
 *
 * The JSON requests and results are described in module-abi's Rust docs (messages module);
 * their field names follow Mesos's protobufs (ContainerID, ContainerConfig, ContainerLaunchInfo,
 * ContainerLimitation, ResourceStatistics, ContainerState, ContainerStatus). Golden examples of
 * every message are in module-abi/tests/golden/.
 *
 * This header is checked against the Rust definitions by module-abi's tests (sizes, offsets, the
 * constants), compiled as C11 and as C++20.
 */
#ifndef MESOS_MODULE_H
#define MESOS_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MM_EXTERN_C extern "C"
#define MM_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define MM_EXTERN_C
#define MM_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/*
 * Put before each exported descriptor:
 *   MM_EXPORT const struct mm_module_descriptor org_example_MyIsolator = { ... };
 */
#define MM_EXPORT MM_EXTERN_C __attribute__((visibility("default")))

/* "MESOSMOD" read as a little-endian 64-bit integer. */
#define MM_MODULE_MAGIC 0x444f4d534f53454dULL
/* The binary layout version: frozen at 1. */
#define MM_ABI_VERSION 1u
/* module-abi's own version, for `built_against`. */
#define MM_MODULE_ABI_VERSION "1.0.0"
/* required_features bits a 1.0 host understands: none. */
#define MM_KNOWN_FEATURES 0ull

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

/* Every kind table starts with this: its own size, and a reserved word that must be zero. */
struct mm_table_header {
  uint32_t size;
  uint32_t reserved;
};

/* The header of a table of type T: MM_TABLE_HEADER(struct mm_isolator_table). */
#define MM_TABLE_HEADER(T) {(uint32_t)sizeof(T), 0u}

/* The shape of every JSON call in a kind table. */
typedef int (*mm_call_fn)(void *instance, const uint8_t *request, size_t request_len,
                          const struct mm_output *output);

struct mm_module_descriptor {
  uint64_t magic;        /* MM_MODULE_MAGIC */
  uint32_t size;         /* sizeof(struct mm_module_descriptor) */
  uint32_t abi_version;  /* MM_ABI_VERSION */
  const char *kind;      /* one of MM_KIND_* */
  const char *built_against; /* MM_MODULE_ABI_VERSION */
  const char *author_name;
  const char *author_email;
  const char *description;
  /*
   * Optional veto (NULL: the version rule alone decides). The request is the host's JSON
   * {"abi_version":1,"module_abi_version":"1.0.0","kind_versions":{"Isolator":"1.0.0",...},
   *  "harness":"agent-harness","harness_version":"..."}; write `true` or `false` and return
   * MM_STATUS_OK, or return MM_STATUS_ERROR with a message.
   */
  int (*compatible)(const uint8_t *host_info, size_t host_info_len, const struct mm_output *output);
  /* params: JSON array of {"key": "...", "value": "..."}. Sets *instance on MM_STATUS_OK. */
  int (*create)(const uint8_t *params, size_t params_len, void **instance,
                const struct mm_output *error);
  void (*destroy)(void *instance);
  const void *table;     /* the kind's table, which starts with a struct mm_table_header */
  uint64_t required_features; /* 0: no feature beyond 1.0 needed */
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
  struct mm_table_header header;
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
 * Containerizer: every slot is a JSON call; all but status are required.
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
  struct mm_table_header header;
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
  struct mm_table_header header;
};

/* TestModule: Mesos's example interface. */
struct mm_test_module_table {
  struct mm_table_header header;
  int (*foo)(void *instance, int8_t a, int64_t b, int32_t *result, const struct mm_output *error);
  int (*bar)(void *instance, float a, double b, int32_t *result, const struct mm_output *error);
  int (*baz)(void *instance, int32_t a, int32_t b, int32_t *result, const struct mm_output *error);
  mm_call_fn parameters; /* no request -> [{"key","value"}] */
};

/* The layout on the LP64 Linux targets the ABI is for. */
MM_STATIC_ASSERT(sizeof(void *) == 8, "module-abi is defined for LP64 targets");
MM_STATIC_ASSERT(sizeof(struct mm_table_header) == 8, "mm_table_header is 8 bytes");
MM_STATIC_ASSERT(offsetof(struct mm_module_descriptor, kind) == 16, "the descriptor header is 16 bytes");
MM_STATIC_ASSERT(sizeof(struct mm_module_descriptor) == 96, "mm_module_descriptor is 96 bytes");
MM_STATIC_ASSERT(sizeof(struct mm_isolator_table) == 8 + 11 * 8, "mm_isolator_table has 11 slots");
MM_STATIC_ASSERT(sizeof(struct mm_containerizer_table) == 8 + 7 * 8, "mm_containerizer_table has 7 slots");
MM_STATIC_ASSERT(sizeof(struct mm_anonymous_table) == 8, "mm_anonymous_table has no slots");
MM_STATIC_ASSERT(sizeof(struct mm_test_module_table) == 8 + 4 * 8, "mm_test_module_table has 4 slots");

#ifdef __cplusplus
}
#endif

#endif /* MESOS_MODULE_H */
