// leveldb-crc32c.node: gives classic-level's LevelDB the CPU's CRC32C instruction. LevelDB
// checksums every log record and table block with crc32c::Extend; classic-level's prebuilt
// binary has only the portable, table-driven version (9 % of the agent's CPU samples under
// load, see docs/architecture.md). That binary calls Extend through its PLT, so a definition
// of the same symbol already in the process's global scope wins: the agent loads this helper
// with RTLD_GLOBAL before classic-level's binary (agent/buffer/leveldb-crc32c.ts). The
// checksum is the same function, CRC-32C (Castagnoli) in LevelDB's convention, so databases
// stay byte for byte what LevelDB writes; a CPU without SSE 4.2 gets a table-driven version.
// Built by native/build.ts; Node-API keeps the one binary loadable on every Node >= 18.
#define NAPI_VERSION 8
#include <nmmintrin.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>

static int hardware; // the CPU has SSE 4.2; set once at load, before any call
static uint32_t table[256];
static uint64_t calls; // Extend calls, to tell that LevelDB binds to this one

__attribute__((constructor)) static void init(void) {
  __builtin_cpu_init();
  hardware = __builtin_cpu_supports("sse4.2");
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    table[i] = c;
  }
}

__attribute__((target("sse4.2"))) static uint32_t crc_hardware(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t l = crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    memcpy(&word, p, 8); // unaligned load; x86 is little-endian, as CRC32 reads it
    l = _mm_crc32_u64(l, word);
  }
  uint32_t s = (uint32_t)l;
  for (; n > 0; p++, n--) s = _mm_crc32_u8(s, *p);
  return s;
}

static uint32_t crc_table(uint32_t crc, const uint8_t* p, size_t n) {
  for (; n > 0; p++, n--) crc = table[(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc;
}

// Extend's arithmetic on the chosen path: pre- and post-inverted, as LevelDB's own.
static uint32_t extend_by(int use_hardware, uint32_t crc, const uint8_t* p, size_t n) {
  crc = ~crc;
  crc = use_hardware ? crc_hardware(crc, p, n) : crc_table(crc, p, n);
  return ~crc;
}

// leveldb::crc32c::Extend(uint32_t, const char*, size_t): the CRC of buf following a CRC of
// earlier bytes (0 for none).
uint32_t leveldb_crc32c_extend(uint32_t crc, const char* buf, size_t n) __asm__("_ZN7leveldb6crc32c6ExtendEjPKcm");
__attribute__((visibility("default"))) uint32_t leveldb_crc32c_extend(uint32_t crc, const char* buf, size_t n) {
  __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
  return extend_by(hardware, crc, (const uint8_t*)buf, n);
}

// crc32c(bytes: Uint8Array, init: number, useHardware: boolean): number -- Extend's result by
// the chosen path, for the tests; throws when the hardware path is asked for and missing.
static napi_value crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void* data;
  size_t len;
  uint32_t init;
  bool use_hardware;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], NULL, &len, &data, NULL, NULL) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &init) != napi_ok || napi_get_value_bool(env, argv[2], &use_hardware) != napi_ok) {
    napi_throw_type_error(env, NULL, "crc32c needs a Uint8Array, an initial CRC and a boolean");
    return NULL;
  }
  if (use_hardware && !hardware) {
    napi_throw_error(env, NULL, "this CPU has no SSE 4.2");
    return NULL;
  }
  const uint8_t* p = len == 0 ? (const uint8_t*)"" : (const uint8_t*)data;
  if (napi_create_uint32(env, extend_by(use_hardware, init, p, len), &result) != napi_ok) return NULL;
  return result;
}

// state(): { hardware: boolean, calls: number } -- whether the CPU's instruction is used, and
// how many times LevelDB (or anyone) called Extend here.
static napi_value state(napi_env env, napi_callback_info info) {
  napi_value result, hw, n;
  (void)info;
  if (napi_create_object(env, &result) != napi_ok || napi_get_boolean(env, hardware != 0, &hw) != napi_ok ||
      napi_create_double(env, (double)__atomic_load_n(&calls, __ATOMIC_RELAXED), &n) != napi_ok ||
      napi_set_named_property(env, result, "hardware", hw) != napi_ok || napi_set_named_property(env, result, "calls", n) != napi_ok) {
    return NULL;
  }
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, crc32c, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "crc32c", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "state", NAPI_AUTO_LENGTH, state, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "state", fn) != napi_ok) return NULL;
  return exports;
}
