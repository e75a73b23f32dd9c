import { SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../../../test/support/fake-aws.js';
import { ssmProvider } from './ssm-provider.js';

const KNOWN = new Set(Array.from({ length: 30 }, (_, i) => `KEY_${i}`).concat(['APP_SECRET']));

describe('SSM provider against the AWS JSON protocol (real SDK client)', () => {
  let aws: FakeAws;
  let client: SSMClient;
  beforeEach(async () => {
    aws = await startFakeAws({ pageSize: 4 });
    client = new SSMClient({ endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' }, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await aws.close();
  });

  it('reads every parameter under the path across pages, decrypted, mapping names to keys', async () => {
    for (let i = 0; i < 27; i++) aws.putParameter(`/rampart/production/key_${i}`, `value-${i}`);
    aws.putParameter('/rampart/production/nested/app_secret', 'the-app-secret');
    aws.putParameter('/rampart/staging/key_1', 'wrong-environment');
    aws.putParameter('/rampart/production/not_ours', 'ignored');
    const loaded = await ssmProvider({ path: '/rampart/production/', known: KNOWN, client }).load();
    expect(loaded.size).toBe(28);
    expect(loaded.get('KEY_26')).toMatchObject({ value: 'value-26', version: '1' });
    expect(loaded.get('APP_SECRET')?.value).toBe('the-app-secret');
    expect(loaded.get('KEY_1')?.value).toBe('value-1');
    // 29 parameters under the path at 4 per page.
    expect(aws.calls['AmazonSSM.GetParametersByPath']).toBe(8);
  });

  it('waits out throttling on the first calls, then loads', async () => {
    aws.putParameter('/rampart/production/app_secret', 'the-app-secret');
    aws.throttleNext(3);
    const loaded = await ssmProvider({ path: '/rampart/production', known: KNOWN, client, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 50 } }).load();
    expect(loaded.get('APP_SECRET')?.value).toBe('the-app-secret');
    expect(aws.calls['AmazonSSM.GetParametersByPath']).toBe(4);
  });

  it('fails with the throttling error once the attempts are spent', async () => {
    aws.throttleNext(10);
    const error = await ssmProvider({ path: '/rampart/production/', known: KNOWN, client, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } }).load().catch((e: unknown) => e);
    expect((error as Error).name).toBe('ThrottlingException');
    expect(aws.calls['AmazonSSM.GetParametersByPath']).toBe(3);
  });

  it('writes a rotated value as an overwritten SecureString with a new version', async () => {
    aws.putParameter('/rampart/production/app_secret', 'first');
    const provider = ssmProvider({ path: '/rampart/production/', known: KNOWN, client });
    await provider.load();
    expect(await provider.write!('APP_SECRET', 'second')).toEqual({ version: '2' });
    expect(aws.parameter('/rampart/production/app_secret')).toEqual({ value: 'second', version: 2 });
    expect((await provider.load()).get('APP_SECRET')).toMatchObject({ value: 'second', version: '2' });
  });
});
