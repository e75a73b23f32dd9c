// Regenerates the README's observability sections (metrics catalogue, alert list, dashboards)
// from the sources; test/infra/observability-docs.test.ts fails when they differ. Run after
// `npm run build`: `npm run observability:generate`.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alertListMarkdown, dashboardsMarkdown, loadAlertRules, metricsCatalogueMarkdown, withSection } from '../dist/src/ops/observability/observability-docs.js';
import { parseSloSpec } from '../dist/src/ops/slo/slo-spec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const specFile = 'deploy/slo/rampart.slo.yaml';
const spec = parseSloSpec(readFileSync(path.join(root, specFile), 'utf8'), specFile);
const readmeFile = path.join(root, 'README.md');
let readme = readFileSync(readmeFile, 'utf8');
readme = withSection(readme, 'metrics-catalogue', metricsCatalogueMarkdown());
readme = withSection(readme, 'alert-list', alertListMarkdown(loadAlertRules(path.join(root, 'deploy/prometheus'))));
readme = withSection(readme, 'dashboards', dashboardsMarkdown(spec));
writeFileSync(readmeFile, readme);
console.log('README.md: observability sections regenerated');
