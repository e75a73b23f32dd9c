// A PDF decompression bomb (a megabyte that inflates to a gibibyte) uploaded to `serve
// --with-worker`, where extraction runs beside the web server as `npm start` runs it. The
// document ends `extract_failed`, and the server's own memory barely moves: the bytes are
// inflated, if at all, in a process of its own that is killed past its budget.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childProcessesMatching } from '../support/child-processes.js';
import { authEnv, bearer, logIn, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { uploadDocument } from '../support/documents-client.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';
import { pdfDecompressionBomb, pdfWithPages, pdfWithText } from '../support/sample-documents.js';

const MIB = 1024 * 1024;
// The server's resident memory may grow this much over its settled baseline while bombs are
// extracted (uploads, queries and the job itself allocate a little), and must be back within
// the second figure afterwards. Extracted in the server's process, one bomb took 2.9 GB.
const PEAK_BOUND = 150 * MIB;
const SETTLED_BOUND = 64 * MIB;
const BOMB_INFLATED_BYTES = 1024 * MIB;

interface Doc { id: string; status: string }

/** VmRSS and VmHWM (peak since start) of a process, in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'latin1');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/**
 * Samples the server's memory and its extraction processes every 50 ms. `over` is set the
 * moment its memory passes the bound, so a failing run stops before it eats the machine.
 */
function watchServer(pid: number, baseline: number) {
  const seen = { peakRss: 0, maxExtractions: 0, over: undefined as string | undefined };
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rss } = await memoryOf(pid);
      seen.peakRss = Math.max(seen.peakRss, rss);
      if (rss > baseline + PEAK_BOUND) seen.over ??= `server RSS ${Math.round(rss / MIB)} MiB, over its baseline ${Math.round(baseline / MIB)} MiB + ${PEAK_BOUND / MIB} MiB`;
      seen.maxExtractions = Math.max(seen.maxExtractions, childProcessesMatching(pid, 'extract-text'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

describe.each(databaseTargets())('document extraction limits on $name', (factory) => {
  let bomb: Buffer;
  beforeAll(async () => {
    if (factory.available) bomb = await pdfDecompressionBomb(BOMB_INFLATED_BYTES);
  }, 120_000);

  /** A server with the worker in-process, signed in, with one PDF extracted so that its baseline is settled. */
  function serverWith(env: Record<string, string>) {
    const suite = {} as { target: DatabaseTarget; rampart: RampartProcess; auth: Record<string, string> };
    beforeAll(async () => {
      suite.target = await factory.create();
      suite.rampart = await startRampart({ args: ['serve', '--with-worker'], env: authEnv(suite.target, env) });
      const email = uniqueEmail('bomb');
      await signUp(suite.rampart, email);
      suite.auth = bearer((await logIn(suite.rampart, email)).access_token);
      const warm = await uploadDocument(suite.rampart, suite.auth, 'warm-up.pdf', pdfWithText('Quarterly zebra report'));
      expect(warm.status, warm.body).toBe(201);
      for (let tries = 0; (await statusOf(warm.json<Doc>().id)) !== 'extracted'; tries++) {
        if (tries > 240) throw new Error('the warm-up PDF was not extracted within a minute');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }, 120_000);
    afterAll(async () => {
      // SIGKILL: a server whose worker is deep in a bomb has nothing left worth draining.
      await suite.rampart?.stop('SIGKILL');
      await suite.target?.cleanup();
    });
    const statusOf = async (id: string) => (await suite.rampart.request(`/v1/documents/${id}`, { headers: suite.auth })).json<Doc>().status;

    /** Uploads the files at once and waits until each has left `stored`, failing at once if the server's memory passes the bound. */
    async function uploadAndSettle(files: Array<[string, Buffer]>) {
      const pid = suite.rampart.child.pid!;
      const { rss: baseline, hwm: hwmBefore } = await memoryOf(pid);
      const watch = watchServer(pid, baseline);
      try {
        const answers = await Promise.all(files.map(([name, bytes]) => uploadDocument(suite.rampart, suite.auth, name, bytes)));
        for (const answer of answers) expect(answer.status, answer.body).toBe(201);
        const ids = answers.map((answer) => answer.json<Doc>().id);
        const deadline = Date.now() + 150_000;
        const statuses = new Map<string, string>();
        while (statuses.size < ids.length) {
          if (watch.seen.over) throw new Error(watch.seen.over);
          if (Date.now() > deadline) throw new Error(`documents still being extracted after 150 s: ${JSON.stringify([...statuses])}`);
          for (const id of ids) {
            const status = await statusOf(id);
            if (status !== 'stored') statuses.set(id, status);
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        // The worker's line for each: the reason it recorded, at warn (a hostile upload is no failure of ours).
        const failures = suite.rampart.logs.filter((l) => l.msg === 'document text not extracted');
        for (const line of failures) expect(line.level).toBe('warn');
        // Back near the baseline once it is over (a little for the rows, logs and pools).
        await expect.poll(async () => (await memoryOf(pid)).rss - baseline, { timeout: 20_000, interval: 250 }).toBeLessThan(SETTLED_BOUND);
        const seen = await watch.stop();
        expect(seen.over).toBeUndefined();
        // The peak between samples too: the kernel's high-water mark, unless start-up already set it higher.
        expect((await memoryOf(pid)).hwm).toBeLessThanOrEqual(Math.max(hwmBefore, baseline + PEAK_BOUND));
        return { statuses: ids.map((id) => statuses.get(id)), reasons: ids.map((id) => failures.find((line) => line.document_id === id)?.reason), seen };
      } finally {
        await watch.stop();
      }
    }
    return { suite, uploadAndSettle };
  }

  describe.skipIf(!factory.available)('with the default limits', () => {
    const { suite, uploadAndSettle } = serverWith({});

    it('a PDF that inflates to 1 GiB ends extract_failed, and the server keeps its memory', async () => {
      expect(bomb.length).toBeLessThan(4 * MIB);
      const { statuses, reasons } = await uploadAndSettle([['quarterly.pdf', bomb]]);
      expect(statuses).toEqual(['extract_failed']);
      expect(reasons).toEqual(['its compressed streams inflate to more than 256 MB (DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB)']);
      expect(suite.rampart.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
      // The server still answers, and still extracts.
      const next = await uploadDocument(suite.rampart, suite.auth, 'after.pdf', pdfWithText('Okapi census'));
      await expect.poll(async () => (await suite.rampart.request(`/v1/documents/${next.json<Doc>().id}`, { headers: suite.auth })).json<Doc>().status, { timeout: 60_000 }).toBe('extracted');
    }, 240_000);

    it('three bombs at once: all extract_failed, at most DOCUMENTS_EXTRACT_CONCURRENCY (2) extraction processes at a time, the server keeps its memory', async () => {
      const { statuses, seen } = await uploadAndSettle([['a.pdf', bomb], ['b.pdf', bomb], ['c.pdf', bomb]]);
      expect(statuses).toEqual(['extract_failed', 'extract_failed', 'extract_failed']);
      expect(seen.maxExtractions).toBeGreaterThanOrEqual(1);
      expect(seen.maxExtractions).toBeLessThanOrEqual(2);
    }, 240_000);
  });

  describe.skipIf(!factory.available)('with the decompression limit out of the way', () => {
    const { uploadAndSettle } = serverWith({ DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB: '4096', DOCUMENTS_EXTRACT_MAX_MEMORY_MB: '160', DOCUMENTS_EXTRACT_MAX_PAGES: '2' });

    it('the memory cap kills the parse of a bomb: extract_failed, and the server keeps its memory', async () => {
      const { statuses, reasons } = await uploadAndSettle([['quarterly.pdf', bomb], ['copy.pdf', bomb]]);
      expect(statuses).toEqual(['extract_failed', 'extract_failed']);
      expect(reasons).toEqual(['needs more than 160 MB of memory to parse (DOCUMENTS_EXTRACT_MAX_MEMORY_MB)', 'needs more than 160 MB of memory to parse (DOCUMENTS_EXTRACT_MAX_MEMORY_MB)']);
    }, 240_000);

    it('a PDF with more pages than DOCUMENTS_EXTRACT_MAX_PAGES ends extract_failed', async () => {
      const { statuses, reasons } = await uploadAndSettle([['three-pages.pdf', pdfWithPages([['one'], ['two'], ['three']])]]);
      expect(statuses).toEqual(['extract_failed']);
      expect(reasons).toEqual(['it has 3 pages, more than 2 (DOCUMENTS_EXTRACT_MAX_PAGES)']);
    }, 120_000);
  });
});
