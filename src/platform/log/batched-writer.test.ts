import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchedWriter } from './batched-writer.js';

describe('batched log writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-writer-'));
  const file = join(dir, 'out.log');
  let fd = -1;
  afterEach(() => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
  });

  it('holds small writes until the batch fills, then writes them in order', () => {
    fd = openSync(file, 'w');
    const writer = createBatchedWriter(fd);
    writer.write('first\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    const filler = `${'x'.repeat(100)}\n`;
    for (let i = 0; i < 400; i++) writer.write(filler);
    const written = readFileSync(file, 'utf8');
    expect(written.startsWith('first\nxxx')).toBe(true);
    expect(written.length).toBeLessThan(`first\n${filler.repeat(400)}`.length);
    writer.end();
    expect(readFileSync(file, 'utf8')).toBe(`first\n${filler.repeat(400)}`);
  });

  it('keeps order around a line larger than the batch and across multi-byte characters', () => {
    fd = openSync(file, 'w');
    const writer = createBatchedWriter(fd);
    const lines = ['before\n', `${'é✓'.repeat(30_000)}\n`, ...Array.from({ length: 3_000 }, (_, i) => `line ${i} ✓\n`), 'after\n'];
    for (const line of lines) writer.write(line);
    writer.end();
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
  });

  it('flushes on its own within the flush interval', async () => {
    fd = openSync(file, 'w');
    const writer = createBatchedWriter(fd);
    writer.write('lonely line ✓\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(readFileSync(file, 'utf8')).toBe('lonely line ✓\n');
    writer.end();
  });

  it('keeps every line, in order, through a non-blocking pipe that fills up (EAGAIN)', () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const writer = createBatchedWriter(fd);
    // ~2 MB with nobody reading: far past the pipe's 64 KiB, so writes fail and lines wait.
    const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${'x'.repeat(30)}\n`);
    for (const line of lines) writer.write(line);
    const expected = lines.join('');
    let received = '';
    const chunk = Buffer.alloc(65_536);
    const drain = () => {
      try {
        received += chunk.subarray(0, readSync(reader, chunk, 0, chunk.length, null)).toString('utf8');
      } catch {
        // EAGAIN: the pipe is empty for now
      }
    };
    for (let i = 0; i < 5_000 && received.length < expected.length; i++) {
      drain();
      writer.flushSync();
    }
    writer.end();
    drain();
    closeSync(reader);
    expect(received).toBe(expected);
  }, 60_000);

  it('keeps lines buffered instead of throwing when the descriptor fails', () => {
    const writer = createBatchedWriter(9_999);
    expect(() => writer.write('x'.repeat(10_000))).not.toThrow();
    expect(() => writer.end()).not.toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});
