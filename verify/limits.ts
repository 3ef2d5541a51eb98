// Limits the verifier and the agent must agree on: the agent refuses to write what the
// verifier would refuse to read.

/**
 * Longest entry line (UTF-8 bytes, without its newline) the verifier reads. The agent's
 * receivers.otlp.max_entry_size may not exceed it (config/load.ts), and the decoders keep every
 * line within max_entry_size (agent/otlp/canonical.ts Budget), so every line the agent writes
 * is one the verifier accepts.
 */
export const MAX_ENTRY_LINE_BYTES = 64 * 1024 * 1024;
