/**
 * Runs s3rver for `s3-server.ts` in a process of its own, so that the `--openssl-legacy-provider`
 * flag s3rver's paginated listing needs stays out of the test process.
 *
 * Usage, started with an IPC channel: under vitest node runs this source by stripping its types,
 * `node --experimental-strip-types --openssl-legacy-provider s3rver-child.ts <directory>`; the
 * bench runs the compiled `dist/devtools/s3rver-child.js` the same way without the first flag.
 * It reports `{ port }` once listening, and exits when the parent disconnects, which also happens
 * when the parent dies, so it can never be left behind.
 *
 * TypeScript rather than `.mjs` so that the project's type-aware lint and typecheck cover it.
 * It imports nothing of its own (not even `ipc-port.ts`'s `reportPort`): node's type stripping
 * does not map a `./x.js` specifier to `x.ts`, so a relative import would break the vitest case.
 */
import { createRequire } from 'node:module';

/** The part of s3rver 3.x this script uses (the package ships no types). */
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
const send = process.send?.bind(process);
if (!directory || !send) {
  console.error(
    'usage: node --openssl-legacy-provider s3rver-child.{ts,js} <directory> (with IPC)',
  );
  process.exit(2);
}

process.once('disconnect', () => process.exit(0));
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
  send({ port });
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
}
