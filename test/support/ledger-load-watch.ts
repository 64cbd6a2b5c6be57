import { bindParameters, commandTag, parsedQuery, type WireMessage } from './postgres-wire.js';

/** One load a test proxy saw, from the ledger row it claims to its COMMIT or ROLLBACK. */
export interface LedgerLoad {
  /** The ledger key (delivery id) it claims. */
  key: string;
  records: number;
  /** The server answered its COMMIT. */
  committed: boolean;
  /** It ended: committed, rolled back, or its connection went away. */
  ended: boolean;
}

/**
 * Follows one connection's loads as its messages pass: a load starts at the Bind of the
 * `INSERT INTO … sluice_delivery_ledger` (its key and record count are parameters 1 and 6) and
 * ends at the server's COMMIT or ROLLBACK, or when the connection goes away. Each load is
 * appended to `loads`, shared by every connection of the proxy.
 */
export class LedgerLoadWatch {
  private current: LedgerLoad | undefined;
  private ledgerInsert = false;

  constructor(private readonly loads: LedgerLoad[]) {}

  /** Sees a message from the client. */
  fromClient(message: WireMessage): void {
    if (message.type === 'P') {
      this.ledgerInsert = /INSERT INTO .*sluice_delivery_ledger/su.test(parsedQuery(message.body));
    } else if (message.type === 'B' && this.ledgerInsert) {
      this.ledgerInsert = false;
      const params = bindParameters(message.body);
      this.current = {
        key: params[0] ?? '',
        records: Number(params[5] ?? 0),
        committed: false,
        ended: false,
      };
      this.loads.push(this.current);
    }
  }

  /** Sees a message from the server. */
  fromServer(raw: Buffer): void {
    if (raw[0] !== 0x43 /* C: CommandComplete */) return;
    const tag = commandTag(raw);
    if (this.current !== undefined && (tag === 'COMMIT' || tag === 'ROLLBACK')) {
      this.current.committed = tag === 'COMMIT';
      this.current.ended = true;
      this.current = undefined;
    }
  }

  /** The connection went away: the load in flight, if any, ended uncommitted. */
  connectionEnded(): void {
    if (this.current !== undefined) this.current.ended = true;
    this.current = undefined;
  }
}
