import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('--blobs / GAZO_BLOBS', () => {
  it('defaults to the folder under the data dir', () => {
    expect(loadConfig({}, {}).blobs).toEqual({ kind: 'folder' });
    expect(loadConfig({}, { GAZO_BLOBS: '' }).blobs).toEqual({ kind: 'folder' });
  });

  it('reads an s3:// URL: bucket, key prefix, endpoint, region; credentials from AWS_*', () => {
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'eu-west-1',
    };
    const fromEnv = loadConfig({}, { ...env, GAZO_BLOBS: 's3://gazo-images?endpoint=http://127.0.0.1:9000' });
    expect(fromEnv.blobs).toEqual({
      kind: 's3',
      location: {
        bucket: 'gazo-images',
        prefix: '',
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9000',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      },
    });
    // The flag wins over the environment; the URL's region over AWS_REGION.
    const flag = loadConfig(
      { blobs: 's3://other/team/gazo/?region=ap-northeast-1&presign=1' },
      { ...env, GAZO_BLOBS: 's3://gazo-images' },
    );
    expect(flag.blobs).toMatchObject({
      kind: 's3',
      location: { bucket: 'other', prefix: 'team/gazo/', region: 'ap-northeast-1' },
      presignSeconds: 900,
    });
    // Without AWS_* keys the SDK's own chain (profiles, instance roles) is used.
    expect(loadConfig({ blobs: 's3://gazo-images' }, {}).blobs).toEqual({
      kind: 's3',
      location: { bucket: 'gazo-images', prefix: '', region: 'us-east-1' },
    });
  });

  it('never repeats a secret written into a wrong URL', () => {
    for (const value of [
      'https://AKID:hunter2secret@s3.example.com/bucket',
      'minio://AKID:hunter2secret@host',
      's3://bucket?endpoint=minio://AKID:hunter2secret@host',
    ]) {
      expect(() => loadConfig({ blobs: value }, {})).toThrow(ConfigError);
      expect(() => loadConfig({ blobs: value }, {})).not.toThrow('hunter2secret');
    }
  });

  it.each([
    ['/var/lib/gazo', 's3://'],
    ['s3://Bad_Bucket', 'not an S3 bucket name'],
    ['s3://key:secret@bucket', 'must not carry credentials'],
    ['s3://bucket?endpiont=http://x', 'unknown option "endpiont"'],
    ['s3://bucket?endpoint=127.0.0.1:9000', 'endpoint must be an http(s) URL'],
    ['s3://bucket?presign=yes', 'presign must be 1 or 0'],
  ])('refuses %s with a clear message', (value, message) => {
    expect(() => loadConfig({ blobs: value }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ blobs: value }, {})).toThrow(message);
  });
});
