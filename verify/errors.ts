// Coded errors of the verifier library and its commands. These are about the run itself
// (bad usage, unreadable archive, malformed proof file); findings about the archive's
// contents are not errors but Problems in the report (report.ts).

export type VerifyErrorCode =
  | 'USAGE' // bad command-line arguments
  | 'IO' // the archive or a file could not be read
  | 'NOT_FOUND' // an object, origin or checkpoint that was asked for does not exist
  | 'UNSUPPORTED' // e.g. an archive location scheme not implemented yet
  | 'MALFORMED_PROOF' // a proof document that cannot be parsed
  | 'ARCHIVE_INVALID'; // the archive does not support the requested proof (run `verify`)

export class VerifyError extends Error {
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VerifyError';
  }
}

export function isVerifyError(err: unknown, code?: VerifyErrorCode): err is VerifyError {
  return err instanceof VerifyError && (code === undefined || err.code === code);
}
