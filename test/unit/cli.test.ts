import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { SigV4Verifier } from '../../src/api/auth/sigv4-verifier.js';
import { SETTINGS } from '../../src/config/env.js';
import { FirehoseError } from '../../src/errors/catalogue.js';
import type { DeadBatch, ReplayCandidate } from '../../src/cli/admin-client.js';
import { DEFAULT_ENDPOINT } from '../../src/cli/endpoint.js';
import { REPLAY_TYPES } from '../../src/cli/replay-command.js';
import { runCli } from '../../src/cli/run-cli.js';
import { freePort, listenOnLoopback } from '../support/free-port.js';

/**
 * The `sluice` CLI run in-process (`runCli`) against a fake of Sluice's admin API: a real HTTP
 * server on loopback that implements the contract (dead list, replay selection, replay of one
 * item, error bodies) over in-memory state and records every request it gets.
 */

interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

interface ErrorAnswer {
  status: number;
  error: string;
  message: string;
}

/** The admin API over in-memory state. */
class FakeAdmin {
  requests: RecordedRequest[] = [];
  dead = new Map<string, DeadBatch[]>();
  /** Items of every stream's selection; `replayed` is kept in {@link replayedIds}. */
  items: Omit<ReplayCandidate, 'replayed'>[] = [];
  replayedIds = new Set<string>();
  /** Items the server declines to replay, with its reason. */
  serverSkips = new Map<string, string>();
  /** Items whose replay answers this error, `times` times (then they succeed). */
  failures = new Map<string, ErrorAnswer & { times: number }>();
  /** Most items one selection answer holds; past it the answer says `truncated`. */
  pageLimit = Number.POSITIVE_INFINITY;
  /** When set, every request must carry a valid SigV4 signature made with these keys. */
  verifier: SigV4Verifier | undefined;
  /** When set, answers every selection with this body (to test answers of the wrong shape). */
  selectionOverride: unknown;

  reset(): void {
    this.requests = [];
    this.dead.clear();
    this.items = [];
    this.replayedIds.clear();
    this.serverSkips.clear();
    this.failures.clear();
    this.verifier = undefined;
    this.selectionOverride = undefined;
    this.pageLimit = Number.POSITIVE_INFINITY;
  }

  /** The `since` of each selection request, in order (`null`: none). */
  selectionSinces(): (string | null)[] {
    return this.requests
      .filter((r) => r.path === '/admin/v1/replay/selection')
      .map((r) => r.query.get('since'));
  }

  /** Replay POSTs received, as their parsed bodies. */
  replayPosts(): unknown[] {
    return this.requests
      .filter((r) => r.method === 'POST' && r.path === '/admin/v1/replay/item')
      .map((r) => JSON.parse(r.body) as unknown);
  }

