import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../package-info.js';
import { HttpProblem, problemDetails } from './problem.js';
import { PROBLEM_TITLES } from './problem-types.js';

async function appWith(routes: Record<string, () => Promise<unknown>>) {
  const app = Fastify();
  await app.register(problemDetails);
  app.post('/schema', { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } }, async () => ({}));
  for (const [url, handler] of Object.entries(routes)) app.get(url, handler);
  return app;
}

describe('problem types', () => {
  it('a validation failure has one title whether the route schema or the route itself finds it', async () => {
    const app = await appWith({
      '/rule': async () => {
        throw new HttpProblem(422, 'validation-failed', 'n must be even.', [{ field: 'body/n', message: 'must be even' }]);
      },
    });
    const bySchema = await app.inject({ method: 'POST', url: '/schema', payload: {} });
    const byRoute = await app.inject({ method: 'GET', url: '/rule' });
    expect(bySchema.json()).toMatchObject({ type: '/problems/validation-failed', status: 422 });
    expect(byRoute.json()).toMatchObject({ type: '/problems/validation-failed', status: 422 });
    expect(byRoute.json<{ title: string }>().title).toBe(bySchema.json<{ title: string }>().title);
  });

  it('an unlisted client error keeps one title whatever its status', async () => {
    const app = await appWith({
      '/forbidden': async () => {
        throw Object.assign(new Error('no'), { statusCode: 403 });
      },
      '/gone': async () => {
        throw Object.assign(new Error('gone'), { statusCode: 410 });
      },
    });
    const answers = [await app.inject('/forbidden'), await app.inject('/gone')].map((res) => res.json<{ type: string; title: string; status: number }>());
    expect(answers.map((a) => a.status)).toEqual([403, 410]);
    expect(new Set(answers.map((a) => `${a.type} ${a.title}`)).size).toBe(1);
  });

  it('every problem type has exactly one title, and docs/problems.md documents exactly these types, each once', () => {
    const table = readFileSync(join(packageRoot, 'docs', 'problems.md'), 'utf8');
    const documented = [...table.matchAll(/^\| `\/problems\/([a-z-]+)` \|/gm)].map((match) => match[1]!);
    const counts = new Map<string, number>();
    for (const slug of documented) counts.set(slug, (counts.get(slug) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1).map(([slug]) => slug), 'documented twice').toEqual([]);
    expect([...counts.keys()].sort()).toEqual(Object.keys(PROBLEM_TITLES).sort());
    for (const [slug, title] of Object.entries(PROBLEM_TITLES)) expect(title, slug).toMatch(/^[A-Z][A-Za-z ]+$/);
  });
});
