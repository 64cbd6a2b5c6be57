import { startHttpProxy } from '../devtools/http-proxy.js';

/**
 * A loopback HTTP proxy in front of the S3 server that the fault oracle switches between
 * passing requests through, being unavailable and being slow, so Sluice's workers meet an S3
 * that fails the way real S3 (or the network to it) does, while the bytes that do get through
 * are the S3 server's own.
 */

/** How the proxy treats requests from now on. */
export type S3ProxyMode =
  | { kind: 'pass' }
  /**
   * `503`: every request is answered `503 SlowDown`, as S3 does when throttling; `reset`:
   * every connection is cut at once, as when the store or the network is down.
   */
  | { kind: 'unavailable'; how: '503' | 'reset' }
  /** Each request waits `delayMs`: half before it is forwarded, half before it is answered. */
  | { kind: 'slow'; delayMs: number };

/** What the proxy did, for the report. */
export interface S3ProxyCounters {
  forwarded: number;
  answered503: number;
  reset: number;
  delayed: number;
}

/** A running proxy. */
export interface S3FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to Sluice as `SLUICE_S3_ENDPOINT`. */
  readonly endpoint: string;
  readonly counters: S3ProxyCounters;
  mode(): S3ProxyMode;
  setMode(mode: S3ProxyMode): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

const SLOW_DOWN_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-oracle</RequestId></Error>';

/**
 * Starts the proxy on a free loopback port, forwarding to `target` (e.g. s3rver's endpoint).
 * Headers pass unchanged, `Host` included, so request signatures stay valid.
 */
export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const counters: S3ProxyCounters = { forwarded: 0, answered503: 0, reset: 0, delayed: 0 };
  let current: S3ProxyMode = { kind: 'pass' };
  const resetting = (): boolean => current.kind === 'unavailable' && current.how === 'reset';

  const proxy = await startHttpProxy(
    target,
    (incoming, outgoing, forward) => {
      const mode = current;
      if (mode.kind === 'unavailable' && mode.how === 'reset') {
        counters.reset += 1;
        incoming.socket.destroy();
        return;
      }
      if (mode.kind === 'unavailable') {
        counters.answered503 += 1;
        incoming.resume();
        incoming.once('end', () => {
          outgoing.writeHead(503, {
            'content-type': 'application/xml',
            'content-length': Buffer.byteLength(SLOW_DOWN_XML),
          });
          outgoing.end(SLOW_DOWN_XML);
        });
        return;
      }
      counters.forwarded += 1;
      if (mode.kind === 'slow') {
        counters.delayed += 1;
        forward({ requestDelayMs: mode.delayMs / 2, responseDelayMs: mode.delayMs / 2 });
      } else {
        forward();
      }
    },
    {
      maxSockets: 64,
      acceptConnection: () => {
        if (!resetting()) return true;
        counters.reset += 1;
        return false;
      },
    },
  );

  return {
    endpoint: proxy.endpoint,
    counters,
    mode: () => current,
    setMode(mode) {
      current = mode;
      // Kept-alive connections would otherwise carry on as if nothing happened.
      if (resetting()) proxy.dropConnections();
    },
    close: () => proxy.close(),
  };
}
