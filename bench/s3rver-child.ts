/**
 * Runs s3rver in a process of its own, started by `s3-server.ts` as
 * `node --openssl-legacy-provider dist/bench/s3rver-child.js <directory>` with an IPC channel:
 * s3rver's listing needs that flag, and a separate process keeps its event loop (and CPU) apart
 * from the load generator's.
 */
import { createRequire } from 'node:module';

import { reportPort } from './ipc-port.js';

/** The part of s3rver 3.x used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
}) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;

const directory = process.argv[2];
if (!directory) {
  console.error('usage: node --openssl-legacy-provider s3rver-child.js <directory> (with IPC)');
  process.exit(2);
}
process.once('SIGTERM', () => process.exit(0));

try {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
  });
  const { port } = await server.run();
  reportPort(port);
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
}