  async handle(request: RecordedRequest, rawUrl: string, res: ServerResponse): Promise<void> {
    this.requests.push(request);
    if (this.verifier !== undefined) {
      try {
        await this.verifier.verify({
          method: request.method,
          url: rawUrl,
          headers: request.headers,
          body: Buffer.from(request.body),
        });
      } catch (err) {
        if (!(err instanceof FirehoseError)) throw err;
        // Sluice checks signatures before routing, and answers as its Firehose API does.
        answer(res, err.status, { __type: err.type, message: err.message });
        return;
      }
    }
    const stream = request.query.get('stream') ?? '';
    if (request.method === 'GET' && request.path === '/admin/v1/dead') {
      const batches = this.dead.get(stream);
      if (batches === undefined) {
        answer(res, 404, {
          error: 'ResourceNotFoundException',
          message: `Firehose ${stream} under account 000000000000 not found.`,
        });
        return;
      }
      answer(res, 200, { batches });
      return;
    }
    if (request.method === 'GET' && request.path === '/admin/v1/replay/selection') {
      if (this.selectionOverride !== undefined) {
        answer(res, 200, this.selectionOverride);
        return;
      }
      const type = request.query.get('type');
      const since = request.query.get('since');
      const until = request.query.get('until');
      // As Sluice's: oldest first, both bounds inclusive, capped with `truncated`.
      const matching = this.items
        .filter((item) => item.stream === stream)
        .filter((item) => type === null || item.type === type)
        .filter((item) => since === null || item.atMs >= Number(since))
        .filter((item) => until === null || item.atMs <= Number(until))
        .sort((a, b) => a.atMs - b.atMs)
        .map((item) => ({ ...item, replayed: this.replayedIds.has(item.id) }));
      answer(res, 200, {
        items: matching.slice(0, this.pageLimit),
        truncated: matching.length > this.pageLimit,
      });
      return;
    }
    if (request.method === 'POST' && request.path === '/admin/v1/replay/item') {
      const { id } = JSON.parse(request.body) as { id: string };
      const failure = this.failures.get(id);
      if (failure !== undefined && failure.times > 0) {
        failure.times -= 1;
        answer(res, failure.status, { error: failure.error, message: failure.message });
        return;
      }
      const skipped = this.serverSkips.get(id);
      if (skipped !== undefined) {
        answer(res, 200, { id, records: 0, skipped });
        return;
      }
      const item = this.items.find((i) => i.id === id);
      if (item === undefined) {
        answer(res, 404, { error: 'NotFound', message: `no item ${id}` });
        return;
      }
      this.replayedIds.add(id);
      answer(res, 200, { id, records: item.records });
      return;
    }
    answer(res, 400, {
      __type: 'UnknownOperationException',
      message: `Sluice's Firehose API answers POST / only (got ${request.method} ${rawUrl})`,
    });
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const admin = new FakeAdmin();
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://placeholder');
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      admin.handle(recorded, req.url ?? '/', res).catch((err: unknown) => {
        answer(res, 500, { error: 'FakeServerBug', message: String(err) });
      });
    });
  });
  endpoint = `http://127.0.0.1:${await listenOnLoopback(server)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  );
});

beforeEach(() => {
  admin.reset();
});

/** Runs the CLI as a shell would, with `SLUICE_ENDPOINT` pointing at the fake server. */
async function sluice(
  args: string[],
  options: { env?: Record<string, string>; isTTY?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { SLUICE_ENDPOINT: endpoint, ...options.env },
    isTTY: options.isTTY ?? false,
  });
  return { code, stdout, stderr };
}

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Five items of s1: three to replay (1,000 + 200 + 4 records), two replayed before. */
function seedSelection(): void {
  admin.items = [
    {
      id: 'e1',
      source: 'error-output',
      stream: 's1',
      type: 'processing-failed',
      records: 1000,
      atMs: T0,
    },
    {
      id: 'e2',
      source: 'error-output',
      stream: 's1',
      type: 'http-endpoint-failed',
      records: 7,
      atMs: T0 + 1,
    },
    { id: 'd1', source: 'dead-batch', stream: 's1', type: 'dead', records: 200, atMs: T0 + 2 },
    {
      id: 'e3',
      source: 'error-output',
      stream: 's1',
      type: 'processing-failed',
      records: 9,
      atMs: T0 + 3,
    },
    { id: 'd2', source: 'dead-batch', stream: 's1', type: 'dead', records: 4, atMs: T0 + 4 },
  ];
  admin.replayedIds = new Set(['e2', 'e3']);
}

describe('help', () => {
  it('sluice --help lists every subcommand, on stdout, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await sluice([flag]);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain('Usage: sluice <command> [options]');
      expect(run.stdout).toMatch(/^ {2}replay +Replay/m);
      expect(run.stdout).toMatch(/^ {2}dead +List/m);
      expect(run.stdout).toContain('SLUICE_ENDPOINT');
    }
  });

  it('sluice without a command prints the help on stderr and exits 2', async () => {
    const run = await sluice([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: sluice <command> [options]');
  });

  it('replay --help documents every option and every type', async () => {
    const run = await sluice(['replay', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: sluice replay --stream <name> [options]');
    for (const option of [
      '--stream <name>',
      '--to <name>',
      '--type <type>',
      '--since <time>',
      '--until <time>',
      '--dry-run',
      '--json',
      '--endpoint <url>',
      '--region <region>',
      '-h, --help',
    ]) {
      expect(run.stdout).toContain(option);
    }
    const flat = run.stdout.replace(/\s+/g, ' ');
    for (const type of REPLAY_TYPES) expect(flat).toContain(type);
    expect(admin.requests).toEqual([]);
  });

  it('dead --help documents its options; help wins over other arguments', async () => {
    for (const args of [
      ['dead', '--help'],
      ['dead', '--stream', 's1', '-h'],
      ['dead', '--bogus', '--help'],
      ['help', 'dead'],
    ]) {
      const run = await sluice(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: sluice dead --stream <name> [options]');
      for (const option of ['--stream <name>', '--json', '--endpoint <url>']) {
        expect(run.stdout).toContain(option);
      }
    }
    expect(admin.requests).toEqual([]);
  });
});

describe('wrong command lines exit 2 and send nothing', () => {
  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['--stream', 's1'], 'unknown option --stream (options go after the command)'],
    [['help', 'frobnicate'], 'unknown command "frobnicate"'],
    [['replay', '--stream', 's1', '--bogus'], 'unknown option --bogus'],
    [['replay', '--stream', 's1', '-x'], 'unknown option -x'],
    [['replay', '--stream', 's1', 'extra'], 'unexpected argument "extra"'],
    [['replay'], 'missing --stream <name>'],
    [['replay', '--to', 's2'], 'missing --stream <name>'],
    [['dead'], 'missing --stream <name>'],
    [
      ['dead', '--stream', 's1', '--limit', '0'],
      '--limit must be a whole number from 1 to 10000, got "0"',
    ],
    [
      ['dead', '--stream', 's1', '--limit', '5x'],
      '--limit must be a whole number from 1 to 10000, got "5x"',
    ],
    [['replay', '--stream'], '--stream needs a value'],
    [['replay', '--stream', '--json'], '--stream needs a value'],
    [['replay', '--stream', 's1', '--stream', 's2'], '--stream is given more than once'],
    [['replay', '--stream', 's1', '--json=yes'], '--json takes no value'],
    [['replay', '--stream', 'bad name'], '--stream "bad name" is not a delivery stream name'],
    [['replay', '--stream', 's1', '--to', 'x/y'], '--to "x/y" is not a delivery stream name'],
    [
      ['replay', '--stream', 's1', '--type', 'processing'],
      '--type "processing" is not one of processing-failed, decompression-failed, http-endpoint-failed',
    ],
    [['replay', '--stream', 's1', '--since', 'yesterday'], '--since "yesterday" is not a time'],
    [
      ['replay', '--stream', 's1', '--since', '2024-02-30'],
      '--since 2024-02-30 is not a valid date',
    ],
    [
      ['replay', '--stream', 's1', '--until', '2024-05-01T25:00:00Z'],
      '--until 2024-05-01T25:00:00Z is not a valid date',
    ],
    [
      ['replay', '--stream', 's1', '--since', '1714564800'],
      '--since 1714564800 looks like epoch seconds',
    ],
    [['replay', '--stream', 's1', '--since', '2h', '--until', '3h'], 'must not be after --until'],
    [
      ['replay', '--stream', 's1', '--endpoint', 'not a url'],
      '--endpoint "not a url" is not a URL',
    ],
    [
      ['replay', '--stream', 's1', '--endpoint', 'ftp://127.0.0.1:1'],
      'must be an http:// or https:// URL',
    ],
    [['dead', '--stream', 's1', '--region', 'EU West'], '--region "EU West" is not a region name'],
  ])('sluice %j', async (args, message) => {
    const run = await sluice(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(admin.requests).toEqual([]);
  });

  it('names the command and points at its help', async () => {
    const run = await sluice(['replay', '--since', '2h']);
    expect(run.stderr).toBe(
      "sluice replay: missing --stream <name>\nRun 'sluice replay --help' for usage.\n",
    );
  });

  it('only one of the two AWS keys set is an error, not a silent unsigned request', async () => {
    const run = await sluice(['dead', '--stream', 's1'], {
      env: { AWS_ACCESS_KEY_ID: 'AKIDONLY' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not');
    expect(admin.requests).toEqual([]);
  });
});

describe('replay', () => {
  it('replays item by item, skips what was replayed before and sums it up', async () => {
    seedSelection();
    const run = await sluice(['replay', '--stream', 's1', '--to', 's2']);
    expect(run).toEqual({
      code: 0,
      stdout: 'Replayed 3 items (1,204 records) from s1 into s2; skipped 2 already replayed.\n',
      stderr: '',
    });
    expect(admin.requests[0]?.method).toBe('GET');
    expect(admin.requests[0]?.path).toBe('/admin/v1/replay/selection');
    expect([...(admin.requests[0]?.query ?? [])]).toEqual([['stream', 's1']]);
    expect(admin.replayPosts()).toEqual([
      { stream: 's1', to: 's2', id: 'e1' },
      { stream: 's1', to: 's2', id: 'd1' },
      { stream: 's1', to: 's2', id: 'd2' },
    ]);
    expect(admin.requests.find((r) => r.method === 'POST')?.headers['content-type']).toBe(
      'application/json',
    );

    // Run again: everything is replayed now, nothing is sent twice.
    admin.requests = [];
    const again = await sluice(['replay', '--stream', 's1', '--to', 's2']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('Nothing to replay from s1 into s2; skipped 5 already replayed.\n');
    expect(admin.replayPosts()).toEqual([]);
  });

  it('replays into the stream itself without --to', async () => {
    seedSelection();
    const run = await sluice(['replay', '--stream', 's1']);
    expect(run.stdout).toBe(
      'Replayed 3 items (1,204 records) from s1 into s1; skipped 2 already replayed.\n',
    );
    expect(admin.replayPosts()).toContainEqual({ stream: 's1', to: 's1', id: 'e1' });
  });

  it('counts items the server declines, with its reason', async () => {
    seedSelection();
    admin.serverSkips.set('d1', 'batch is being delivered');
    const run = await sluice(['replay', '--stream', 's1', '--to', 's2']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Replayed 2 items (1,004 records) from s1 into s2; skipped 2 already replayed, 1 batch is being delivered.\n',
    );
  });

  it('--json prints a machine-readable summary', async () => {
    seedSelection();
    admin.serverSkips.set('d2', 'stream is deleting');
    const run = await sluice(['replay', '--stream', 's1', '--to', 's2', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      stream: 's1',
      to: 's2',
      dryRun: false,
      completed: true,
      replayed: { items: 2, records: 1200 },
      skipped: {
        items: 3,
        records: 20,
        byReason: { 'already replayed': 2, 'stream is deleting': 1 },
      },
      items: [
        {
          id: 'e1',
          source: 'error-output',
          type: 'processing-failed',
          records: 1000,
          atMs: T0,
          outcome: 'replayed',
          replayedRecords: 1000,
        },
        {
          id: 'e2',
          source: 'error-output',
          type: 'http-endpoint-failed',
          records: 7,
          atMs: T0 + 1,
          outcome: 'skipped',
          reason: 'already replayed',
        },
        {
          id: 'd1',
          source: 'dead-batch',
          type: 'dead',
          records: 200,
          atMs: T0 + 2,
          outcome: 'replayed',
          replayedRecords: 200,
        },
        {
          id: 'e3',
          source: 'error-output',
          type: 'processing-failed',
          records: 9,
          atMs: T0 + 3,
          outcome: 'skipped',
          reason: 'already replayed',
        },
        {
          id: 'd2',
          source: 'dead-batch',
          type: 'dead',
          records: 4,
          atMs: T0 + 4,
          outcome: 'skipped',
          reason: 'stream is deleting',
        },
      ],
    });
  });

  it('passes --type, --since and --until to the selection as epoch milliseconds', async () => {
    seedSelection();
    const run = await sluice([
      'replay',
      '--stream',
      's1',
      '--type',
      'dead',
      '--since',
      '2024-05-01T14:00:00.000+02:00',
      '--until',
      String(T0 + 3),
    ]);
    expect(run.code).toBe(0);
    expect(Object.fromEntries(admin.requests[0]?.query ?? [])).toEqual({
      stream: 's1',
      type: 'dead',
      since: String(T0),
      until: String(T0 + 3),
    });
    // Only d1 is dead, not replayed and within the window.
    expect(admin.replayPosts()).toEqual([{ stream: 's1', to: 's1', id: 'd1' }]);
    expect(run.stdout).toBe('Replayed 1 item (200 records) from s1 into s1.\n');
  });

  it('reads an age such as 2h as that long before now, and a bare ISO time as UTC', async () => {
    const before = Date.now();
    const run = await sluice([
      'replay',
      '--stream',
      's1',
      '--since',
      '2h',
      '--until',
      '2099-05-01T12:00',
    ]);
    const after = Date.now();
    expect(run.code).toBe(0);
    const query = admin.requests[0]?.query;
    const since = Number(query?.get('since'));
    expect(since).toBeGreaterThanOrEqual(before - 2 * 3_600_000);
    expect(since).toBeLessThanOrEqual(after - 2 * 3_600_000);
    expect(query?.get('until')).toBe(String(Date.UTC(2099, 4, 1, 12, 0, 0)));
  });

  it('--dry-run lists what would be replayed and replays nothing', async () => {
    seedSelection();
    const run = await sluice(['replay', '--stream', 's1', '--to', 's2', '--dry-run']);
    expect(run.code).toBe(0);
    expect(admin.replayPosts()).toEqual([]);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID +SOURCE +TYPE +RECORDS +AT +ACTION$/);
    expect(lines[1]).toMatch(
      /^e1 +error-output +processing-failed +1,000 +2024-05-01T12:00:00\.000Z +replay$/,
    );
    expect(lines[2]).toMatch(
      /^e2 +error-output +http-endpoint-failed +7 .* skip \(already replayed\)$/,
    );
    expect(run.stdout).toContain(
      '\nWould replay 3 items (1,204 records) from s1 into s2; would skip 2 already replayed.\n',
    );

    const json = await sluice(['replay', '--stream', 's1', '--dry-run', '--json']);
    const document = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(document).toMatchObject({
      dryRun: true,
      toReplay: { items: 3, records: 1204 },
      skipped: { items: 2, byReason: { 'already replayed': 2 } },
    });
    expect(admin.replayPosts()).toEqual([]);
  });

  it('says so when nothing matches', async () => {
    const run = await sluice(['replay', '--stream', 'empty', '--to', 's2']);
    expect(run).toEqual({ code: 0, stdout: 'Nothing to replay from empty into s2.\n', stderr: '' });
  });

  it('stops at a failed item: exit 1, the server message, and what was and was not replayed', async () => {
    seedSelection();
    admin.failures.set('d1', {
      status: 503,
      error: 'ServiceUnavailableException',
      message: 'Redis is loading the dataset in memory',
      times: 2,
    });
    const run = await sluice(['replay', '--stream', 's1', '--to', 's2']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      'Replayed 1 item (1,000 records) from s1 into s2; skipped 2 already replayed; not replayed: 2 items (204 records) from the failed one on.\n',
    );
    expect(run.stderr).toBe(
      'sluice replay: replay stopped at item d1: Redis is loading the dataset in memory (ServiceUnavailableException, HTTP 503). Items replayed before it stay replayed; run the same command again to continue.\n',
    );
    // d2 was not tried after d1 failed.
    expect(admin.replayPosts()).toEqual([
      { stream: 's1', to: 's2', id: 'e1' },
      { stream: 's1', to: 's2', id: 'd1' },
    ]);

    const json = await sluice(['replay', '--stream', 's1', '--to', 's2', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      completed: false,
      replayed: { items: 0, records: 0 },
      notReplayed: { items: 2, records: 204 },
      error: {
        code: 'ServiceUnavailableException',
        message: 'Redis is loading the dataset in memory (ServiceUnavailableException, HTTP 503)',
      },
    });
  });
});

describe('replay of long selections and full buffers', () => {
  it('reads a selection the server cut short page by page, from the last time on, each item once', async () => {
    seedSelection();
    admin.replayedIds.clear();
    // A tie at the page boundary: e3 shares d1's time and is cut from the first answer.
    admin.items = admin.items.map((item) => (item.id === 'e3' ? { ...item, atMs: T0 + 2 } : item));
    admin.pageLimit = 2;
    const run = await sluice(['replay', '--stream', 's1', '--dry-run', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const document = JSON.parse(run.stdout) as { items: { id: string }[] };
    expect(document.items.map((item) => item.id)).toEqual(['e1', 'e2', 'd1', 'e3', 'd2']);
    // The third answer is all at T0 + 2: that millisecond alone is read, then what follows it.
    expect(admin.selectionSinces()).toEqual([
      null,
      String(T0 + 1),
      String(T0 + 2),
      String(T0 + 2),
      String(T0 + 3),
    ]);
    expect(admin.requests[3]?.query.get('until')).toBe(String(T0 + 2));
  });

  it('fails, rather than loop, when a cut-short selection cannot advance', async () => {
    admin.items = ['a', 'b', 'c'].map((id) => ({
      id,
      source: 'error-output' as const,
      stream: 's1',
      type: 'processing-failed',
      records: 1,
      atMs: T0,
    }));
    admin.pageLimit = 2;
    const run = await sluice(['replay', '--stream', 's1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'more items have the time 2024-05-01T12:00:00.000Z than the server returns in one answer',
    );
    expect(admin.replayPosts()).toEqual([]);
  });

  it('tries an item again after a Backpressure answer', async () => {
    seedSelection();
    admin.failures.set('d1', {
      status: 503,
      error: 'Backpressure',
      message: 'stream s2 is over its buffer limit; 120 records went in',
      times: 1,
    });
    const run = await sluice(['replay', '--stream', 's1', '--to', 's2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Replayed 3 items (1,204 records) from s1 into s2; skipped 2 already replayed.\n',
    );
    expect(admin.replayPosts().filter((post) => (post as { id: string }).id === 'd1')).toHaveLength(
      2,
    );
  });
});

describe('progress bar', () => {
  it('is drawn on stderr, redrawn in place, only when stderr is a terminal', async () => {
    seedSelection();
    const tty = await sluice(['replay', '--stream', 's1', '--to', 's2'], { isTTY: true });
    expect(tty.code).toBe(0);
    // One drawing before the first item, one after each of the three.
    const drawings = tty.stderr.split('\r').slice(1);
    expect(drawings).toHaveLength(4);
    expect(drawings[0]).toBe(`[${'.'.repeat(24)}]   0% 0/1,204 records, 0/3 items\u001b[K`);
    expect(drawings[1]).toContain('1,000/1,204 records, 1/3 items');
    expect(drawings[3]).toBe(`[${'#'.repeat(24)}] 100% 1,204/1,204 records, 3/3 items\u001b[K\n`);
    expect(tty.stdout).toBe(
      'Replayed 3 items (1,204 records) from s1 into s2; skipped 2 already replayed.\n',
    );

    admin.replayedIds.clear();
    const piped = await sluice(['replay', '--stream', 's1', '--to', 's2'], { isTTY: false });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toBe('Replayed 5 items (1,220 records) from s1 into s2.\n');
  });

  it('is not drawn for a dry run or when there is nothing to replay', async () => {
    seedSelection();
    const dry = await sluice(['replay', '--stream', 's1', '--dry-run'], { isTTY: true });
    expect(dry.stderr).toBe('');
    const none = await sluice(['replay', '--stream', 'empty'], { isTTY: true });
    expect(none.stderr).toBe('');
  });
});

describe('dead', () => {
  const batches: DeadBatch[] = [
    {
      stream: 's1',
      batchId: '01HZX3-aaaa',
      records: 1204,
      bytes: 1_048_576,
      firstArrivalMs: T0 - 60_000,
      deadAtMs: T0,
      reason: 'S3 answered AccessDenied\nfor every attempt',
    },
    {
      stream: 's1',
      batchId: 'b2',
      records: 1,
      bytes: 12,
      firstArrivalMs: T0,
      deadAtMs: T0 + 90_000,
      reason: 'retry window over',
    },
  ];

  it('lists dead batches as a table', async () => {
    admin.dead.set('s1', batches);
    const run = await sluice(['dead', '--stream', 's1']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      [
        'BATCH ID     RECORDS      BYTES  DEAD AT                   REASON',
        '01HZX3-aaaa    1,204  1,048,576  2024-05-01T12:00:00.000Z  S3 answered AccessDenied for every attempt',
        'b2                 1         12  2024-05-01T12:01:30.000Z  retry window over',
        '',
      ].join('\n'),
    );
    expect(admin.requests).toHaveLength(1);
    expect(admin.requests[0]?.path).toBe('/admin/v1/dead');
    expect(admin.requests[0]?.query.get('stream')).toBe('s1');
  });

  it('--limit asks for at most that many batches', async () => {
    admin.dead.set('s1', batches);
    const run = await sluice(['dead', '--stream', 's1', '--limit', '25']);
    expect(run.code).toBe(0);
    expect(admin.requests[0]?.query.get('limit')).toBe('25');
  });

  it('--json prints the batches as JSON', async () => {
    admin.dead.set('s1', batches);
    const run = await sluice(['dead', '--stream', 's1', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ stream: 's1', batches });
  });

  it('says so when there are none', async () => {
    admin.dead.set('s1', []);
    const run = await sluice(['dead', '--stream', 's1']);
    expect(run).toEqual({ code: 0, stdout: 'No dead batches in s1.\n', stderr: '' });
  });
});

describe('failures exit 1 with a message on stderr', () => {
  it("surfaces the server's error code and message", async () => {
    const run = await sluice(['dead', '--stream', 'nope']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'sluice dead: Firehose nope under account 000000000000 not found. (ResourceNotFoundException, HTTP 404)\n',
    );
  });

  it('rejects an answer of the wrong shape, naming the field', async () => {
    admin.selectionOverride = { items: [{ id: 'x', source: 'somewhere' }] };
    const run = await sluice(['replay', '--stream', 's1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('unexpected answer from GET');
    expect(run.stderr).toContain('/admin/v1/replay/selection');
    expect(run.stderr).toContain('items[0].source');
  });

  it('says when Sluice cannot be reached, with the password of the endpoint redacted', async () => {
    const closed = await freePort();
    const run = await sluice([
      'dead',
      '--stream',
      's1',
      '--endpoint',
      `http://admin:hunter2secret@127.0.0.1:${closed}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach Sluice at http://***@127.0.0.1:${closed}`);
    expect(run.stderr).toContain('ECONNREFUSED');
    expect(run.stderr).not.toContain('hunter2secret');
  });
});

