// Messages between the agent and its decode worker (decode-pool.ts <-> decode-worker.ts).
import type { AuditContextConfig, AuditRule } from '../../config/types.js';
import type { ContextReject } from '../context/audit-context.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { PreparedRequest } from '../pipeline/prepare.js';
import type { DecodeLimits } from './model.js';

export interface DecodeInit {
  limits: DecodeLimits;
  filterRules: AuditRule[];
  context: AuditContextConfig | null;
  environment: string;
}

export interface DecodeCall {
  id: number;
  format: 'protobuf' | 'json';
  /** The request body, transferred: its own ArrayBuffer, never a view of a shared one. */
  body: Uint8Array;
}

export type DecodeReply =
  | { id: number; ok: true; prepared: PreparedRequest; decodedBytes: number }
  | { id: number; ok: false; error: { code: ErrorCode | null; message: string; contextReject?: ContextReject } };
