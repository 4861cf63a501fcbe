// Runs s3rver in several worker processes that share one port and one data
// directory. s3rver serves requests on a single thread, so with one process
// the test server, not the client, caps any measurement of parallel requests.
//
//   node scripts/s3rver-cluster.js S3RVER_PACKAGE_DIR DATA_DIR PORT BUCKET WORKERS
'use strict';
const cluster = require('cluster');

const [packageDir, directory, port, bucket, workers] = process.argv.slice(2);
if (!workers) {
  console.error('usage: s3rver-cluster.js S3RVER_PACKAGE_DIR DATA_DIR PORT BUCKET WORKERS');
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
  new S3rver({
    address: '127.0.0.1',
    port: Number(port),
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  }).run().catch(err => {
    console.error(err);
    process.exit(1);
  });
}
