/**
 * A backup, verify or restore that cannot go on, with a message the operator can act on.
 * `kind` decides the exit code: bad_input (2), refused (3: unsafe or would destroy data),
 * failed (1: the work itself failed), mismatch (6: a drill found differences).
 */
export class BackupError extends Error {
  constructor(readonly kind: 'bad_input' | 'refused' | 'failed' | 'mismatch', message: string) {
    super(message);
    this.name = 'BackupError';
  }
}
