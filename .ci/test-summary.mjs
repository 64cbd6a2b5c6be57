// Prints the plain closing line "N passed, N failed[, N skipped]" from vitest's JSON report.
// Exits 1 with a message when the report is missing or unreadable, so .ci/run can never
// print counts that are not this run's (it deletes the report before running the tests).
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-results.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (error) {
  console.error(`no test report at ${path} (${error.message}): the tests did not run to the end`);
  process.exit(1);
}
const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = report;
if (![passed, failed].every(Number.isInteger)) {
  console.error(`${path} is not a vitest JSON report`);
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
