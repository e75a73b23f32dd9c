import { spawn } from 'node:child_process';
import { runSmoke } from '../smoke/smoke-checks.js';
import { commandFor, type Colour, type DeployFile } from './deploy-file.js';
import { fetchRequestCounts } from './error-rate.js';
import { addressOf, liveColour, readUpstreams, renderUpstreams, writeUpstreamsAtomically } from './upstream-file.js';

export interface MigrationGate {
  /** Pending migrations, each with whether it is marked not backward compatible. */
  pending(): Promise<Array<{ name: string; breaking: boolean }>>;
  apply(): Promise<string[]>;
}

export interface DeployOptions {
  file: DeployFile;
  /** Run migrations marked not backward compatible even while the old colour serves. */
  allowBreakingMigrations: boolean;
  migrations?: MigrationGate;
  /** The pre-deploy backup command when the deploy file names none (`rampart backup --label pre-deploy`). */
  defaultBackup: string;
  env: NodeJS.ProcessEnv;
  log(line: string): void;
}

export interface DeployOutcome {
  ok: boolean;
  from?: Colour;
  to: Colour;
  /** Why the deploy stopped (and was rolled back, when it had started anything). */
  reason?: string;
  rolledBack: boolean;
}

class DeployFailed extends Error {}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Blue-green on one host: start the idle colour, gate on readiness and smoke, switch the proxy's
 * upstream file, watch the error rate, then stop the old colour. Any gate failing puts the
 * upstream back, stops the new colour and resolves with the reason.
 */
