import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazySchemaCompilers } from './lazy-schema-compilers.js';

function appWith(schemas = lazySchemaCompilers()) {
  const compiled: string[] = [];
  const app = Fastify({ schemaController: { compilersFactory: schemas.compilersFactory }, ajv: { customOptions: { allErrors: true, coerceTypes: false } } });
  const body = { type: 'object', required: ['name', 'age'], additionalProperties: false, properties: { name: { type: 'string', minLength: 2 }, age: { type: 'integer' } } };
  app.post('/people', { schema: { body, response: { 201: { type: 'object', properties: { name: { type: 'string' } } } } } }, async (request, reply) => {
    compiled.push('handler');
    return reply.code(201).send({ ...(request.body as object), secret: 'not in the schema' });
  });
  app.get('/items/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+$' } } } } }, async () => ({ ok: true }));
  return { app, schemas };
}

describe('lazy schema compilers', () => {
  it('validate and serialize exactly as Fastify’s own compilers, errors included', async () => {
    const { app } = appWith();
    const created = await app.inject({ method: 'POST', url: '/people', payload: { name: 'Ada', age: 36 } });
    expect(created.statusCode).toBe(201);
    // The response schema drops what it does not list: fast-json-stringify ran.
    expect(created.json()).toEqual({ name: 'Ada' });

    const refused = await app.inject({ method: 'POST', url: '/people', payload: { name: 'A', extra: true } });
    expect(refused.statusCode).toBe(400);
    // allErrors: every failing field is reported, as with the eager compiler.
    expect(refused.json().message).toContain('must NOT have fewer than 2 characters');
    expect(refused.json().message).toContain('must have required property');

    expect((await app.inject({ method: 'GET', url: '/items/12' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/items/abc' })).statusCode).toBe(400);
    await app.close();
  });

  it('compiles nothing before a request or compileAll, then everything once', async () => {
    const { app, schemas } = appWith();
    await app.ready();
    // POST body and 201 response, GET and HEAD params: nothing compiled by start-up.
    expect(schemas.pending()).toBe(4);
    expect((await app.inject({ method: 'GET', url: '/items/7' })).statusCode).toBe(200);
    expect(schemas.pending()).toBe(3);
    expect(await schemas.compileAll()).toEqual({ compiled: 3, failures: [] });
    expect(schemas.pending()).toBe(0);
    expect(await schemas.compileAll()).toEqual({ compiled: 0, failures: [] });
    expect((await app.inject({ method: 'POST', url: '/people', payload: { name: 'Bo', age: 1 } })).statusCode).toBe(201);
    await app.close();
  });

  it('reports a schema that does not compile instead of hiding it', async () => {
    const schemas = lazySchemaCompilers();
    const app = Fastify({ schemaController: { compilersFactory: schemas.compilersFactory } });
    app.get('/broken', { schema: { querystring: { type: 'object', properties: { q: { type: 'no-such-type' } } } } }, async () => ({}));
    await app.ready();
    const { failures } = await schemas.compileAll();
    // GET and the HEAD route Fastify adds for it share the schema: one failure each.
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure.message).toMatch(/no-such-type|type/);
    await app.close();
  });
});
