import { createServer, connect, type Server, type Socket } from 'node:net';

import { listenOnLoopback } from './free-port.js';

/**
 * A PostgreSQL wire-protocol proxy in front of a real server, for tests that must see or time
 * what Sluice does there. It forwards every byte unchanged and reads the messages as they
 * pass: each load is seen from the ledger row it claims (the `INSERT INTO …
 * sluice_delivery_ledger` and its bound key) to its `COMMIT` or `ROLLBACK`, and a `COMMIT` can
 * be held back — before it reaches the server (a crash then leaves the load uncommitted) or
 * after (the load is committed, its answer not yet seen) — so a test can kill Sluice right
 * there. Plain connections only (no TLS), as Sluice's pool makes them.
 */
export interface PostgresProxy {
  readonly port: number;
  /** Every load seen, in order: its ledger key, records and whether it committed. */
  readonly loads: ProxyLoad[];
  /**
   * From now on, a `COMMIT` is held `ms` milliseconds: `before` it reaches the server, or
   * `after` it (the server's answer is held). 0: none.
   */
  holdCommits(ms: number, where?: 'before' | 'after'): void;
  /** Whether a COMMIT is being held now. */
  holding(): boolean;
  close(): Promise<void>;
}

/** One load seen by the proxy. */
export interface ProxyLoad {
  key: string;
  records: number;
  /** The server answered its COMMIT. */
  committed: boolean;
  /** It ended: committed, rolled back, or its connection went away. */
  ended: boolean;
}

/** Starts a proxy to `host:port`. */
export async function startPostgresProxy(host: string, port: number): Promise<PostgresProxy> {
  const loads: ProxyLoad[] = [];
  const sockets = new Set<Socket>();
  let hold = { ms: 0, where: 'before' as 'before' | 'after' };
  let held = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    let current: ProxyLoad | undefined;
    let ledgerInsert = false;
    let clientBuffer = Buffer.alloc(0);
    let serverBuffer = Buffer.alloc(0);
    let startup = true;
    /** Bytes held back per direction until a timer releases them. */
    let toServerHeld: Buffer[] | undefined;
    let toClientHeld: Buffer[] | undefined;
    const end = () => {
      if (current !== undefined) current.ended = true;
      current = undefined;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    const release = (which: 'server' | 'client', ms: number) => {
      held += 1;
      setTimeout(() => {
        held -= 1;
        const queued = which === 'server' ? toServerHeld : toClientHeld;
        if (which === 'server') toServerHeld = undefined;
        else toClientHeld = undefined;
        const target = which === 'server' ? upstream : client;
        if (!target.destroyed) for (const piece of queued ?? []) target.write(piece);
      }, ms);
    };

    client.on('data', (data: Buffer) => {
      clientBuffer = Buffer.concat([clientBuffer, data]);
      const messages: { type: string; body: Buffer; raw: Buffer }[] = [];
      for (;;) {
        if (startup) {
          if (clientBuffer.length < 4) break;
          const length = clientBuffer.readUInt32BE(0);
          if (clientBuffer.length < length) break;
          messages.push({ type: '', body: Buffer.alloc(0), raw: clientBuffer.subarray(0, length) });
          clientBuffer = clientBuffer.subarray(length);
          startup = false;
          continue;
        }
        if (clientBuffer.length < 5) break;
        const length = clientBuffer.readUInt32BE(1);
        if (clientBuffer.length < length + 1) break;
        const raw = clientBuffer.subarray(0, length + 1);
        messages.push({ type: String.fromCharCode(raw[0] as number), body: raw.subarray(5), raw });
        clientBuffer = clientBuffer.subarray(length + 1);
      }
      for (const message of messages) {
        if (message.type === 'P') {
          const query = cString(message.body, message.body.indexOf(0) + 1);
          ledgerInsert = /INSERT INTO .*sluice_delivery_ledger/su.test(query);
        } else if (message.type === 'B' && ledgerInsert) {
          ledgerInsert = false;
          const params = bindParameters(message.body);
          current = {
            key: params[0] ?? '',
            records: Number(params[5] ?? 0),
            committed: false,
            ended: false,
          };
          loads.push(current);
        } else if (
          message.type === 'Q' &&
          /^\s*COMMIT\b/iu.test(cString(message.body, 0)) &&
          hold.ms > 0
        ) {
          if (hold.where === 'before' && toServerHeld === undefined) {
            toServerHeld = [];
            release('server', hold.ms);
          } else if (hold.where === 'after' && toClientHeld === undefined) {
            upstream.write(message.raw);
            toClientHeld = [];
            release('client', hold.ms);
            continue;
          }
        }
        if (toServerHeld !== undefined) toServerHeld.push(Buffer.from(message.raw));
        else upstream.write(message.raw);
      }
    });

    upstream.on('data', (data: Buffer) => {
      serverBuffer = Buffer.concat([serverBuffer, data]);
      for (;;) {
        if (serverBuffer.length < 5) break;
        const length = serverBuffer.readUInt32BE(1);
        if (serverBuffer.length < length + 1) break;
        const raw = serverBuffer.subarray(0, length + 1);
        serverBuffer = serverBuffer.subarray(length + 1);
        if (raw[0] === 0x43 /* C: CommandComplete */) {
          const tag = cString(raw, 5);
          if (current !== undefined && (tag === 'COMMIT' || tag === 'ROLLBACK')) {
            current.committed = tag === 'COMMIT';
            current.ended = true;
            current = undefined;
          }
        }
        if (toClientHeld !== undefined) toClientHeld.push(Buffer.from(raw));
        else client.write(raw);
      }
    });
  });
  const listening = await listenOnLoopback(server);
  return {
    port: listening,
    loads,
    holdCommits(ms, where = 'before') {
      hold = { ms, where };
    },
    holding: () => held > 0,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The NUL-terminated string at `at`. */
function cString(buffer: Buffer, at: number): string {
  const end = buffer.indexOf(0, at);
  return buffer.toString('utf8', at, end < 0 ? buffer.length : end);
}

/** The text of a Bind message's parameters (null ones as undefined). */
function bindParameters(body: Buffer): (string | undefined)[] {
  let at = body.indexOf(0) + 1; // portal
  at = body.indexOf(0, at) + 1; // statement
  const formats = body.readUInt16BE(at);
  at += 2 + formats * 2;
  const count = body.readUInt16BE(at);
  at += 2;
  const values: (string | undefined)[] = [];
  for (let i = 0; i < count; i += 1) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length < 0) {
      values.push(undefined);
      continue;
    }
    values.push(body.toString('utf8', at, at + length));
    at += length;
  }
  return values;
}
