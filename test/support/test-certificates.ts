import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestAuthority {
  caPem: string;
  /**
   * A server certificate signed by this authority for `names` (DNS names, or IP addresses, in
   * subjectAltName), valid for `days` (2 by default).
   */
  issue(names: readonly string[], options?: { days?: number | undefined }): Promise<{ certPem: string; keyPem: string }>;
}

/** A throwaway certificate authority, made with the openssl CLI (EC P-256 keys). */
export async function createTestAuthority(commonName: string): Promise<TestAuthority> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-ca-'));
  try {
    const caKey = path.join(dir, 'ca.key');
    const caCert = path.join(dir, 'ca.crt');
    // Longer than any certificate it issues, so a test of a certificate's own expiry sees only that.
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '365', '-subj', `/CN=${commonName}`]);
    const [caPem, caKeyPem] = await Promise.all([readFile(caCert, 'utf8'), readFile(caKey, 'utf8')]);
    return {
      caPem,
      async issue(names, options = {}) {
        const work = await mkdtemp(path.join(os.tmpdir(), 'rampart-cert-'));
        try {
          const [key, csr, cert, ext, ca, caK] = ['server.key', 'server.csr', 'server.crt', 'ext.cnf', 'ca.crt', 'ca.key'].map((name) => path.join(work, name)) as [string, string, string, string, string, string];
          await Promise.all([writeFile(ca, caPem), writeFile(caK, caKeyPem, { mode: 0o600 }), writeFile(ext, `subjectAltName = ${names.map((n) => `${isIP(n) ? 'IP' : 'DNS'}:${n}`).join(',')}\n`)]);
          await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${names[0]}`]);
          await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caK, '-CAcreateserial', '-out', cert, '-days', String(options.days ?? 2), '-extfile', ext]);
          const [certPem, keyPem] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
          return { certPem, keyPem };
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
