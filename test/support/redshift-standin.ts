import { gunzipSync } from 'node:zlib';

import { LedgerLoadWatch, type LedgerLoad } from './ledger-load-watch.js';
import { startPairingProxy } from './pairing-proxy.js';
import {
  commandTag,
  cString,
  cStringBytes,
  queryMessage,
  typedMessage,
  WireMessageReader,
  type WireMessage,
} from './postgres-wire.js';

/**
 * A Redshift stand-in for the staged Redshift path's tests: a PostgreSQL wire-protocol proxy in
 * front of a real PostgreSQL that does what Redshift does with
 * `COPY <table> [(<columns>)] FROM 's3://<bucket>/<manifest>' CREDENTIALS '…' MANIFEST <options>`:
 * it reads the manifest and every object it lists from the S3 server the test runs, turns the
 * objects into rows itself (its own small JSON 'auto' / CSV / delimited-text reading, on
 * purpose independent of Sluice's copy-rows.ts), and loads them with `COPY … FROM STDIN` on
 * the real server, inside the client's transaction. The server's CopyInResponse is swallowed
 * and its answer (`COPY n`, or the error) passed back, so the client sees one query. A manifest
 * or object that is missing fails the COPY with a Redshift-like S3 message (sent as CopyFail,
 * so the transaction is aborted as Redshift's would be). Everything else passes through
 * unchanged; like the PostgreSQL proxy it sees each load's ledger row and can hold or cut a
 * `COMMIT`.
 */
export interface RedshiftStandin {
  readonly port: number;
  /** Every staged COPY seen, in order. */
  readonly copies: StandinCopy[];
  /** Every load seen, from the ledger row it claims to its COMMIT or ROLLBACK. */
  readonly loads: StandinLoad[];
  /** While set, every object read counts as missing (NoSuchKey). */
  hideObjects(hidden: boolean): void;
  /**
   * Cuts the client's connection at the next `COMMIT`: `before` it reaches the server (the
   * load rolls back) or `after` the server committed (the client never hears it).
   */
  cutNextCommit(where: 'before' | 'after'): void;
  close(): Promise<void>;
}

/** One staged COPY the stand-in ran. */
export interface StandinCopy {
  /** The statement as the client sent it. */
  sql: string;
  /** The manifest's bytes as read (undefined when missing). */
  manifest: Buffer | undefined;
  /** Rows fed to the server (before it answered). */
  rows: number;
  /** The failure fed to the server instead, if any. */
  failure: string | undefined;
}

/** One load seen. */
export type StandinLoad = LedgerLoad;

/** Reads an object; undefined when there is none. */
export type ReadObject = (bucket: string, key: string) => Promise<Buffer | undefined>;

