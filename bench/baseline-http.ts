/**
 * The bare `node:http` baseline: answers every request with one file's bytes, read once into
 * memory. `node --import tsx bench/baseline-http.ts <port> <file> <content-type>`.
 */
import fs from 'node:fs';
import http from 'node:http';

const [portArg, file, contentType] = process.argv.slice(2);
if (!portArg || !file || !contentType)
  throw new Error('usage: baseline-http.ts <port> <file> <content-type>');
const body = fs.readFileSync(file);
const length = String(body.length);

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portArg), '127.0.0.1', () => {
  process.stdout.write(`baseline listening on ${portArg}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
