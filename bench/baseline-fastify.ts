/**
 * A second list baseline: bare Fastify (no plugins, hooks, auth or database) answering the same
 * pre-serialised JSON. It shows how much of the gap to node:http is the framework itself.
 * `node --import tsx bench/baseline-fastify.ts <port> <file>`.
 */
import fs from 'node:fs';
import Fastify from 'fastify';

const [portArg, file] = process.argv.slice(2);
if (!portArg || !file) throw new Error('usage: baseline-fastify.ts <port> <file>');
const body = fs.readFileSync(file, 'utf8');

const app = Fastify({ logger: false });
app.get('/', (_request, reply) => {
  reply.type('application/json; charset=utf-8').send(body);
});
await app.listen({ host: '127.0.0.1', port: Number(portArg) });
process.stdout.write(`baseline listening on ${portArg}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
