import { describe, expect, it } from 'vitest';
import { checkPassword } from './password-policy.js';

describe('password policy', () => {
  it('accepts a 12-character password that is not a common one', () => {
    expect(checkPassword('tangerine-Vx')).toMatchObject({ ok: true });
  });

  it('refuses fewer than 12 characters, naming the rule', () => {
    expect(checkPassword('short-pass1')).toMatchObject({ ok: false, rule: 'min-length' });
  });

  it('counts characters, not UTF-16 units: 11 emoji are too short', () => {
    expect(checkPassword('🔒'.repeat(11))).toMatchObject({ ok: false, rule: 'min-length' });
    expect(checkPassword('🔒'.repeat(12))).toMatchObject({ ok: true });
  });

  it('accepts 128 characters and refuses more than 1024', () => {
    expect(checkPassword('a1b2c3d4e5f6g7h8'.repeat(8))).toMatchObject({ ok: true });
    expect(checkPassword('x'.repeat(1025))).toMatchObject({ ok: false, rule: 'max-length' });
  });

  it('refuses common breached passwords whatever their case', () => {
    for (const password of ['password1234', 'Password1234', 'QWERTYUIOP123', '1q2w3e4r5t6y', 'iloveyou2024!', 'aaaaaaaaaaaa']) {
      expect(checkPassword(password), password).toMatchObject({ ok: false, rule: 'common-password' });
    }
  });

  it('normalises with NFKC so full-width and composed forms are the same password', () => {
    // Full-width "ｐａｓｓｗｏｒｄ１２３４" is "password1234" after NFKC: still refused.
    expect(checkPassword('ｐａｓｓｗｏｒｄ１２３４')).toMatchObject({ ok: false, rule: 'common-password' });
    expect(checkPassword('cafe\u0301-au-lait!').normalised).toBe('café-au-lait!'.normalize('NFKC'));
  });
});
