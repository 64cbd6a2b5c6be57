import type { ServerResponse } from 'node:http';

import { startHttpProxy } from '../../devtools/http-proxy.js';

/**
 * What an {@link OutageProxy} does with the next request:
 * - `forward`: passes it to the target and the answer back, unchanged;
 * - `unavailable`: answers 503 ServiceUnavailable without passing it on (S3 is down);
 * - `lose-response`: passes it on and lets the target complete it, then answers 503 instead of
 *   the target's answer (the write happened, the writer does not know it).
 */
export type OutageMode = 'forward' | 'unavailable' | 'lose-response';

/** A loopback HTTP proxy in front of one S3 server whose availability a test switches. */
export interface OutageProxy {
  /** `http://127.0.0.1:<port>`: use it where the S3 endpoint would go. */
  readonly endpoint: string;
  /** Applies to requests that arrive from now on. */
  mode: OutageMode;
  close(): Promise<void>;
}

const UNAVAILABLE_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code><Message>Service is unable to handle request (outage proxy).</Message></Error>';

/**
 * Starts a proxy in front of `target` (an S3 endpoint) that forwards, refuses or completes
 * requests without answering them, as its {@link OutageProxy.mode} says; it starts forwarding.
 */
export async function startOutageProxy(target: string): Promise<OutageProxy> {
  let current: OutageMode = 'forward';

  const unavailable = (outgoing: ServerResponse) => {
    outgoing.writeHead(503, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(UNAVAILABLE_BODY),
    });
    outgoing.end(UNAVAILABLE_BODY);
  };

  const proxy = await startHttpProxy(target, (incoming, outgoing, forward) => {
    const mode = current;
    if (mode === 'unavailable') {
      incoming.resume();
      incoming.on('end', () => unavailable(outgoing));
    } else if (mode === 'lose-response') {
      forward({
        onResponse: (response) => {
          response.resume();
          response.on('end', () => unavailable(outgoing));
        },
      });
    } else {
      forward();
    }
  });
  return {
    endpoint: proxy.endpoint,
    get mode() {
      return current;
    },
    set mode(mode: OutageMode) {
      current = mode;
    },
    close: () => proxy.close(),
  };
}
