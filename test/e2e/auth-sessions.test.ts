import { describe, expect, it } from 'vitest';
import { bearer, logIn, postJson, signUp, uniqueEmail, withDatabase, type TokenPair, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';

const REUSE_INTERVAL_S = 2;

describe.each(databaseTargets())('tokens and sessions on $name', (factory) => {
  describe.skipIf(!factory.available)('refresh rotation, logout and sessions', () => {
    const suite = rampartOnFreshDatabase(factory, { AUTH_REFRESH_REUSE_INTERVAL_S: String(REUSE_INTERVAL_S) });
    const reusedCorrelationId = `reuse-${Date.now()}`;

    const refresh = (token: string, headers: Record<string, string> = {}) => postJson(suite.rampart, '/v1/auth/refresh', { refresh_token: token }, headers);
    const me = (pair: TokenPair) => suite.rampart.request('/v1/me', { headers: bearer(pair.access_token) });
    async function signedIn(label: string, userAgent = 'vitest'): Promise<{ email: string; pair: TokenPair }> {
      const email = uniqueEmail(label);
      await signUp(suite.rampart, email);
      return { email, pair: await logIn(suite.rampart, email, undefined, { 'user-agent': userAgent }) };
    }

    it('rotates the refresh token: the new pair works and differs from the old one', async () => {
      const { pair } = await signedIn('rotate');
      const res = await refresh(pair.refresh_token);
      expect(res.status).toBe(200);
      const next = res.json<TokenPair>();
      expect(next.refresh_token).not.toBe(pair.refresh_token);
      expect(next.access_token).not.toBe(pair.access_token);
      expect((await me(next)).status).toBe(200);
      expect((await refresh(next.refresh_token)).status).toBe(200);
    });

    it('gives a concurrent refresh within the reuse interval the same new pair', async () => {
      const { pair } = await signedIn('tabs');
      const [a, b] = await Promise.all([refresh(pair.refresh_token), refresh(pair.refresh_token)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.json()).toEqual(b.json());
      expect((await me(a.json<TokenPair>())).status).toBe(200);
    });

    it('revokes the whole family when a rotated token is reused after the interval; the newest token dies too', async () => {
      const { pair } = await signedIn('reuse');
      const newest = (await refresh(pair.refresh_token)).json<TokenPair>();
      await new Promise((resolve) => setTimeout(resolve, REUSE_INTERVAL_S * 1000 + 300));

      const reuse = await refresh(pair.refresh_token, { 'x-correlation-id': reusedCorrelationId });
      expect(reuse.status).toBe(401);
      expect(reuse.json()).toMatchObject({ type: '/problems/invalid-refresh-token' });
      expect((await refresh(newest.refresh_token)).status).toBe(401);
      expect((await me(newest)).status).toBe(401);
    });

    it('refuses an unknown refresh token', async () => {
      const res = await refresh('A'.repeat(43));
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-refresh-token' });
    });

    it('logout kills the session: its access token and refresh token stop working', async () => {
      const { pair } = await signedIn('logout');
      const out = await suite.rampart.request('/v1/auth/logout', { method: 'POST', headers: bearer(pair.access_token) });
      expect(out.status).toBe(204);
      const after = await me(pair);
      expect(after.status).toBe(401);
      expect(after.json()).toMatchObject({ type: '/problems/invalid-token' });
      expect(after.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
      expect((await refresh(pair.refresh_token)).status).toBe(401);
    });

    it('lists sessions with device details and marks the current one', async () => {
      const { email, pair } = await signedIn('list', 'Laptop Browser/1.0');
      await logIn(suite.rampart, email, undefined, { 'user-agent': 'Phone App/2.0' });
      const res = await suite.rampart.request('/v1/auth/sessions', { headers: bearer(pair.access_token) });
      expect(res.status).toBe(200);
      const { sessions } = res.json<{ sessions: Array<Record<string, unknown>> }>();
      expect(sessions).toHaveLength(2);
      expect(sessions).toEqual(expect.arrayContaining([
        { id: expect.any(String), user_agent: 'Laptop Browser/1.0', ip: '127.0.0.1', created_at: expect.any(String), last_seen_at: expect.any(String), current: true },
        expect.objectContaining({ user_agent: 'Phone App/2.0', current: false }),
      ]));
    });

    it('revokes one session by id, and only the caller\'s own', async () => {
      const { email, pair } = await signedIn('one');
      const phone = await logIn(suite.rampart, email);
      const stranger = await signedIn('stranger');
      const sessions = (await suite.rampart.request('/v1/auth/sessions', { headers: bearer(pair.access_token) })).json<{ sessions: Array<{ id: string; current: boolean }> }>().sessions;
      const phoneSession = sessions.find((s) => !s.current)!;

      const byStranger = await suite.rampart.request(`/v1/auth/sessions/${phoneSession.id}`, { method: 'DELETE', headers: bearer(stranger.pair.access_token) });
      expect(byStranger.status).toBe(404);
      expect((await me(phone)).status).toBe(200);

      const revoke = await suite.rampart.request(`/v1/auth/sessions/${phoneSession.id}`, { method: 'DELETE', headers: bearer(pair.access_token) });
      expect(revoke.status).toBe(204);
      expect((await me(phone)).status).toBe(401);
      expect((await me(pair)).status).toBe(200);
      expect((await suite.rampart.request('/v1/auth/sessions/not-a-uuid', { method: 'DELETE', headers: bearer(pair.access_token) })).status).toBe(400);
    });

    it('revokes all other sessions, keeping the current one', async () => {
      const { email, pair } = await signedIn('others');
      const second = await logIn(suite.rampart, email);
      const third = await logIn(suite.rampart, email);
      const res = await suite.rampart.request('/v1/auth/sessions?scope=others', { method: 'DELETE', headers: bearer(pair.access_token) });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ revoked: 2 });
      expect((await me(second)).status).toBe(401);
      expect((await me(third)).status).toBe(401);
      expect((await me(pair)).status).toBe(200);
      expect((await suite.rampart.request('/v1/auth/sessions?scope=everything', { method: 'DELETE', headers: bearer(pair.access_token) })).status).toBe(400);
    });

    it('revokes every session with scope=all, the current one included', async () => {
      const { email, pair } = await signedIn('all');
      const other = await logIn(suite.rampart, email);
      const res = await suite.rampart.request('/v1/auth/sessions?scope=all', { method: 'DELETE', headers: bearer(pair.access_token) });
      expect(res.json()).toEqual({ revoked: 2 });
      expect((await me(pair)).status).toBe(401);
      expect((await me(other)).status).toBe(401);
    });

    it('requires a token for every session route', async () => {
      for (const [method, path] of [['GET', '/v1/me'], ['GET', '/v1/auth/sessions'], ['POST', '/v1/auth/logout'], ['DELETE', '/v1/auth/sessions']] as const) {
        const res = await suite.rampart.request(path, { method });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.json()).toMatchObject({ type: '/problems/invalid-token' });
      }
    });

    it('recorded the reuse, logouts and revocations in audit_events', async () => {
      await suite.rampart.stop();
      await withDatabase(suite.target, async (db) => {
        const events = await db.selectFrom('audit_events').selectAll().execute();
        const reused = events.filter((e) => e.action === 'auth.refresh.reused');
        expect(reused).toHaveLength(1);
        expect(reused[0]).toMatchObject({ correlation_id: reusedCorrelationId, ip: '127.0.0.1', tenant_id: expect.any(String), actor_id: expect.any(String) });
        expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['auth.logout', 'auth.session.revoked']));
        await expect(db.updateTable('audit_events').set({ action: 'rewritten' }).execute()).rejects.toThrow(/append-only/);
        await expect(db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
      });
    });
  });
});
