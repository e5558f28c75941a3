/** A failure the operator can fix, told in one line without a stack trace (bad flag, port taken, data dir in use). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}
