import { LedgerLoadWatch, type LedgerLoad } from './ledger-load-watch.js';
import { startPairingProxy } from './pairing-proxy.js';
import { cString, WireMessageReader } from './postgres-wire.js';

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
export type ProxyLoad = LedgerLoad;

/** Starts a proxy to `host:port`. */
export async function startPostgresProxy(host: string, port: number): Promise<PostgresProxy> {
  const loads: ProxyLoad[] = [];
  let hold = { ms: 0, where: 'before' as 'before' | 'after' };
  let held = 0;
  const proxy = await startPairingProxy(host, port, ({ client, upstream }) => {
    const watch = new LedgerLoadWatch(loads);
    const fromClient = new WireMessageReader('client');
    const fromServer = new WireMessageReader('server');
    /** Bytes held back per direction until a timer releases them. */
    let toServerHeld: Buffer[] | undefined;
    let toClientHeld: Buffer[] | undefined;
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
      for (const message of fromClient.read(data)) {
        watch.fromClient(message);
        if (
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
        if (toServerHeld !== undefined) toServerHeld.push(message.raw);
        else upstream.write(message.raw);
      }
    });

    upstream.on('data', (data: Buffer) => {
      for (const { raw } of fromServer.read(data)) {
        watch.fromServer(raw);
        if (toClientHeld !== undefined) toClientHeld.push(raw);
        else client.write(raw);
      }
    });
    return () => watch.connectionEnded();
  });
  return {
    port: proxy.port,
    loads,
    holdCommits(ms, where = 'before') {
      hold = { ms, where };
    },
    holding: () => held > 0,
    close: () => proxy.close(),
  };
}