export async function deployBlueGreen(options: DeployOptions): Promise<DeployOutcome> {
  const { file, log } = options;
  const before = await readUpstreams(file.proxy.upstreamFile);
  const from = liveColour(before, file);
  const to: Colour = from === 'blue' ? 'green' : 'blue';
  const target = file.colours[to];
  const targetAddress = addressOf(file.host, target.port);
  const run = (command: string) => runShell(command, options.env);
  log(`deploy: ${to} on ${targetAddress}${from ? `, replacing ${from} on ${addressOf(file.host, file.colours[from].port)}` : ' (no colour is live yet)'}`);

  let started = false;
  let switched = false;
  try {
    // A first deploy has nothing live to protect (and `rampart backup` refuses an empty database).
    const backup = file.backup === false ? undefined : (file.backup ?? (from ? options.defaultBackup : undefined));
    if (backup) {
      log(`backup: ${backup}`);
      await run(backup).catch((err: Error) => { throw new DeployFailed(`pre-deploy backup failed: ${err.message}`); });
    } else {
      log(file.backup === false ? 'backup: WARNING skipped (the deploy file sets "backup": false)' : 'backup: none, no colour is live yet');
    }

    if (file.migrate && options.migrations) {
      const pending = await options.migrations.pending();
      const breaking = pending.filter((m) => m.breaking).map((m) => m.name);
      if (breaking.length > 0 && from && !options.allowBreakingMigrations) {
        throw new DeployFailed(`refused: migration ${breaking.join(', ')} is marked not backward compatible and ${from} still serves on the old schema; deploy a compatible step first, or pass --allow-breaking-migrations`);
      }
      // Kysely's failures already say which migration failed and why.
      const applied = await options.migrations.apply().catch((err: Error) => { throw new DeployFailed(err.message); });
      log(`migrations: ${applied.length === 0 ? 'none pending' : `applied ${applied.join(', ')}`}`);
    }

    // Whatever a failed earlier deploy left on the idle colour goes first.
    await run(commandFor(target.stop, to, target)).catch(() => undefined);
    await waitForPortToClose(file.host, target.port, 30_000);
    log(`start: ${commandFor(target.start, to, target)}`);
    started = true;
    await run(commandFor(target.start, to, target)).catch((err: Error) => { throw new DeployFailed(`starting ${to} failed: ${err.message}`); });

    const baseUrl = `http://${targetAddress}`;
    const readiness = await waitForReadiness(`${baseUrl}/readiness`, file.readinessTimeoutS * 1000);
    if (!readiness.ready) throw new DeployFailed(`${to} did not become ready within ${file.readinessTimeoutS} s (${readiness.last})`);
    log(`readiness: ${to} ready`);

    const smoke = await runSmoke({ url: baseUrl, skip: file.smoke.skip, apiKey: file.smoke.apiKeyEnv ? options.env[file.smoke.apiKeyEnv] : undefined, workerTimeoutMs: file.smoke.workerTimeoutS * 1000 });
    const failed = smoke.filter((c) => c.status === 'fail');
    if (failed.length > 0) throw new DeployFailed(`smoke failed on ${to}: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
    log(`smoke: ${smoke.filter((c) => c.status === 'pass').length} checks passed`);

    const baseline = target.metricsPort ? await fetchRequestCounts(`http://${addressOf(file.host, target.metricsPort)}/metrics`) : undefined;
    await switchUpstreams(file, renderUpstreams(file.proxy.kind, targetAddress), run);
    switched = true;
    log(`switch: ${file.proxy.upstreamFile} → ${targetAddress}, proxy reloaded`);

    await watchErrorRate(file, to, baseline, log);

    if (from) {
      if (file.drainS > 0) await sleep(file.drainS * 1000);
      const old = file.colours[from];
      await run(commandFor(old.stop, from, old)).then(
        () => log(`stop: ${from} stopped (it drains its open requests before exiting)`),
        (err: Error) => log(`stop: WARNING stopping ${from} failed (${err.message}); stop it by hand`),
      );
    }
    log(`deployed: ${to} is live`);
    return { ok: true, from, to, rolledBack: false };
  } catch (err) {
    if (!(err instanceof DeployFailed)) throw err;
    log(`FAILED: ${err.message}`);
    if (switched) {
      await switchUpstreams(file, before, run).then(
        () => log(`rollback: ${file.proxy.upstreamFile} restored${from ? `, ${from} serves again` : ''}`),
        (restoreErr: Error) => log(`rollback: WARNING could not restore the upstream file (${restoreErr.message})`),
      );
    }
    if (started) {
      await run(commandFor(target.stop, to, target)).then(
        () => log(`rollback: ${to} stopped`),
        (stopErr: Error) => log(`rollback: WARNING stopping ${to} failed (${stopErr.message})`),
      );
    }
    return { ok: false, from, to, reason: err.message, rolledBack: started || switched };
  }
}

async function switchUpstreams(file: DeployFile, text: string, run: (command: string) => Promise<string>): Promise<void> {
  await writeUpstreamsAtomically(file.proxy.upstreamFile, text);
  if (file.proxy.check) await run(file.proxy.check).catch((err: Error) => { throw new DeployFailed(`the proxy refused its configuration: ${err.message}`); });
  await run(file.proxy.reload).catch((err: Error) => { throw new DeployFailed(`reloading the proxy failed: ${err.message}`); });
}

async function watchErrorRate(file: DeployFile, colour: Colour, baseline: Awaited<ReturnType<typeof fetchRequestCounts>>, log: (line: string) => void): Promise<void> {
  const { seconds, maxErrorRate, minRequests } = file.watch;
  const metricsPort = file.colours[colour].metricsPort;
  if (seconds === 0) return;
  if (!metricsPort || !baseline) {
    log(`watch: WARNING no error rate for ${colour} (${metricsPort ? 'its metrics port did not answer' : 'no metricsPort in the deploy file'}); waiting ${seconds} s without it`);
    await sleep(seconds * 1000);
    return;
  }
  const url = `http://${addressOf(file.host, metricsPort)}/metrics`;
  const until = Date.now() + seconds * 1000;
  let last = { total: 0, errors: 0 };
  while (Date.now() < until) {
    await sleep(Math.min(1_000, Math.max(0, until - Date.now())));
    const now = await fetchRequestCounts(url);
    if (!now) throw new DeployFailed(`${colour}'s metrics port stopped answering during the first ${seconds} s`);
    last = { total: now.total - baseline.total, errors: now.errors - baseline.errors };
    if (last.total >= minRequests && last.errors / last.total > maxErrorRate) {
      throw new DeployFailed(`error rate on ${colour} ${((100 * last.errors) / last.total).toFixed(1)} % (${last.errors} of ${last.total} requests answered 5xx) over the ${(maxErrorRate * 100).toFixed(1)} % limit`);
    }
  }
  log(`watch: ${last.errors} of ${last.total} requests answered 5xx in the first ${seconds} s`);
}

async function waitForReadiness(url: string, timeoutMs: number): Promise<{ ready: boolean; last: string }> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000), headers: { 'x-forwarded-proto': 'https' } });
      if (res.status === 200) return { ready: true, last: '200' };
      last = `readiness ${res.status}`;
    } catch (err) {
      last = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    }
    await sleep(500);
  }
  return { ready: false, last };
}

async function waitForPortToClose(host: string, port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      await fetch(`http://${addressOf(host, port)}/health`, { signal: AbortSignal.timeout(1_000) });
    } catch {
      return;
    }
    await sleep(250);
  }
  throw new DeployFailed(`port ${port} is still in use ${timeoutMs / 1000} s after stopping the idle colour`);
}

/** `sh -c COMMAND`; resolves with its output, rejects with the end of it on a non-zero exit. */
function runShell(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    child.on('error', reject);
    // 'exit', not 'close': a started service may keep the inherited pipes open.
    child.on('exit', (code) => {
      child.stdout.destroy();
      child.stderr.destroy();
      const tail = output.trim().split('\n').slice(-3).join(' | ');
      if (code === 0) resolve(output);
      else reject(new Error(`\`${command}\` exited ${code}${tail ? `: ${tail}` : ''}`));
    });
  });
}
