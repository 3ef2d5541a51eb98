// chain-append.node: writes and links one chain entry (agent/chain/chain.ts, appendTail) in C.
// The JavaScript path pays two node:crypto calls per entry (the leaf and, on average, one Merkle
// node hash), about 0.3 us of call overhead each on top of the hashing itself; this does the
// same work in one Node-API call. SHA-256 is OpenSSL's, which Node links in and exports to addons.
// The bytes and the state are exactly the JavaScript path's; chain.ts checks that when it loads.
// Built by native/build.ts; Node-API keeps the one binary loadable on every Node >= 18.
#define NAPI_VERSION 8
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <node_api.h>

// OpenSSL's low-level SHA-256 (exported by node). SHA256_CTX is 112 bytes in OpenSSL 1.1 and 3;
// a bigger opaque buffer keeps this file free of its layout. SHA256() itself is not used: in
// OpenSSL 3 it looks the algorithm up on every call, about 0.25 us.
int SHA256_Init(void *ctx);
int SHA256_Update(void *ctx, const void *data, size_t len);
int SHA256_Final(unsigned char *md, void *ctx);
typedef struct {
  uint64_t opaque[32];
} Sha256Ctx;

// The state, as chain.ts lays it out: [0, 8) the size (entries so far), uint64 little-endian;
// [8, 40) the last entry's hash; [40, ...) the frontier, popcount(size) hashes, leftmost first.
#define SIZE_AT 0
#define LAST_AT 8
#define FRONTIER_AT 40
#define STATE_BYTES (FRONTIER_AT + 64 * 32)
// Number.MAX_SAFE_INTEGER: the size after an append stays a safe JavaScript integer.
#define MAX_SIZE 9007199254740991ULL

static const char HEX[] = "0123456789abcdef";
static const char SEQ_OPEN[] = "{\"v\":1,\"seq\":";
static const char PREV_OPEN[] = ",\"prev\":\"";

static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &ab, &offset) != napi_ok) return 0;
  return type == napi_uint8_array;
}

// A non-negative integer index (a JavaScript number).
static int index_of(napi_env env, napi_value v, size_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return 0;
  *out = (size_t)d;
  return 1;
}

static void sha256_two(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t *md) {
  Sha256Ctx c;
  SHA256_Init(&c);
  SHA256_Update(&c, a, alen);
  SHA256_Update(&c, b, blen);
  SHA256_Final(md, &c);
}

// append(out, pos, timeEnv, tails, ts, te, state): writes entry number `size` at out[pos] (the
// envelope, tails[ts, te) and '\n'), links it into `state` and returns the position after it.
// Throws (and changes nothing) on bad arguments or when `out` has no room.
static napi_value append(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  uint8_t *out, *time_env, *tails, *st;
  size_t out_len, time_env_len, tails_len, st_len, pos, ts, te;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 7 || !bytes_of(env, argv[0], &out, &out_len) ||
      !index_of(env, argv[1], &pos) || !bytes_of(env, argv[2], &time_env, &time_env_len) || !bytes_of(env, argv[3], &tails, &tails_len) ||
      !index_of(env, argv[4], &ts) || !index_of(env, argv[5], &te) || !bytes_of(env, argv[6], &st, &st_len) || st_len != STATE_BYTES) {
    napi_throw_type_error(env, NULL, "append(out, pos, timeEnv, tails, ts, te, state): bad arguments");
    return NULL;
  }
  uint64_t size = 0;
  for (int i = 7; i >= 0; i--) size = (size << 8) | st[SIZE_AT + i];
  if (size >= MAX_SIZE) {
    napi_throw_range_error(env, NULL, "append: the chain is full");
    return NULL;
  }
  char digits[20];
  int nd = 0;
  for (uint64_t x = size; nd == 0 || x > 0; x /= 10) digits[nd++] = (char)('0' + x % 10);
  size_t need = (sizeof SEQ_OPEN - 1) + (size_t)nd + (sizeof PREV_OPEN - 1) + 64 + time_env_len + 1;
  if (ts > te || te > tails_len || pos > out_len || out_len - pos < need || out_len - pos - need < te - ts) {
    napi_throw_range_error(env, NULL, "append: out of range");
    return NULL;
  }

  const size_t start = pos;
  memcpy(out + pos, SEQ_OPEN, sizeof SEQ_OPEN - 1);
  pos += sizeof SEQ_OPEN - 1;
  while (nd > 0) out[pos++] = (uint8_t)digits[--nd];
  memcpy(out + pos, PREV_OPEN, sizeof PREV_OPEN - 1);
  pos += sizeof PREV_OPEN - 1;
  uint8_t *last = st + LAST_AT;
  for (int i = 0; i < 32; i++) {
    out[pos++] = (uint8_t)HEX[last[i] >> 4];
    out[pos++] = (uint8_t)HEX[last[i] & 15];
  }
  memcpy(out + pos, time_env, time_env_len);
  pos += time_env_len;
  memmove(out + pos, tails + ts, te - ts);  // memmove: out and tails may be one buffer
  pos += te - ts;

  // entry hash = leaf hash = SHA-256(0x00 || line)
  static const uint8_t leaf_prefix[1] = {0x00};
  uint8_t h[32];
  sha256_two(leaf_prefix, 1, out + start, pos - start, h);
  out[pos++] = '\n';
  memcpy(last, h, 32);

  // One merge per trailing 1-bit of the old size: node = SHA-256(0x01 || left || right).
  uint8_t *frontier = st + FRONTIER_AT;
  int count = __builtin_popcountll(size);
  uint8_t node[65];
  node[0] = 0x01;
  for (uint64_t s = size; s & 1; s >>= 1) {
    count--;
    memcpy(node + 1, frontier + 32 * count, 32);
    memcpy(node + 33, h, 32);
    sha256_two(node, 65, NULL, 0, h);
  }
  memcpy(frontier + 32 * count, h, 32);
  size++;
  for (int i = 0; i < 8; i++) st[SIZE_AT + i] = (uint8_t)(size >> (8 * i));

  napi_value result;
  if (napi_create_double(env, (double)pos, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "append", NAPI_AUTO_LENGTH, append, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "append", fn) != napi_ok) return NULL;
  return exports;
}
