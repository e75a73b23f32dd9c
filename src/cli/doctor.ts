import { isIP } from 'node:net';
import { unsafeSettingList } from '../config/production-guard.js';
import { whyNotScheduled } from '../ops/backup/backup-settings.js';
import { alertingFindings } from '../ops/doctor/alerting-checks.js';
import { backupFindings, type BackupMetrics } from '../ops/doctor/backup-checks.js';
import { productionGuardFindings, secretFindings, settingFindings } from '../ops/doctor/config-checks.js';
import { DOCS, type Finding } from '../ops/doctor/finding.js';
import { probe, probeFailure, type PinnedAddress } from '../ops/doctor/http-probe.js';
import { liveFindings } from '../ops/doctor/live-checks.js';
import { doctorReport, formatReport } from '../ops/doctor/report.js';
import { DataDirInUse } from '../platform/db/data-dir-lock.js';
import { failureReason } from '../platform/secrets/secret-store.js';
import { CliExit, EXIT, loadRuntime, type Runtime } from './bootstrap.js';
import { auditSecretAges } from './secrets-audit.js';

export interface DoctorOptions {
  config?: boolean;
  httpUrl?: string;
  apiPath: string;
  deployDir: string;
  metricsUrl?: string;
  timeout: string;
  resolve?: string;
  json?: boolean;
}

interface Audit {
  findings: Finding[];
  checked: string[];
}

/**
 * `rampart doctor [URL] [--config]`: the seeds' go-live checklists as one scored audit. With a
 * URL, what an outsider sees over the network; with --config (or no URL), the configuration
 * this environment gives `rampart serve`. Exit 1 on any critical finding, 2 on bad usage.
 */
export async function doctorCommand(url: string | undefined, options: DoctorOptions, out: NodeJS.WritableStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const target = url === undefined ? undefined : webAddress(url, 'URL');
  const httpUrl = options.httpUrl === undefined ? undefined : webAddress(options.httpUrl, '--http-url');
  const metricsUrl = options.metricsUrl === undefined ? undefined : webAddress(options.metricsUrl, '--metrics-url');
  const timeoutMs = Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw usage(`--timeout must be a whole number of milliseconds, not "${options.timeout}"`);
  if (!options.apiPath.startsWith('/')) throw usage(`--api-path must start with "/", not "${options.apiPath}"`);
  const resolve = options.resolve === undefined ? undefined : pinnedAddress(options.resolve);

  const now = new Date();
  const audits: Audit[] = [];
  if (target) audits.push(await liveFindings({ url: target, httpUrl, apiPath: options.apiPath, timeoutMs, now, resolve }));
  const withConfig = options.config === true || target === undefined;
  if (withConfig) audits.push(await configAudit(env, { deployDir: options.deployDir, metricsUrl, timeoutMs }, now));

  const report = doctorReport({ ...(target ? { url: target.href } : {}), ...(withConfig ? { config: true } : {}) }, audits.flatMap((a) => a.checked), audits.flatMap((a) => a.findings), now);
  out.write(`${options.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  if (report.counts.critical > 0) throw new CliExit(EXIT.failure, []);
}

function usage(message: string): CliExit {
  return new CliExit(EXIT.badConfig, [`rampart doctor: ${message}`]);
}

function webAddress(value: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw usage(`${what} "${value}" is not a URL (e.g. https://api.example.com)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw usage(`${what} "${value}" is not an http(s) URL`);
  return parsed;
}

/** `--resolve HOST:ADDRESS` (curl's form without the port; an IPv6 address keeps its colons). */
function pinnedAddress(value: string): PinnedAddress {
  const colon = value.indexOf(':');
  const host = value.slice(0, colon);
  const address = value.slice(colon + 1).replace(/^\[|\]$/g, '');
  if (colon < 1 || isIP(address) === 0) throw usage(`--resolve takes HOST:ADDRESS (api.example.com:203.0.113.7), not "${value}"`);
  return { host, address };
}

/** The configuration exactly as `rampart serve` would load it, but reported rather than refused. */
async function configAudit(env: NodeJS.ProcessEnv, options: { deployDir: string; metricsUrl: URL | undefined; timeoutMs: number }, now: Date): Promise<Audit> {
  const checked = ['configuration', 'production-guard', 'settings', 'secret-ages', 'backups', 'alerting'];
  let runtime: Runtime;
  try {
    runtime = await loadRuntime(env, { missingSecrets: 'report' });
  } catch (error) {
    if (!(error instanceof CliExit)) throw error;
    // What serve would print and stop on: each of its lines a finding, nothing else can be judged.
    const invalid = error.code === EXIT.badConfig;
    return {
      checked: ['configuration'],
      findings: error.lines.slice(1).map((line) => ({
        id: invalid ? 'config-invalid' : 'secrets-unavailable',
        severity: 'critical' as const,
        message: line.trim(),
        fix: invalid ? 'correct the setting (rampart config checks it the way serve does)' : 'give Rampart access to the provider (IAM policy, file permissions) and check the path',
        docs: invalid ? DOCS.configuration : DOCS.secrets,
      })),
    };
  }
  const { config, secrets } = runtime;
  const audit = await auditSecretAges(runtime, now);
  const findings = [
    ...productionGuardFindings(config, unsafeSettingList(config)),
    ...settingFindings(config),
    ...secretFindings(config, {
      rows: audit.rows,
      unchecked: audit.unchecked,
      uncheckedBecause: audit.failure instanceof DataDirInUse ? `embedded database in use by pid ${audit.failure.pid}` : audit.failure === undefined ? undefined : `database unavailable: ${failureReason(audit.failure)}`,
      sources: secrets.all().map((s) => ({ key: s.key, source: s.source })),
    }),
    ...backupFindings({
      production: config.env === 'production',
      notScheduled: whyNotScheduled(config) ?? (config.backupSchedule === 'off' ? 'BACKUP_SCHEDULE is off' : undefined),
      maxAgeS: config.backupMaxAgeS,
      verifyMaxAgeS: config.backupVerifyMaxAgeS,
    }, await backupMetrics(options.metricsUrl ?? defaultMetricsUrl(config.host, config.metricsPort), options.timeoutMs), now),
    ...(await alertingFindings(options.deployDir)),
  ];
  return { findings, checked };
}

function defaultMetricsUrl(host: string, port: number): URL | string {
  if (port === 0) return 'METRICS_PORT=0 (a random port)';
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new URL(`http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/metrics`);
}

async function backupMetrics(source: URL | string, timeoutMs: number): Promise<BackupMetrics> {
  if (typeof source === 'string') return { reachable: false, url: 'the metrics port', because: source };
  try {
    const answer = await probe(source, { timeoutMs, maxBodyBytes: 8 * 1024 * 1024 });
    return answer.status === 200 ? { reachable: true, text: answer.body } : { reachable: false, url: source.href, because: `HTTP ${answer.status}` };
  } catch (error) {
    return { reachable: false, url: source.href, because: probeFailure(error) };
  }
}
