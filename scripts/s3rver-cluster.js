// Runs s3rver in several worker processes that share one port and one data
// directory. s3rver serves requests on a single thread, so with one process
// the test server, not the client, caps any measurement of parallel requests.
//
//   node scripts/s3rver-cluster.js S3RVER_PACKAGE_DIR DATA_DIR PORT BUCKET WORKERS [LATENCY_MS]
//
// LATENCY_MS (default 0) holds every request that long before s3rver sees
// it: the network and service time a real S3 request waits (tens of ms) and
// loopback lacks. The wait is a timer, so it costs the machine no CPU.
'use strict';
const cluster = require('cluster');

const [packageDir, directory, port, bucket, workers, latencyArg = '0'] = process.argv.slice(2);
const latencyMs = Number(latencyArg);
if (!workers || !(latencyMs >= 0)) {
  console.error('usage: s3rver-cluster.js S3RVER_PACKAGE_DIR DATA_DIR PORT BUCKET WORKERS [LATENCY_MS]');
  process.exit(2);
}

if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); ++i) cluster.fork();
  const stop = () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGTERM') {
      console.error(`s3rver worker ${worker.process.pid} exited (${signal || code})`);
      stop();
    }
  });
} else {
  const S3rver = require(packageDir);
  const server = new S3rver({
    address: '127.0.0.1',
    port: Number(port),
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  if (latencyMs > 0) {
    // s3rver is a Koa app: the first middleware runs before its routes.
    server.middleware.unshift(async (ctx, next) => {
      await new Promise(resolve => setTimeout(resolve, latencyMs));
      await next();
    });
  }
  server.run().catch(err => {
    console.error(err);
    process.exit(1);
  });
}
