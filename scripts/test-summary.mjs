// Prints one closing line for the vitest JSON report and fails the run on any skipped
// or pending test: in CI a skip means a real service was not exercised.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const passed = report.numPassedTests;
const failed = report.numFailedTests;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (skipped > 0) {
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      if (test.status === 'pending' || test.status === 'skipped' || test.status === 'todo') console.log(`skipped: ${test.fullName} (${file.name})`);
    }
  }
}
if (failed > 0 || skipped > 0 || passed === 0 || !report.success) process.exit(1);
