import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { HttpProblem } from '../../platform/http/problem.js';
import { ACCEPTED_TYPES_DESCRIPTION, createTextValidator, sniffContentType, SNIFF_BYTES, type SniffedType, type TextValidator } from './content-sniffing.js';

export interface InspectedUpload {
  sizeBytes: number;
  sha256: string;
  type: SniffedType;
}

export interface UploadInspector {
  /** Pipe the upload through this on its way to storage. It fails the stream with a 413 or 415 problem. */
  stream: Transform;
  /** Why the stream failed, if the upload itself was refused (not storage). */
  refusal(): HttpProblem | undefined;
  /** After the stream ended: what went through. */
  result(): InspectedUpload;
}

export function uploadTooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem(413, 'upload-too-large', `The file is larger than this server accepts (${maxBytes} bytes).`);
}

export function unsupportedDocumentType(): HttpProblem {
  return new HttpProblem(415, 'unsupported-document-type', `This kind of file is not accepted. Accepted: ${ACCEPTED_TYPES_DESCRIPTION}. The type is read from the content, not from the name.`);
}

/**
 * Counts, hashes and types an upload as it streams past, holding back only the first
 * SNIFF_BYTES until the type is known: a refused file never reaches storage, and a file over
 * `maxBytes` fails the stream the moment it crosses the limit.
 */
export function createUploadInspector(options: { maxBytes: number; fileName: string }): UploadInspector {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let type: SniffedType | undefined;
  let text: TextValidator | undefined;
  let refused: HttpProblem | undefined;
  let digest: string | undefined;

  const refuse = (problem: HttpProblem, done: TransformCallback) => {
    refused = problem;
    done(problem);
  };

  const decide = async (complete: boolean): Promise<Buffer | undefined> => {
    const head = Buffer.concat(held);
    held = [];
    type = await sniffContentType(head.subarray(0, SNIFF_BYTES), options.fileName, complete && head.length <= SNIFF_BYTES);
    if (!type) return undefined;
    if (type.text) {
      text = createTextValidator();
      if (!text.accepts(head)) return undefined;
    }
    return head;
  };

  const stream = new Transform({
    // Fewer, larger handoffs to storage; bounds what one upload holds in memory at 1 MiB here.
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, done) {
      sizeBytes += chunk.length;
      if (sizeBytes > options.maxBytes) return refuse(uploadTooLarge(options.maxBytes), done);
      hash.update(chunk);
      if (type) {
        if (text && !text.accepts(chunk)) return refuse(unsupportedDocumentType(), done);
        return done(null, chunk);
      }
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes < SNIFF_BYTES) return done();
      decide(false).then(
        (head) => (head ? done(null, head) : refuse(unsupportedDocumentType(), done)),
        (error: unknown) => done(error as Error),
      );
    },
    flush(done) {
      if (sizeBytes === 0) return refuse(new HttpProblem(400, 'empty-document', 'The file is empty.'), done);
      const finish = () => {
        if (text && !text.end()) return refuse(unsupportedDocumentType(), done);
        digest = hash.digest('hex');
        done();
      };
      if (type) return finish();
      decide(true).then(
        (head) => {
          if (!head) return refuse(unsupportedDocumentType(), done);
          this.push(head);
          finish();
        },
        (error: unknown) => done(error as Error),
      );
    },
  });

  return {
    stream,
    refusal: () => refused,
    result() {
      if (!type || digest === undefined) throw new Error('the upload has not been inspected to its end');
      return { sizeBytes, sha256: digest, type };
    },
  };
}
