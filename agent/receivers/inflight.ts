// The in-flight byte budget of one OTLP receiver (config receivers.otlp.max_inflight_bytes),
// shared by its gRPC and HTTP protocols. Every request holds a lease on it from the moment
// its headers pass the checks until its answer is sent: first a reservation for the body it
// is about to read, then what it really holds (wire bytes, decompressed bytes, decoded
// bytes). A request that does not fit is refused with a retryable error before its body is
// read, so memory is bounded by configuration, not by how many clients send at once.
//
// Growth past the reservation (gunzip output, the decoded records) is refused the same way,
// except for the oldest request in flight, which may always grow: otherwise a burst of
// admitted requests could each hold its reservation and all fail to grow, and none would
// ever finish. The bound is therefore the budget plus what one request may cost.
//
// Before a body is decoded, its lease grows by what decoding it is expected to take, learned
// from the requests decoded before it (decoded records take many times their protobuf size).
// A request that will not fit is then refused before the decode, not after it: under overload
// that work was thrown away (measured: 429 of 504 refusals in 10 s of 2000-record HTTP requests
// came after their decode).
import { SealtrailError } from '../../lib/errors.js';
import type { BodyFormat } from '../otlp/decode-pool.js';
import type { DecodedRequest } from '../otlp/model.js';
import type { EntryTails } from '../chain/entry.js';

/** Default budget (config default too). What it means for RSS, measured: docs/receivers.md, "RSS". */
export const DEFAULT_MAX_INFLIGHT_BYTES = 64 << 20;

/** Seconds a client refused for the budget is told to wait: requests in flight finish in well under that. */
export const INFLIGHT_RETRY_AFTER_SECONDS = 1;

export function overBudget(max: number): SealtrailError {
  return new SealtrailError('OVERLOADED', `more than ${max} bytes of OTLP requests are in flight; retry later`, {
    retryAfterSeconds: INFLIGHT_RETRY_AFTER_SECONDS,
  });
}

/** Bound on the learned expansion, so one odd request cannot make every later one look huge. */
const MAX_EXPANSION = 64;

export class InflightBudget {
  private used = 0;
  /** Live leases in the order they were taken (a Set iterates in insertion order). */
  private readonly live = new Set<Lease>();
  /** Decoded bytes per body byte, per format (protobuf expands far more than JSON): a moving average over the requests decoded so far (0 = none yet). */
  private readonly expansion: Record<BodyFormat, number> = { protobuf: 0, json: 0 };

  constructor(readonly max: number) {}

  /** Bytes decoding a body of `bodyBytes` is expected to take: at least the body's size again. */
  expectedDecoded(format: BodyFormat, bodyBytes: number): number {
    return Math.ceil(bodyBytes * Math.max(1, this.expansion[format]));
  }

  /** Learns from one decode what the next ones of `format` will take (see expectedDecoded). */
  noteDecoded(format: BodyFormat, bodyBytes: number, decoded: number): void {
    if (bodyBytes <= 0) return;
    const ratio = Math.min(MAX_EXPANSION, Math.max(1, decoded / bodyBytes));
    const e = this.expansion[format];
    // The first decode sets it; then an average over about the last eight.
    this.expansion[format] = e === 0 ? ratio : e + (ratio - e) / 8;
  }

  /** Bytes currently leased. */
  get bytes(): number {
    return this.used;
  }

  /**
   * Leases `n` bytes for a new request, or returns null when that would pass the budget.
   * With nothing in flight a request is always admitted, so one request larger than the
   * budget (the per-request limits allow it) still gets through, alone.
   */
  acquire(n: number): Lease | null {
    if (this.used > 0 && this.used + n > this.max) return null;
    this.used += n;
    const lease = new Lease(this, n);
    this.live.add(lease);
    return lease;
  }

  /** @internal */
  adjust(delta: number): void {
    this.used += delta;
  }

  /** @internal Whether `lease` may grow by `delta`: it fits, or `lease` is the oldest in flight. */
  mayGrow(lease: Lease, delta: number): boolean {
    return this.used + delta <= this.max || this.live.values().next().value === lease;
  }

  /** @internal */
  drop(lease: Lease): void {
    this.live.delete(lease);
  }
}

/** One request's share of the budget. release() is safe to call twice. */
export class Lease {
  private released = false;

  constructor(
    private readonly budget: InflightBudget,
    private held: number,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /** Adds `n` bytes if they fit (or if this is the oldest request in flight); false otherwise, nothing changed. n <= 0 always succeeds. */
  grow(n: number): boolean {
    if (this.released) return false;
    if (n > 0 && !this.budget.mayGrow(this, n)) return false;
    this.budget.adjust(n);
    this.held += n;
    return true;
  }

  /** Sets the lease to `n` bytes whatever the budget; used to shrink a reservation to what arrived. */
  resize(n: number): void {
    if (this.released) return;
    this.budget.adjust(n - this.held);
    this.held = n;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.drop(this);
    this.budget.adjust(-this.held);
    this.held = 0;
  }
}

/**
 * What a request decoded in a worker holds on the main thread until its answer: its entry
 * tails (no per-record objects cross over), the writer's copy of them in a commit buffer, and
 * 4 bytes of end offset per record.
 */
export function heldTailBytes(tails: EntryTails | null): number {
  return tails === null ? 0 : 2 * tails.bytes.length + 4 * tails.ends.length;
}

// What a decoded record costs on the heap beyond its canonical text, measured with
// node --expose-gc on the protobuf decoder (Node 20): about 420 bytes per record (objects, the
// view) and about 310 bytes per attribute in the view's map.
export const RECORD_OVERHEAD = 512;
export const ATTRIBUTE_OVERHEAD = 320;

/**
 * Estimated heap bytes of a decoded request: the canonical text of each record, each resource
 * and scope once per run of records sharing it, and the objects around them. Decoded requests
 * cost 20-30 times their protobuf size, so the budget has to count this, not just the body.
 */
export function decodedBytes(req: DecodedRequest): number {
  if (req.decodedBytes !== undefined) return req.decodedBytes; // from the decode worker: what its tails hold (heldTailBytes)
  let bytes = 0;
  let resource = '';
  let scope = '';
  for (const r of req.records) {
    bytes += r.record.length + RECORD_OVERHEAD + r.view.attributes.size * ATTRIBUTE_OVERHEAD;
    // Shared strings compare by reference first, so this is cheap.
    if (r.resource !== resource) {
      resource = r.resource;
      bytes += resource.length + r.view.resourceAttributes.size * ATTRIBUTE_OVERHEAD;
    }
    if (r.scope !== scope) {
      scope = r.scope;
      bytes += scope.length;
    }
  }
  return bytes;
}
