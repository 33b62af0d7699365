import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./s3rver-main.cjs', import.meta.url));

export interface TestS3 {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Where s3rver keeps the buckets (one folder each), for checks of what is stored. */
  directory: string;
  /** The `--blobs` URL for a bucket of this server. */
  blobsUrl(bucket: string, extra?: string): string;
  stop(): Promise<void>;
}

/** The credentials s3rver accepts (it does not check signatures, but the SDK must sign something). */
export const TEST_S3_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
};
export const TEST_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** An S3 test server (s3rver) on 127.0.0.1, a free port, its own folder, with these buckets. */
export async function startTestS3(buckets: string[]): Promise<TestS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-s3-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', MAIN, directory, ...buckets],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited (${code}): ${stderr}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    directory,
    blobsUrl: (bucket, extra = '') =>
      `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1${extra}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
