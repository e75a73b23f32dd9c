// Prints one line per vitest JSON report and one closing line for them all, and fails the run
// on any failed or skipped test: in CI a skip means a real service was not exercised.
// Usage: node scripts/test-summary.mjs [LABEL=]REPORT.json...
// (.ci/run passes one report per Node.js line, labelled with the version it ran on.)
import { existsSync, readFileSync } from 'node:fs';

const runs = process.argv.slice(2).map((arg) => {
  const split = arg.indexOf('=');
  return split > 0 ? { label: arg.slice(0, split), file: arg.slice(split + 1) } : { label: arg, file: arg };
});
if (runs.length === 0) {
  console.error('usage: node scripts/test-summary.mjs [LABEL=]REPORT.json...');
  process.exit(2);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const firstLines = (messages = []) => messages.flatMap((m) => m.replace(ANSI, '').split('\n').filter((l) => l.trim() !== '').slice(0, 4));

const total = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
for (const { label, file } of runs) {
  // A runner that crashed before writing its report ran nothing we can count: one failure.
  if (!existsSync(file)) {
    console.log(`${label}: no test report (${file}); the run did not finish`);
    total.failed += 1;
    ok = false;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const passed = report.numPassedTests;
  // A test file that fails to load or whose hooks throw has no failed test in it, only a failed
  // file: count each such file once, so the closing line never reads "0 failed" on a red run.
  const brokenFiles = report.testResults.filter((r) => r.status === 'failed' && !r.assertionResults.some((t) => t.status === 'failed'));
  const failed = report.numFailedTests + brokenFiles.length;
  const skipped = report.numPendingTests + report.numTodoTests;
  total.passed += passed;
  total.failed += failed;
  total.skipped += skipped;
  if (runs.length > 1) console.log(`${label} ran ${passed} passed, ${failed} failed, ${skipped} skipped`);
  for (const result of brokenFiles) console.log(`failed (${label}): ${result.name}: ${(result.message ?? '').split('\n')[0]}`);
  for (const result of report.testResults) {
    for (const test of result.assertionResults) {
      if (test.status === 'failed') {
        console.log(`failed (${label}): ${test.fullName} (${result.name})`);
        // The suite's own output of an earlier line may be cut from what CI keeps: say why here too.
        for (const line of firstLines(test.failureMessages)) console.log(`    ${line}`);
      }
      if (test.status === 'pending' || test.status === 'skipped' || test.status === 'todo') console.log(`skipped (${label}): ${test.fullName} (${result.name})`);
    }
  }
  if (failed > 0 || skipped > 0 || passed === 0 || !report.success) ok = false;
}
// The closing line CI reads: the whole run, every Node.js line added up.
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
if (!ok) process.exit(1);
