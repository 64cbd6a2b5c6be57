/**
 * The ceiling: the least work any Firehose-compatible server on fastify must do per request —
 * read the AWS JSON 1.1 body, `JSON.parse` it, answer `{}` — and nothing else (no validation,
 * no base64 decoding, no Redis). Started by `ceiling.ts` as a child process with an IPC channel,
 * so it owns an event loop and a core the way Sluice does.
 */
import Fastify from 'fastify';

import { CONTENT_TYPE } from './firehose-http.js';
import { reportPort } from '../devtools/ipc-port.js';

/** The same body limit as Sluice's API, so both read the same bodies the same way. */
const BODY_LIMIT = 16 * 1024 * 1024;

const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, keepAliveTimeout: 65_000 });
app.removeAllContentTypeParsers();
app.addContentTypeParser(CONTENT_TYPE, { parseAs: 'string' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (error) {
    done(error as Error, undefined);
  }
});
app.post('/', async (_request, reply) => reply.header('content-type', CONTENT_TYPE).send('{}'));

process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});

try {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  reportPort(address.port);
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
}
