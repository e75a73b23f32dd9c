import { isIP, type LookupFunction } from 'node:net';
import { connect, type ConnectionOptions, type PeerCertificate } from 'node:tls';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsTarget {
  host: string;
  port: number;
  timeoutMs: number;
  lookup?: LookupFunction | undefined;
}

export interface Handshake {
  protocol: string | null;
  /** Chains to a trusted CA (the system's, plus NODE_EXTRA_CA_CERTS) and names the host. */
  trusted: boolean;
  /** Why it is not trusted: the OpenSSL code or the name mismatch. */
  untrustedBecause?: string;
  notAfter: Date;
}

function options(target: TlsTarget, extra: ConnectionOptions): ConnectionOptions {
  // SNI carries host names only; an IP address there is a protocol error some servers reject.
  return { host: target.host, port: target.port, ...(isIP(target.host) ? {} : { servername: target.host }), rejectUnauthorized: false, timeout: target.timeoutMs, ...(target.lookup ? { lookup: target.lookup } : {}), ...extra };
}

function handshake(target: TlsTarget, extra: ConnectionOptions): Promise<{ protocol: string | null; authorized: boolean; authorizationError?: string; certificate: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = connect(options(target, extra), () => {
      const result = { protocol: socket.getProtocol(), authorized: socket.authorized, certificate: socket.getPeerCertificate(), ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}) };
      socket.destroy();
      resolve(result);
    });
    socket.on('timeout', () => socket.destroy(Object.assign(new Error(`no TLS handshake within ${target.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    socket.on('error', reject);
  });
}

/** The handshake a browser would make: the best version both sides allow, the certificate checked. */
export async function inspectCertificate(target: TlsTarget): Promise<Handshake> {
  const { protocol, authorized, authorizationError, certificate } = await handshake(target, {});
  // Node checks the chain and the host name (ERR_TLS_CERT_ALTNAME_INVALID) in one verdict.
  return {
    protocol,
    trusted: authorized,
    ...(authorized ? {} : { untrustedBecause: authorizationError ?? 'not verified' }),
    notAfter: new Date(certificate.valid_to),
  };
}

/**
 * Whether the server completes a handshake at exactly `version`. Legacy versions need
 * OpenSSL's security level 0 on our side, or we would refuse them ourselves and call the
 * server safe.
 */
export async function acceptsVersion(target: TlsTarget, version: TlsVersion): Promise<boolean> {
  try {
    await handshake(target, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' });
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    // A refused version shows as a TLS alert or a reset, depending on the server; an unreachable one must not pass as "refused".
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT') throw error;
    return false;
  }
}
