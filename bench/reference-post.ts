import { request, type Agent } from 'node:http';

import { nowMs } from './clock.js';

/** One POST's answer (status, time to the end of the answer, its body), or why it failed. */
export type PostResult = { status: number; latencyMs: number; answer: Buffer } | { error: string };

/**
 * POSTs `body` with `headers` to `url` over `agent`, as a reference's plain `node:http` client
 * does, and reads the whole answer; never rejects (a request without an answer after
 * `timeoutMs` fails).
 */
export function postOnce(
  agent: Agent,
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  const sentMs = nowMs();
  return new Promise<PostResult>((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', (error) => resolve({ error: error.message }));
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            latencyMs: nowMs() - sentMs,
            answer: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    req.once('error', (error) => resolve({ error: error.message }));
    req.end(body);
  });
}
