import { fileURLToPath } from 'node:url';

import { Child } from '../devtools/children.js';
import { waitForPort } from '../devtools/ipc-port.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./ceiling-server.js', import.meta.url));
const READY_TIMEOUT_MS = 15_000;

/** The running ceiling server. */
export interface CeilingServer {
  readonly url: string;
  readonly child: Child;
}

/**
 * Starts the bare fastify server of `ceiling-server.ts` in a child process on a free loopback
 * port.
 *
 * @throws when it does not report its port within 15 seconds.
 */
export async function startCeilingServer(): Promise<CeilingServer> {
  const child = new Child('ceiling server', process.execPath, [CHILD_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const port = await waitForPort(child, READY_TIMEOUT_MS);
  return { url: `http://127.0.0.1:${port}`, child };
}
