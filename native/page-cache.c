// page-cache.node: drops a file's clean pages from the page cache, which Node cannot ask for.
// The file sink calls it after fsync: archive objects are written once and not read back by
// the agent, so keeping their pages cached only costs (see docs/architecture.md).
// Built by native/build.mjs; Node-API keeps the one binary loadable on every Node >= 18.
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>

// dropCache(fd: number): number -- 0, or the errno of posix_fadvise(POSIX_FADV_DONTNEED).
static napi_value drop_cache(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "dropCache needs a file descriptor");
    return NULL;
  }
  // Returns the error number itself (it does not set errno). Dirty pages are skipped, not
  // written, so this never changes what is durable.
  int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (napi_create_int32(env, rc, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dropCache", NAPI_AUTO_LENGTH, drop_cache, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dropCache", fn) != napi_ok) return NULL;
  return exports;
}
