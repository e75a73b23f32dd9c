import { describe, expect, it } from 'vitest';
import { honeypotFilled } from './honeypot.js';

describe('honeypot', () => {
  it('is tripped by any visible text in the hidden field', () => {
    expect(honeypotFilled({ website: 'http://spam.example' })).toBe(true);
    expect(honeypotFilled({ website: ' x ' })).toBe(true);
  });

  it('lets through a submission without it, with it empty, or with white space only', () => {
    expect(honeypotFilled({})).toBe(false);
    expect(honeypotFilled({ website: '' })).toBe(false);
    expect(honeypotFilled({ website: ' \t' })).toBe(false);
  });
});