describe('endpoint', () => {
  it("defaults to the server's default address", () => {
    expect(DEFAULT_ENDPOINT).toBe(
      `http://${SETTINGS.SLUICE_HOST.default}:${SETTINGS.SLUICE_PORT.default}`,
    );
    expect(DEFAULT_ENDPOINT).toBe('http://127.0.0.1:4573');
  });

  it('--endpoint wins over SLUICE_ENDPOINT; a path prefix is kept', async () => {
    admin.dead.set('s1', []);
    const run = await sluice(['dead', '--stream', 's1', '--endpoint', `${endpoint}/sluice/`], {
      env: { SLUICE_ENDPOINT: 'http://127.0.0.1:1' },
    });
    // The fake serves no /sluice prefix: its answer shows the path the CLI asked for.
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "sluice dead: Sluice's Firehose API answers POST / only (got GET /sluice/admin/v1/dead?stream=s1) (UnknownOperationException, HTTP 400) — this Sluice has no admin API; is it older than the CLI?\n",
    );
  });

  it('sends the user-info of an endpoint as Basic authorization', async () => {
    admin.dead.set('s1', []);
    const withUser = endpoint.replace('http://', 'http://ops:p%40ss@');
    const run = await sluice(['dead', '--stream', 's1', '--endpoint', withUser]);
    expect(run.code).toBe(0);
    expect(admin.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('ops:p@ss').toString('base64')}`,
    );
  });
});

describe('request signing', () => {
  const keys = { AWS_ACCESS_KEY_ID: 'AKIDCLITEST', AWS_SECRET_ACCESS_KEY: 'cli-test-secret-key' };

  it('signs every request with SigV4 for firehose when the AWS keys are set', async () => {
    seedSelection();
    admin.verifier = new SigV4Verifier({
      keys: new Map([[keys.AWS_ACCESS_KEY_ID, keys.AWS_SECRET_ACCESS_KEY]]),
      region: 'eu-west-1',
    });
    const run = await sluice(['replay', '--stream', 's1', '--region', 'eu-west-1'], { env: keys });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(admin.requests).toHaveLength(4);
    for (const request of admin.requests) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDCLITEST\/\d{8}\/eu-west-1\/firehose\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
    }
  });

  it('takes the region from AWS_REGION, else SLUICE_REGION, else us-east-1', async () => {
    admin.dead.set('s1', []);
    const regionOf = async (env: Record<string, string>) => {
      admin.requests = [];
      await sluice(['dead', '--stream', 's1'], { env: { ...keys, ...env } });
      return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(
        admin.requests[0]?.headers.authorization ?? '',
      )?.[1];
    };
    expect(await regionOf({ AWS_REGION: 'ap-south-1', SLUICE_REGION: 'eu-north-1' })).toBe(
      'ap-south-1',
    );
    expect(await regionOf({ SLUICE_REGION: 'eu-north-1' })).toBe('eu-north-1');
    expect(await regionOf({})).toBe('us-east-1');
  });

  it('a signature with the wrong secret is refused by the server, and the refusal shown', async () => {
    admin.verifier = new SigV4Verifier({ keys: new Map([['AKIDCLITEST', 'the-real-secret']]) });
    const run = await sluice(['dead', '--stream', 's1'], { env: keys });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'The request signature we calculated does not match the signature you provided',
    );
    expect(run.stderr).toMatch(/\(InvalidSignatureException, HTTP 4\d\d\)\n$/);
    expect(run.stderr).not.toContain(keys.AWS_SECRET_ACCESS_KEY);
  });

  it('sends no Authorization header without the keys', async () => {
    seedSelection();
    const run = await sluice(['replay', '--stream', 's1']);
    expect(run.code).toBe(0);
    expect(admin.requests).toHaveLength(4);
    for (const request of admin.requests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers['x-amz-date']).toBeUndefined();
    }
  });
});
