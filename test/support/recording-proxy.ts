import { startHttpProxy, type HttpProxy } from '../../devtools/http-proxy.js';

/** One request that passed through the proxy. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
}

/** A loopback HTTP proxy in front of one server, recording every request it forwards. */
export interface RecordingProxy extends HttpProxy {
  /** Requests forwarded so far, oldest first. */
  readonly requests: readonly RecordedRequest[];
}

/**
 * Starts a proxy that forwards every request to `target` unchanged and records its method and
 * URL, so a test can see which S3 calls were made (for instance, that a large object went up
 * as a multipart upload), which the stored object alone does not tell.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const proxy = await startHttpProxy(target, (incoming, _outgoing, forward) => {
    requests.push({ method: incoming.method ?? '', url: incoming.url ?? '' });
    forward();
  });
  return { ...proxy, requests };
}