/** Starts the stand-in in front of PostgreSQL at `host:port`, reading S3 through `readObject`. */
export async function startRedshiftStandin(
  host: string,
  port: number,
  readObject: ReadObject,
): Promise<RedshiftStandin> {
  const copies: StandinCopy[] = [];
  const loads: StandinLoad[] = [];
  let hidden = false;
  let cut: 'before' | 'after' | undefined;

  const proxy = await startPairingProxy(host, port, ({ client, upstream, end }) => {
    const watch = new LedgerLoadWatch(loads);
    const fromClientBytes = new WireMessageReader('client');
    const fromServerBytes = new WireMessageReader('server');
    let cutAfterCommit = false;
    /** A staged COPY waiting for the server's CopyInResponse: what to feed it. */
    let feeding: { data: Buffer[] } | { failure: string } | undefined;
    /** Client messages waiting while a staged COPY is prepared. */
    let queued: WireMessage[] | undefined;

    const fromClient = (message: WireMessage): void => {
      if (queued !== undefined) {
        queued.push(message);
        return;
      }
      watch.fromClient(message);
      if (message.type === 'Q') {
        const sql = cString(message.body, 0);
        if (/^\s*COMMIT\b/iu.test(sql) && cut !== undefined) {
          const where = cut;
          cut = undefined;
          if (where === 'before') {
            end();
            return;
          }
          cutAfterCommit = true;
        }
        const staged = parseStagedCopy(sql);
        if (staged !== undefined) {
          queued = [];
          void prepare(staged, sql).then((prepared) => {
            feeding = prepared.feed;
            upstream.write(queryMessage(prepared.statement));
          });
          return;
        }
      }
      upstream.write(message.raw);
    };

    const prepare = async (
      staged: StagedCopy,
      sql: string,
    ): Promise<{ statement: string; feed: { data: Buffer[] } | { failure: string } }> => {
      const copy: StandinCopy = { sql, manifest: undefined, rows: 0, failure: undefined };
      copies.push(copy);
      const statement = `COPY ${staged.target} FROM STDIN`;
      try {
        const location = parseS3Url(staged.manifestUrl);
        const manifest = hidden ? undefined : await readObject(location.bucket, location.key);
        copy.manifest = manifest;
        if (manifest === undefined) throw new MissingObject(staged.manifestUrl);
        const entries = (JSON.parse(manifest.toString('utf8')) as { entries: { url: string }[] })
          .entries;
        const data: Buffer[] = [];
        for (const entry of entries) {
          const object = parseS3Url(entry.url);
          let bytes = hidden ? undefined : await readObject(object.bucket, object.key);
          if (bytes === undefined) throw new MissingObject(entry.url);
          if (staged.options.gzip) bytes = gunzipSync(bytes);
          const rows = toRows(bytes.toString('utf8'), staged.options, staged.columns);
          copy.rows += rows.length;
          data.push(Buffer.from(rows.map((r) => `${r}\n`).join(''), 'utf8'));
        }
        return { statement, feed: { data } };
      } catch (error) {
        copy.failure = error instanceof Error ? error.message : String(error);
        return { statement, feed: { failure: copy.failure } };
      }
    };

    const fromServer = (raw: Buffer): void => {
      const type = String.fromCharCode(raw[0] as number);
      if (type === 'G' && feeding !== undefined) {
        // The server waits for the rows: feed them (or fail) and keep this from the client.
        const feed = feeding;
        feeding = undefined;
        if ('failure' in feed) {
          upstream.write(typedMessage('f', cStringBytes(feed.failure)));
        } else {
          for (const piece of feed.data) upstream.write(typedMessage('d', piece));
          upstream.write(typedMessage('c', Buffer.alloc(0)));
        }
        return;
      }
      watch.fromServer(raw);
      if (type === 'C') {
        const tag = commandTag(raw);
        if (tag === 'COMMIT' && cutAfterCommit) {
          cutAfterCommit = false;
          end();
          return;
        }
      }
      client.write(raw);
      if (type === 'Z' && queued !== undefined) {
        const waiting = queued;
        queued = undefined;
        for (const message of waiting) fromClient(message);
      }
    };

    client.on('data', (data: Buffer) => {
      for (const message of fromClientBytes.read(data)) {
        // The startup message goes on unseen: nothing is tracked before the session.
        if (message.type === '') upstream.write(message.raw);
        else fromClient(message);
      }
    });
    upstream.on('data', (data: Buffer) => {
      for (const { raw } of fromServerBytes.read(data)) fromServer(raw);
    });
    return () => watch.connectionEnded();
  });
  return {
    port: proxy.port,
    copies,
    loads,
    hideObjects(value) {
      hidden = value;
    },
    cutNextCommit(where) {
      cut = where;
    },
    close: () => proxy.close(),
  };
}

/** Redshift's message for an object that is not there. */
class MissingObject extends Error {
  constructor(url: string) {
    super(
      `S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey,Rid standin,CanRetry 1 (${url})`,
    );
  }
}

/** What the stand-in reads of CopyOptions. */
export interface StandinOptions {
  format: 'json' | 'csv' | 'text';
  ignoreCase: boolean;
  delimiter: string;
  quote: string;
  nullAs: string | undefined;
  gzip: boolean;
}

interface StagedCopy {
  /** `<table> [(<columns>)]` as written. */
  target: string;
  columns: string[] | undefined;
  manifestUrl: string;
  options: StandinOptions;
}

/** A Redshift string literal: `''` is a quote, a backslash escapes the next character. */
const LITERAL = String.raw`'((?:[^'\\]|''|\\.)*)'`;

/** Reads a staged COPY statement; undefined for any other statement. */
export function parseStagedCopy(sql: string): StagedCopy | undefined {
  const match = new RegExp(
    String.raw`^\s*COPY\s+(.+?)\s+FROM\s+${LITERAL}\s+CREDENTIALS\s+${LITERAL}\s+MANIFEST\b(.*)$`,
    'isu',
  ).exec(sql);
  if (match === null) return undefined;
  const target = (match[1] as string).trim();
  const list = /\((.*)\)\s*$/su.exec(target)?.[1];
  const columns = list?.split(',').map((c) => unquoteIdentifier(c.trim()));
  return {
    target,
    columns,
    manifestUrl: unescapeLiteral(match[2] as string),
    options: parseOptions(match[4] as string),
  };
}

