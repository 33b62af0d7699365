// The S3 test server (s3rver 3.7.1) in a process of its own: its paginated lists encrypt their
// continuation tokens with DES, which Node 17+ refuses without --openssl-legacy-provider, a flag
// the test runner's own process should not carry. Prints {"port":N} once it listens.
const S3rver = require('s3rver');

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
