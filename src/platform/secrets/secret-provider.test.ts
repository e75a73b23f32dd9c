import { describe, expect, it } from 'vitest';
import { secretKeyFor } from './secret-provider.js';

const known = new Set(['APP_SECRET', 'DATABASE_PASSWORD']);

describe('secretKeyFor', () => {
  it.each([
    ['/rampart/production/app_secret', 'APP_SECRET'],
    ['/rampart/production/APP_SECRET', 'APP_SECRET'],
    ['app-secret', 'APP_SECRET'],
    ['database.password', 'DATABASE_PASSWORD'],
  ])('maps %s to %s', (name, key) => {
    expect(secretKeyFor(name, known)).toBe(key);
  });

  it('ignores names Rampart does not know, so a shared path can hold other parameters', () => {
    expect(secretKeyFor('/rampart/production/other_app_token', known)).toBeUndefined();
    expect(secretKeyFor('', known)).toBeUndefined();
  });
});
