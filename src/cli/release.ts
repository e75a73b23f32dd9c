import { ConfigError, loadConfig } from '../config/load.js';
import { packageRoot } from '../package-info.js';
import { publishRelease, releaseFiles, SentryApiError, type ReleaseFile } from '../ops/release/sentry-release.js';
import { releaseName } from '../wiring/error-reports.js';
import { CliExit, EXIT } from './bootstrap.js';

export interface ReleaseOptions {
  json?: boolean;
}

/**
 * `rampart release [--json]`: prints the release name error reports carry. With
 * SENTRY_AUTH_TOKEN (and SENTRY_ORG, SENTRY_PROJECT) it creates that release in Sentry and
 * uploads the bundle's source maps; without it, says what it would do and exits 0. Reads the
 * environment only: no secrets chain, no database, nothing written.
 */
export async function releaseCommand(options: ReleaseOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(EXIT.badConfig, ['rampart: invalid configuration', ...err.problems.map((p) => `  ${p}`)]);
    throw err;
  }
  const release = releaseName(config);
  const token = config.sentryAuthToken;
  if (token !== undefined) {
    const missing = [['SENTRY_ORG', config.sentryOrg], ['SENTRY_PROJECT', config.sentryProject]].filter(([, value]) => value === undefined).map(([name]) => name!);
    if (missing.length > 0) throw new CliExit(EXIT.badConfig, [`rampart: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required with SENTRY_AUTH_TOKEN`]);
  }
  const files = await releaseFiles(packageRoot).catch(() => [] as ReleaseFile[]);
  if (!files.some((file) => file.name.endsWith('.map'))) throw new CliExit(EXIT.failure, ['rampart: no source maps under dist/; run `npm run build` first']);
  const summary = {
    release,
    sentry_url: config.sentryUrl,
    org: config.sentryOrg ?? null,
    project: config.sentryProject ?? null,
    files: files.map(({ name, bytes }) => ({ name, bytes })),
  };
  const megabytes = (files.reduce((sum, file) => sum + file.bytes, 0) / 1_048_576).toFixed(1);

  if (token === undefined) {
    if (options.json) out.write(`${JSON.stringify({ ...summary, published: false }, null, 2)}\n`);
    else out.write(`${release}\nSENTRY_AUTH_TOKEN is not set: nothing sent. With it (and SENTRY_ORG, SENTRY_PROJECT), this would create release ${release} in ${config.sentryUrl} and upload ${files.length} files (${megabytes} MB) from dist/ as app:///dist/…\n`);
    return;
  }
  try {
    await publishRelease({ url: config.sentryUrl, token, org: config.sentryOrg!, project: config.sentryProject! }, release, files, (file) => {
      if (!options.json) process.stderr.write(`  uploaded ${file.name}\n`);
    });
  } catch (err) {
    if (err instanceof SentryApiError) throw new CliExit(EXIT.failure, [`rampart: Sentry release failed while ${err.message}`]);
    throw err;
  }
  if (options.json) out.write(`${JSON.stringify({ ...summary, published: true }, null, 2)}\n`);
  else out.write(`${release}\ncreated release ${release} in ${config.sentryOrg}/${config.sentryProject} and uploaded ${files.length} files (${megabytes} MB)\n`);
}
