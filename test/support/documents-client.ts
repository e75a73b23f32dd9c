import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { HttpResponse, RampartProcess } from './rampart-process.js';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A multipart/form-data body with one file part, as `curl -F file=@name` sends it. */
export function multipartBody(fileName: string, content: Buffer, field = 'file'): { body: Buffer; contentType: string } {
  const boundary = `----rampart-${randomUUID()}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), content, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * POSTs a file to /v1/documents. Resolves with the answer even when the server answers early
 * (413) and closes the connection while the body is still being sent.
 */
export function uploadDocument(rampart: RampartProcess, auth: Record<string, string>, fileName: string, content: Buffer, field = 'file'): Promise<HttpResponse> {
  const { body, contentType } = multipartBody(fileName, content, field);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(`${rampart.baseUrl}/v1/documents`, { method: 'POST', agent: false, headers: { ...auth, 'content-type': contentType, 'content-length': String(body.length) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

/** GETs a path and returns the raw bytes (downloads). */
export function download(rampart: RampartProcess, path: string, auth: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${rampart.baseUrl}${path}`, { agent: false, headers: auth }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
