/**
 * The one error type the library throws for problems a user can fix: bad input, a missing file,
 * an impossible setting. `subject` names the file, row, argument or key at fault, so that a
 * notebook or the CLI can show it without a stack trace.
 */
export class ArtstyleError extends Error {
  readonly code: string;
  readonly subject: string | undefined;

  constructor(code: string, message: string, subject?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtstyleError';
    this.code = code;
    this.subject = subject;
  }
}

/** Throws an ArtstyleError with code `invalid-argument` unless `ok`. */
export function check(ok: boolean, argument: string, message: string): asserts ok {
  if (!ok) throw new ArtstyleError('invalid-argument', `${argument}: ${message}`, argument);
}

/** Human-readable message of anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
