/**
 * The bare ingest baseline, the physical limit of an upload's acknowledgement: node:http,
 * the multipart body parsed with busboy as it streams in, the file part hashed (SHA-256) and
 * written to a temp file, fsynced, renamed to its hash (folder fsynced), and 200 sent. No auth, no database, no
 * image checks. `node --import tsx bench/baseline-ingest.ts <port> <dir>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import busboy from 'busboy';

const [portArg, dir] = process.argv.slice(2);
if (!portArg || !dir) throw new Error('usage: baseline-ingest.ts <port> <dir>');
fs.mkdirSync(dir, { recursive: true });

function ingest(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parser = busboy({ headers: req.headers });
    let stored: Promise<string> | undefined;
    parser.on('file', (name, stream) => {
      if (name !== 'imagedata' || stored) {
        stream.resume();
        return;
      }
      stored = new Promise((done, fail) => {
        const hash = createHash('sha256');
        const tmp = path.join(dir as string, `tmp-${randomBytes(8).toString('hex')}`);
        const out = fs.createWriteStream(tmp);
        stream.on('data', (chunk: Buffer) => hash.update(chunk));
        stream.pipe(out);
        out.on('error', fail);
        out.on('finish', () => {
          const key = hash.digest('hex');
          fs.open(tmp, 'r+', (err, fd) => {
            if (err) return fail(err);
            fs.fsync(fd, (syncErr) => {
              fs.close(fd, () => {
                if (syncErr) return fail(syncErr);
                fs.rename(tmp, path.join(dir as string, key), (renameErr) => {
                  if (renameErr) return fail(renameErr);
                  // The rename is durable once the folder is synced, as Gazo's blob store does.
                  fs.open(dir as string, 'r', (dirErr, dirFd) => {
                    if (dirErr) return fail(dirErr);
                    fs.fsync(dirFd, (dirSyncErr) =>
                      fs.close(dirFd, () => (dirSyncErr ? fail(dirSyncErr) : done(key))),
                    );
                  });
                });
              });
            });
          });
        });
      });
    });
    parser.on('error', reject);
    parser.on('close', () => {
      if (!stored) reject(new Error('no imagedata part'));
      else stored.then(resolve, reject);
    });
    req.pipe(parser);
  });
}

const server = http.createServer((req, res) => {
  ingest(req).then(
    (key) => {
      const body = JSON.stringify({ image_id: key.slice(0, 32) });
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': body.length,
      });
      res.end(body);
    },
    (err: Error) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(err.message);
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portArg), '127.0.0.1', () => {
  process.stdout.write(`ingest baseline listening on ${portArg}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
