/**
 * A field a contact form renders hidden from people: browsers' users never fill it, form-filling
 * bots do. A submission with it filled is answered like any other (202) so the bot learns
 * nothing, and is then dropped: not stored, not mailed.
 */
export const HONEYPOT_FIELD = 'website';

export function honeypotFilled(submission: { [HONEYPOT_FIELD]?: string | undefined }): boolean {
  // Whitespace only counts as empty: a stray autofilled space must not drop a real message.
  return (submission[HONEYPOT_FIELD] ?? '').trim() !== '';
}
