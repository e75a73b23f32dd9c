import Type from 'typebox';
import { Email } from '../auth/index.js';
import { HONEYPOT_FIELD } from './honeypot.js';

export const MAX_NAME_LENGTH = 200;
export const MAX_MESSAGE_LENGTH = 10_000;

// Control characters have no place in a name and would garble the mail and the listing;
// a message may hold line breaks and tabs, nothing else below U+0020.
const NAME_PATTERN = '^[^\\x00-\\x1F\\x7F]*$';
const MESSAGE_PATTERN = '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]*$';

export const ContactSubmissionSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: NAME_PATTERN, description: `The sender's name, 1-${MAX_NAME_LENGTH} characters, no control characters.` }),
  email: Email,
  message: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_LENGTH, pattern: MESSAGE_PATTERN, description: `1-${MAX_MESSAGE_LENGTH} characters; line breaks and tabs allowed, other control characters not.` }),
  [HONEYPOT_FIELD]: Type.Optional(Type.String({ maxLength: 2048, description: 'Leave out or empty. Render it hidden in your form: a submission that fills it is answered 202 and dropped (a bot filled it).' })),
}, { additionalProperties: false });

export const ContactReceiptSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Type.Literal('received'),
});

export const ContactMessageSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.Union([Type.String(), Type.Null()], { description: 'Null only when the message is `unreadable`.' }),
  email: Type.Union([Type.String(), Type.Null()], { description: 'Null only when the message is `unreadable`.' }),
  message: Type.Union([Type.String(), Type.Null()], { description: 'Null only when the message is `unreadable`.' }),
  created_at: Type.String({ format: 'date-time' }),
  submitted_by: Type.Object({
    kind: Type.Union([Type.Literal('user'), Type.Literal('api_key')]),
    id: Type.String({ description: 'The user id or the API key id that submitted it.' }),
  }),
  correlation_id: Type.Union([Type.String(), Type.Null()]),
  unreadable: Type.Optional(Type.String({ description: 'Present when the content does not decrypt (its field key was removed); says what an operator must do.' })),
});

export const ContactPageSchema = Type.Object({
  messages: Type.Array(ContactMessageSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
});
