/**
 * How much memory an easy_auth upload takes while it streams, against a plain /api/upload of the
 * same image: `node --expose-gc --import tsx bench/easy-auth-memory.ts`. The server runs in this
 * process; curl (another process) sends the bodies from files, so that the client's copy of a body
 * is not counted. Peaks are sampled every 5 ms; one run each, after a warm-up upload.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fixedClientApps } from '../src/services/client-apps.ts';
import { noisePng } from '../test/helpers/images.ts';
import { startServer } from '../test/helpers/server.ts';

const run = promisify(execFile);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-easy-auth-bench-'));
const png = await noisePng(2400, 2400, 5);
const dataUri = `data:image/png;base64,${png.toString('base64')}`;
const files = {
  image: path.join(dir, 'image.png'),
  form: path.join(dir, 'body.txt'),
  dataUri: path.join(dir, 'data-uri.txt'),
};
await fs.writeFile(files.image, png);
await fs.writeFile(files.form, `client_id=bench&image_url=${encodeURIComponent(dataUri)}`);
await fs.writeFile(files.dataUri, dataUri);

const server = await startServer({}, undefined, {
  runtime: { clientApps: fixedClientApps([{ clientId: 'bench', name: 'bench' }]) },
});
const { token } = await server.user();
const gc = (globalThis as { gc?: () => void }).gc;
const used = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers };
};

async function measure(label: string, args: string[]) {
  gc?.();
  const base = used();
  let peak = base;
  const timer = setInterval(() => {
    const now = used();
    peak = { rss: Math.max(peak.rss, now.rss), heap: Math.max(peak.heap, now.heap) };
  }, 5);
  const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
  clearInterval(timer);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `${label.padEnd(24)} ${stdout}  RSS +${mb(peak.rss - base.rss)} MB  heap+external +${mb(peak.heap - base.heap)} MB`,
  );
}

const upload = ['-F', `imagedata=@${files.image}`, `${server.url}/api/upload?access_token=${token}`];
const easyAuth = `${server.url}/api/upload/easy_auth`;
try {
  await measure('warm-up /api/upload', upload);
  console.log(
    `image ${(png.length / 1e6).toFixed(1)} MB; url-encoded body ${((dataUri.length * 1.02) / 1e6).toFixed(1)} MB`,
  );
  await measure('easy_auth url-encoded', [
    '-H',
    'content-type: application/x-www-form-urlencoded',
    '--data-binary',
    `@${files.form}`,
    easyAuth,
  ]);
  await measure('easy_auth multipart', [
    '-F',
    'client_id=bench',
    '-F',
    `image_url=<${files.dataUri}`,
    easyAuth,
  ]);
  await measure('/api/upload multipart', upload);
} finally {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
}
