import { isAscii } from 'node:buffer';
import { JSON_BYTE } from '../../config/json-bytes.js';

/** The members of a PutRecordBatch body that {@link scanPutRecordBatchBody} reads. */
export type PutRecordBatchBody = {
  DeliveryStreamName: string;
  Records: { Data: string }[];
};

/**
 * Reads the PutRecordBatch body every Firehose client sends —
 * `{"DeliveryStreamName": "…", "Records": [{"Data": "…"}, …]}`, in any member order and with any
 * JSON whitespace — straight from the bytes, without decoding the whole body to a string or
 * building it with `JSON.parse`. Those two steps were a fifth of the ingest CPU; here the
 * strings are found with native `indexOf`, and only each `Data` value becomes a string.
 *
 * Returns undefined for anything outside that shape (non-ASCII bytes, any backslash escape,
 * other members, `null`s, duplicate members, malformed JSON …). The caller then parses the body
 * with `JSON.parse`, so every unusual body gets exactly the generic behaviour. One difference
 * remains by design: a raw control character inside a `Data` string is reported as invalid
 * base64 rather than as invalid JSON — a SerializationException either way.
 */
export function scanPutRecordBatchBody(body: Buffer): PutRecordBatchBody | undefined {
  if (!isAscii(body) || body.indexOf(JSON_BYTE.BACKSLASH) !== -1) return undefined;
  const scanner = new Scanner(body);
  let name: string | undefined;
  let records: { Data: string }[] | undefined;
  if (!scanner.take(JSON_BYTE.OPEN_BRACE)) return undefined;
  if (!scanner.take(JSON_BYTE.CLOSE_BRACE)) {
    for (;;) {
      const key = scanner.string();
      if (key === undefined || !scanner.take(JSON_BYTE.COLON)) return undefined;
      if (key === 'DeliveryStreamName' && name === undefined) {
        name = scanner.string();
        if (name === undefined) return undefined;
      } else if (key === 'Records' && records === undefined) {
        records = scanner.records();
        if (records === undefined) return undefined;
      } else {
        return undefined;
      }
      if (scanner.take(JSON_BYTE.CLOSE_BRACE)) break;
      if (!scanner.take(JSON_BYTE.COMMA)) return undefined;
    }
  }
  if (!scanner.atEnd() || name === undefined || records === undefined) return undefined;
  return { DeliveryStreamName: name, Records: records };
}

/** A cursor over the body; every step skips JSON whitespace first. */
class Scanner {
  private at = 0;

  constructor(private readonly body: Buffer) {}

  /** Consumes `byte` if it is next. */
  take(byte: number): boolean {
    this.skipWhitespace();
    if (this.body[this.at] !== byte) return false;
    this.at += 1;
    return true;
  }

  /** Whether only whitespace is left. */
  atEnd(): boolean {
    this.skipWhitespace();
    return this.at === this.body.length;
  }

  /**
   * A string (it has no escapes: the body has no backslash). Control characters, which JSON
   * forbids in strings, are checked here for names; `Data` skips the check (see above).
   */
  string(checkControlCharacters = true): string | undefined {
    if (!this.take(JSON_BYTE.QUOTE)) return undefined;
    const end = this.body.indexOf(JSON_BYTE.QUOTE, this.at);
    if (end === -1) return undefined;
    if (checkControlCharacters) {
      for (let i = this.at; i < end; i++) if ((this.body[i] as number) < 0x20) return undefined;
    }
    const value = this.body.toString('latin1', this.at, end);
    this.at = end + 1;
    return value;
  }

  /** `[{"Data": "…"}, …]`: each record exactly one `Data` string member. */
  records(): { Data: string }[] | undefined {
    if (!this.take(JSON_BYTE.OPEN_BRACKET)) return undefined;
    const records: { Data: string }[] = [];
    if (this.take(JSON_BYTE.CLOSE_BRACKET)) return records;
    for (;;) {
      if (
        !this.take(JSON_BYTE.OPEN_BRACE) ||
        this.string() !== 'Data' ||
        !this.take(JSON_BYTE.COLON)
      ) {
        return undefined;
      }
      const data = this.string(false);
      if (data === undefined || !this.take(JSON_BYTE.CLOSE_BRACE)) return undefined;
      records.push({ Data: data });
      if (this.take(JSON_BYTE.CLOSE_BRACKET)) return records;
      if (!this.take(JSON_BYTE.COMMA)) return undefined;
    }
  }

  private skipWhitespace(): void {
    const { body } = this;
    for (;;) {
      const byte = body[this.at];
      // JSON whitespace: space, tab, line feed, carriage return.
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return;
      this.at += 1;
    }
  }
}
