import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { outageSwitch } from './outage-switch.js';

/**
 * A local stand-in for AWS SSM Parameter Store and Secrets Manager, speaking the AWS JSON 1.1
 * protocol the real SDK clients use (`X-Amz-Target`), so tests run the genuine
 * `@aws-sdk/client-ssm` / `client-secrets-manager` against it through
 * `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Signatures are not checked.
 */
export interface FakeAws {
  url: string;
  /** Env for a process whose AWS SDK should talk to this server. */
  env: Record<string, string>;
  /** `modified` backdates the parameter (for age audits). */
  putParameter(name: string, value: string, type?: 'String' | 'SecureString', modified?: Date): void;
  /** A new AWSCURRENT version of a secret (the old one becomes AWSPREVIOUS). */
  putSecret(id: string, value: string | Record<string, string>): void;
  parameter(name: string): { value: string; version: number } | undefined;
  secret(id: string, stage?: 'AWSCURRENT' | 'AWSPREVIOUS'): string | undefined;
  /** The next `n` calls (of any kind) answer ThrottlingException. */
  throttleNext(n: number): void;
  /** While down, every connection is destroyed without an answer. */
  setDown(down: boolean): void;
  /** Calls received per X-Amz-Target, throttled and refused ones included. */
  calls: Record<string, number>;
  pageSize: number;
  close(): Promise<void>;
}

interface ParameterRecord { value: string; type: string; version: number; modified: Date }
interface SecretVersion { id: string; value: string; created: Date; stages: string[] }

export async function startFakeAws(options: { pageSize?: number } = {}): Promise<FakeAws> {
  const parameters = new Map<string, ParameterRecord>();
  const secrets = new Map<string, SecretVersion[]>();
  const calls: Record<string, number> = {};
  let throttled = 0;

  const fake: FakeAws = {
    url: '',
    env: {},
    pageSize: options.pageSize ?? 10,
    calls,
    putParameter(name, value, type = 'SecureString', modified = new Date()) {
      const previous = parameters.get(name);
      parameters.set(name, { value, type, version: (previous?.version ?? 0) + 1, modified });
    },
    putSecret(id, value) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      stageNewVersion(id, text);
    },
    parameter: (name) => {
      const p = parameters.get(name);
      return p && { value: p.value, version: p.version };
    },
    secret: (id, stage = 'AWSCURRENT') => secrets.get(id)?.find((v) => v.stages.includes(stage))?.value,
    throttleNext(n) {
      throttled = n;
    },
    setDown: (value) => outage.setDown(value),
    close: () => outage.close(),
  };

  function stageNewVersion(id: string, text: string): SecretVersion {
    const versions = secrets.get(id) ?? [];
    for (const v of versions) v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    const version = { id: randomUUID(), value: text, created: new Date(), stages: ['AWSCURRENT'] };
    versions.push(version);
    secrets.set(id, versions);
    return version;
  }

  const epoch = (d: Date) => d.getTime() / 1000;
  // What SSM returns for a SecureString read without decryption: ciphertext, not the value.
  const encryptedLooking = (value: string) => `AQICAH${Buffer.from(`kms:${value.length}:${randomUUID()}`).toString('base64')}`;

  type Answer = { status: number; body: Record<string, unknown> };
  const error = (status: number, type: string, message: string): Answer => ({ status, body: { __type: type, message } });

  const handlers: Record<string, (input: Record<string, unknown>) => Answer> = {
    'AmazonSSM.GetParametersByPath'(input) {
      const path = String(input.Path ?? '/');
      const recursive = input.Recursive === true;
      const decrypt = input.WithDecryption === true;
      const max = Math.min(Number(input.MaxResults ?? 10), fake.pageSize);
      if (max > 10) return error(400, 'ValidationException', 'MaxResults must be ≤ 10');
      const matching = [...parameters.keys()].sort().filter((name) => name.startsWith(path) && (recursive || !name.slice(path.length).includes('/')));
      const start = input.NextToken ? Number(Buffer.from(String(input.NextToken), 'base64url').toString()) : 0;
      if (!Number.isInteger(start)) return error(400, 'InvalidNextToken', 'The specified token is not valid.');
      const page = matching.slice(start, start + max).map((name) => {
        const p = parameters.get(name)!;
        return { Name: name, Type: p.type, Value: p.type === 'SecureString' && !decrypt ? encryptedLooking(p.value) : p.value, Version: p.version, LastModifiedDate: epoch(p.modified), DataType: 'text' };
      });
      const next = start + max < matching.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
      return { status: 200, body: { Parameters: page, ...(next ? { NextToken: next } : {}) } };
    },
    'AmazonSSM.GetParameter'(input) {
      const name = String(input.Name);
      const p = parameters.get(name);
      if (!p) return error(400, 'ParameterNotFound', `Parameter ${name} not found.`);
      const value = p.type === 'SecureString' && input.WithDecryption !== true ? encryptedLooking(p.value) : p.value;
      return { status: 200, body: { Parameter: { Name: name, Type: p.type, Value: value, Version: p.version, LastModifiedDate: epoch(p.modified) } } };
    },
    'AmazonSSM.PutParameter'(input) {
      const name = String(input.Name);
      if (parameters.has(name) && input.Overwrite !== true) return error(400, 'ParameterAlreadyExists', 'The parameter already exists.');
      fake.putParameter(name, String(input.Value), (input.Type as 'String' | 'SecureString') ?? 'String');
      return { status: 200, body: { Version: parameters.get(name)!.version, Tier: 'Standard' } };
    },
    'secretsmanager.GetSecretValue'(input) {
      const id = String(input.SecretId);
      const stage = String(input.VersionStage ?? 'AWSCURRENT');
      const version = secrets.get(id)?.find((v) => (input.VersionId ? v.id === input.VersionId : v.stages.includes(stage)));
      if (!version) return error(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return { status: 200, body: { ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}`, Name: id, VersionId: version.id, SecretString: version.value, VersionStages: version.stages, CreatedDate: epoch(version.created) } };
    },
    'secretsmanager.PutSecretValue'(input) {
      const id = String(input.SecretId);
      if (!secrets.has(id)) return error(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      const version = stageNewVersion(id, String(input.SecretString));
      return { status: 200, body: { ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}`, Name: id, VersionId: version.id, VersionStages: version.stages } };
    },
    'secretsmanager.DescribeSecret'(input) {
      const id = String(input.SecretId);
      const versions = secrets.get(id);
      if (!versions) return error(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      const last = versions.at(-1)!;
      return { status: 200, body: { Name: id, LastChangedDate: epoch(last.created), VersionIdsToStages: Object.fromEntries(versions.filter((v) => v.stages.length > 0).map((v) => [v.id, v.stages])) } };
    },
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      calls[target] = (calls[target] ?? 0) + 1;
      if (outage.isDown()) {
        req.socket.destroy();
        return;
      }
      let answer: Answer;
      if (throttled > 0) {
        throttled--;
        answer = error(400, 'ThrottlingException', 'Rate exceeded');
      } else {
        const handler = handlers[target];
        const input = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
        answer = handler ? handler(input) : error(400, 'UnknownOperationException', `fake-aws does not implement ${target}`);
      }
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(answer.body));
    });
  });
  const outage = outageSwitch(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  fake.env = {
    AWS_ENDPOINT_URL_SSM: fake.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    // No shared config files or instance metadata: the chain stops at the env credentials.
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return fake;
}