function unescapeLiteral(text: string): string {
  return text.replace(/''|\\(.)/gsu, (all: string, escaped: string | undefined) =>
    all === "''" ? "'" : (escaped as string),
  );
}

function unquoteIdentifier(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase();
}

/** The few options the stand-in understands; the rest (TIMEFORMAT, REGION, …) it ignores. */
function parseOptions(text: string): StandinOptions {
  const options: StandinOptions = {
    format: 'text',
    ignoreCase: false,
    delimiter: '|',
    quote: '"',
    nullAs: undefined,
    gzip: false,
  };
  const tokens = [...text.matchAll(new RegExp(String.raw`${LITERAL}|[A-Za-z_]+`, 'gsu'))].map(
    (m) => (m[1] !== undefined ? { string: unescapeLiteral(m[1]) } : { word: m[0].toUpperCase() }),
  );
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as { word?: string; string?: string };
    const next = () => {
      let value = tokens[i + 1] as { word?: string; string?: string } | undefined;
      if (value?.word === 'AS') {
        i += 1;
        value = tokens[i + 1];
      }
      i += 1;
      return value?.string ?? '';
    };
    switch (token.word) {
      case 'JSON':
        options.format = 'json';
        options.ignoreCase = /ignorecase/iu.test(next());
        break;
      case 'CSV':
        options.format = 'csv';
        options.delimiter = ',';
        break;
      case 'DELIMITER':
        options.delimiter = next();
        break;
      case 'QUOTE':
        options.quote = next();
        break;
      case 'NULL':
        options.nullAs = next();
        break;
      case 'GZIP':
        options.gzip = true;
        break;
      default:
        break;
    }
  }
  return options;
}

function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/su.exec(url);
  if (match === null) throw new Error(`not an s3:// URL: ${url}`);
  return { bucket: match[1] as string, key: match[2] as string };
}

/** An object's rows in PostgreSQL's COPY text format (tab-separated, `\N` for NULL). */
export function toRows(
  text: string,
  options: StandinOptions,
  columns: string[] | undefined,
): string[] {
  const fields =
    options.format === 'json'
      ? jsonFields(text, options, columns)
      : options.format === 'csv'
        ? csvFields(text, options)
        : delimitedFields(text, options);
  return fields.map((row) => row.map((f) => (f === null ? '\\N' : escapeText(f))).join('\t'));
}

function escapeText(value: string): string {
  return value.replace(/[\\\t\n\r]/gu, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** JSON 'auto': objects one after another; each column is the member of its name. */
function jsonFields(
  text: string,
  options: StandinOptions,
  columns: string[] | undefined,
): (string | null)[][] {
  if (columns === undefined) throw new Error("the stand-in needs a column list for JSON 'auto'");
  const rows: (string | null)[][] = [];
  for (const source of jsonObjects(text)) {
    const object = JSON.parse(source) as Record<string, unknown>;
    const members = new Map(
      Object.entries(object).map(([k, v]) => [options.ignoreCase ? k.toLowerCase() : k, v]),
    );
    rows.push(
      columns.map((column) => {
        const value = members.get(options.ignoreCase ? column.toLowerCase() : column);
        if (value === undefined || value === null) return null;
        return typeof value === 'string' ? value : JSON.stringify(value);
      }),
    );
  }
  return rows;
}

/** The text of each top-level JSON object, found by counting braces outside strings. */
function jsonObjects(text: string): string[] {
  const found: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (c === '}') {
      depth -= 1;
      if (depth === 0) found.push(text.slice(start, i + 1));
    }
  }
  return found;
}

function delimitedFields(text: string, options: StandinOptions): (string | null)[][] {
  const nullAs = options.nullAs ?? '\\N';
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(options.delimiter).map((f) => (f === nullAs ? null : f)));
}

/** CSV: quoted fields may hold delimiters, newlines and doubled quotes. */
function csvFields(text: string, options: StandinOptions): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  const endField = () => {
    row.push(!wasQuoted && field === (options.nullAs ?? '') ? null : field);
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (quoted) {
      if (c === options.quote && text[i + 1] === options.quote) {
        field += c;
        i += 1;
      } else if (c === options.quote) quoted = false;
      else field += c;
    } else if (c === options.quote) {
      quoted = true;
      wasQuoted = true;
    } else if (c === options.delimiter) endField();
    else if (c === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}
