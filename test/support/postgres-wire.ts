/**
 * Reading and writing PostgreSQL wire-protocol messages (protocol 3.0), for the test proxies that
 * sit between Sluice and a real server and must see, hold or rewrite what passes.
 */

/** One message: its type letter ('' for the client's untyped startup message), body and bytes. */
export interface WireMessage {
  type: string;
  /** The message after its type and length. */
  body: Buffer;
  /** The whole message as it came, to forward unchanged. */
  raw: Buffer;
}

/**
 * Cuts a byte stream into whole messages, keeping an unfinished one for the next chunk. A
 * reader of the client's side first expects the untyped startup message (length first, no type
 * letter); a reader of the server's side does not.
 */
export class WireMessageReader {
  private buffered = Buffer.alloc(0);
  private startup: boolean;

  constructor(side: 'client' | 'server') {
    this.startup = side === 'client';
  }

  /** The messages `data` completes, in order; each owns its bytes. */
  read(data: Buffer): WireMessage[] {
    this.buffered = Buffer.concat([this.buffered, data]);
    const messages: WireMessage[] = [];
    for (;;) {
      if (this.startup) {
        if (this.buffered.length < 4) break;
        const length = this.buffered.readUInt32BE(0);
        if (this.buffered.length < length) break;
        const raw = Buffer.from(this.buffered.subarray(0, length));
        messages.push({ type: '', body: Buffer.alloc(0), raw });
        this.buffered = this.buffered.subarray(length);
        this.startup = false;
        continue;
      }
      if (this.buffered.length < 5) break;
      const length = this.buffered.readUInt32BE(1);
      if (this.buffered.length < length + 1) break;
      const raw = Buffer.from(this.buffered.subarray(0, length + 1));
      this.buffered = this.buffered.subarray(length + 1);
      messages.push({ type: String.fromCharCode(raw[0] as number), body: raw.subarray(5), raw });
    }
    return messages;
  }
}

/** The NUL-terminated string at `at`. */
export function cString(buffer: Buffer, at: number): string {
  const end = buffer.indexOf(0, at);
  return buffer.toString('utf8', at, end < 0 ? buffer.length : end);
}

/** `text` as a NUL-terminated string. */
export function cStringBytes(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

/** A typed message: its type letter, its length and `body`. */
export function typedMessage(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A simple-query (Q) message. */
export function queryMessage(sql: string): Buffer {
  return typedMessage('Q', cStringBytes(sql));
}

/** The SQL text of a Parse (P) message's body. */
export function parsedQuery(body: Buffer): string {
  return cString(body, body.indexOf(0) + 1);
}

/** The command tag of a CommandComplete (C) message, from its raw bytes. */
export function commandTag(raw: Buffer): string {
  return cString(raw, 5);
}

/** The text of a Bind (B) message's parameters (null ones as undefined). */
export function bindParameters(body: Buffer): (string | undefined)[] {
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
