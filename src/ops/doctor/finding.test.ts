import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS, scoreOf, type Finding, type Severity } from './finding.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** GitHub's anchors for the README's headings (code blocks left out: their `#` lines are comments). */
function readmeAnchors(): Set<string> {
  const prose = readme.replace(/```[\s\S]*?```/g, '');
  const headings = [...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!);
  return new Set(headings.map((h) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
}

const findings = (severities: Severity[]): Finding[] => severities.map((severity, i) => ({ id: `f${i}`, severity, message: 'm', fix: 'f', docs: DOCS.doctor }));

describe('doctor findings', () => {
  it('link only to README sections that exist', () => {
    const anchors = readmeAnchors();
    for (const link of Object.values(DOCS)) {
      const [file, anchor] = link.split('#');
      expect(file).toBe('README.md');
      expect(anchors, link).toContain(anchor);
    }
  });

  it('every finding id the code can report is listed in the README', () => {
    const sources = [...readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => join(import.meta.dirname, f)), join(repoRoot, 'src/config/production-guard.ts')];
    const ids = new Set(sources.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bid: '([a-z0-9.-]+)'/g)].map((m) => m[1]!)));
    expect(ids.size).toBeGreaterThan(40);
    const start = readme.indexOf('### rampart doctor');
    const doctorSection = readme.slice(start, readme.indexOf('\n## ', start));
    for (const id of ids) expect(doctorSection, id).toContain(`\`${id}\``);
  });

  it('score: 100 minus 20 per critical and 5 per warning, info free, at most 49 with any critical, never below 0', () => {
    expect(scoreOf([])).toBe(100);
    expect(scoreOf(findings(['info', 'info', 'info']))).toBe(100);
    expect(scoreOf(findings(['warning', 'warning', 'info']))).toBe(90);
    expect(scoreOf(findings(['critical']))).toBe(49);
    expect(scoreOf(findings(['critical', 'critical', 'warning']))).toBe(49);
    expect(scoreOf(findings(['critical', 'critical', 'critical', 'warning']))).toBe(35);
    expect(scoreOf(findings(Array<Severity>(6).fill('critical')))).toBe(0);
    expect(scoreOf(findings(Array<Severity>(11).fill('warning')))).toBe(45);
  });
});
