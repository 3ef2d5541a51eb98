// leveldb-mmap.node: makes classic-level's LevelDB read its table files with pread instead of
// mapping them. Mapped tables count in the agent's RSS as far as they were read (compactions,
// batches read back for a sink): up to 60-70 MiB under a backlog, against an 8 MiB block cache
// with pread (see docs/architecture.md). LevelDB takes the limit from a static when its default
// Env is created, and exports only its test helper to set it, so this calls that through dlsym
// in the binary Node already loaded. It must run before the process opens its first database.
// Built by native/build.ts; Node-API keeps the one binary loadable on every Node >= 18.
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <dlfcn.h>
#include <node_api.h>

// leveldb::EnvPosixTestHelper::SetReadOnlyMMapLimit(int), in LevelDB 1.20 as classic-level
// builds it (a static member function: a plain function taking an int).
#define SET_LIMIT "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi"

static napi_value result(napi_env env, const char* why) {
  napi_value s;
  if (napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &s) != napi_ok) return NULL;
  return s;
}

// setTableMmapLimit(binary: string, limit: number): string -- '' once set, else why not. Only
// a binary already loaded is used (RTLD_NOLOAD): this never loads code of its own choosing.
static napi_value set_table_mmap_limit(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  size_t len = 0;
  int32_t limit;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      len == 0 || len >= sizeof path - 1 || napi_get_value_int32(env, argv[1], &limit) != napi_ok || limit < 0) {
    napi_throw_type_error(env, NULL, "setTableMmapLimit needs a binary's path and a limit >= 0");
    return NULL;
  }
  void* lib = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (lib == NULL) return result(env, "that binary is not loaded");
  void (*set)(int) = (void (*)(int))dlsym(lib, SET_LIMIT);
  if (set == NULL) {
    dlclose(lib);
    return result(env, "that binary has no SetReadOnlyMMapLimit");
  }
  set(limit);
  dlclose(lib);
  return result(env, "");
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "setTableMmapLimit", NAPI_AUTO_LENGTH, set_table_mmap_limit, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "setTableMmapLimit", fn) != napi_ok) return NULL;
  return exports;
}
