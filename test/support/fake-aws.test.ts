import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from './fake-aws.js';

// The fake must behave like SSM where Rampart's tests rely on it, or they prove nothing.
describe('fake AWS endpoint, through the real SDK', () => {
  let aws: FakeAws;
  let client: SSMClient;
  beforeEach(async () => {
    aws = await startFakeAws();
    client = new SSMClient({ endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' }, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await aws.close();
  });

  it('returns SecureStrings encrypted-looking unless WithDecryption is set', async () => {
    aws.putParameter('/p/secret', 'plain-value');
    const hidden = await client.send(new GetParametersByPathCommand({ Path: '/p/', WithDecryption: false }));
    expect(hidden.Parameters![0]!.Value).not.toBe('plain-value');
    expect(hidden.Parameters![0]!.Value).toMatch(/^AQICAH/);
    const shown = await client.send(new GetParameterCommand({ Name: '/p/secret', WithDecryption: true }));
    expect(shown.Parameter!.Value).toBe('plain-value');
  });

  it('answers ParameterNotFound, throttles on request, and drops connections while down', async () => {
    await expect(client.send(new GetParameterCommand({ Name: '/p/missing' }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
    aws.throttleNext(1);
    await expect(client.send(new GetParametersByPathCommand({ Path: '/p/' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    aws.setDown(true);
    await expect(client.send(new GetParametersByPathCommand({ Path: '/p/' }))).rejects.toThrow();
    aws.setDown(false);
    await expect(client.send(new GetParametersByPathCommand({ Path: '/p/' }))).resolves.toMatchObject({ Parameters: [] });
  });

  it('pages with NextToken and never more than MaxResults', async () => {
    for (let i = 0; i < 12; i++) aws.putParameter(`/p/k${String(i).padStart(2, '0')}`, `v${i}`);
    const first = await client.send(new GetParametersByPathCommand({ Path: '/p/', MaxResults: 5 }));
    expect(first.Parameters).toHaveLength(5);
    expect(first.NextToken).toBeTruthy();
    const second = await client.send(new GetParametersByPathCommand({ Path: '/p/', MaxResults: 5, NextToken: first.NextToken }));
    expect(second.Parameters![0]!.Name).toBe('/p/k05');
  });
});
