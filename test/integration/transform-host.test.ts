import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  TransformHost,
  TransformLoadError,
  type TransformInput,
  type TransformRecordOutcome,
} from '../../src/processors/transforms/transform-host.js';
import type { TransformRef } from '../../src/processors/transforms/transform-ref.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { cleanupAfterAll, eventually, tempDir } from '../support/e2e.js';
import { listenOnLoopback } from '../support/free-port.js';

/**
 * The transform host with real worker threads, real modules (test/fixtures/transforms, and
 * modules written to temporary directories for hot reload) and real HTTP servers on loopback
 * for remote transforms. Everything a transform can do wrong (throw, hang, loop, exhaust its
 * memory, end its thread, break the contract) happens for real, in this process's threads:
 * that this test process lives on to run the next test is part of what is tested.
 */

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/transforms');
const STREAM = {
  streamName: 'clicks',
  streamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/clicks',
};
const NO_RETRIES = { ...STREAM, numberOfRetries: 0 };
const TIMEOUT_MS = 1_500;
const MEMORY_LIMIT_MB = 64;

const suite = cleanupAfterAll();

/** A logger whose lines are kept, parsed, for assertions. */
function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

function hostFor(
  transformsDir: string,
  log: Logger,
  overrides: Partial<{ workers: number; timeoutMs: number }> = {},
): TransformHost {
  const host = new TransformHost({
    transformsDir,
    workers: overrides.workers ?? 2,
    timeoutMs: overrides.timeoutMs ?? TIMEOUT_MS,
    memoryLimitMb: MEMORY_LIMIT_MB,
    log,
  });
  suite.add(() => host.close());
  return host;
}

function records(...texts: string[]): TransformInput[] {
  return texts.map((text, i) => ({
    id: `r${i}`,
    arrivalMs: 1_717_236_000_000 + i,
    data: Buffer.from(text),
  }));
}

const local = (name: string): TransformRef => ({ kind: 'local', name });

/** Outcomes with data as text, for readable expectations. */
function readable(outcomes: readonly TransformRecordOutcome[]): unknown[] {
  return outcomes.map((outcome) =>
    outcome.result === 'Ok' ? { ...outcome, data: outcome.data.toString('utf8') } : outcome,
  );
}

/** Every outcome a Lambda.FunctionError whose message matches `message`. */
function expectFunctionErrors(outcomes: readonly TransformRecordOutcome[], message: RegExp): void {
  expect(outcomes.length).toBeGreaterThan(0);
  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ result: 'ProcessingFailed', code: 'Lambda.FunctionError' });
    expect((outcome as { message: string }).message).toMatch(message);
  }
}

describe('local transforms', () => {
  const { log, lines } = capturedLog();
  let host: TransformHost;

  beforeAll(() => {
    host = hostFor(FIXTURES, log);
  });

  /** The host still works: a healthy transform answers. */
  async function expectHealthy(): Promise<void> {
    expect(readable(await host.invoke(local('shout'), records('still here'), NO_RETRIES))).toEqual([
      { result: 'Ok', data: 'STILL HERE' },
    ]);
  }

  it('runs a Lambda-form transform', async () => {
    const outcomes = await host.invoke(local('shout'), records('a', 'b\n', ''), NO_RETRIES);
    expect(readable(outcomes)).toEqual([
      { result: 'Ok', data: 'A' },
      { result: 'Ok', data: 'B\n' },
      { result: 'Ok', data: '' },
    ]);
  });

  it('runs a record-form transform (json) with every kind of outcome', async () => {
    const outcomes = await host.invoke(
      local('enrich-json'),
      records(
        '{"page":"/a"}',
        '{"drop":true}',
        '{"fail":"no page"}',
        '{"throw":"kaput"}',
        '{"page":"/b","key":"k1"}',
        'not json',
      ),
      NO_RETRIES,
    );
    expect(readable(outcomes)).toEqual([
      { result: 'Ok', data: '{"page":"/a","seen":true,"id":"r0"}\n' },
      { result: 'Dropped' },
      { result: 'ProcessingFailed', code: 'Lambda.ProcessingFailedStatus', message: 'no page' },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.ProcessingFailedStatus',
        message: 'The transform threw: kaput',
      },
      {
        result: 'Ok',
        data: '{"page":"/b","key":"k1","seen":true,"id":"r4"}\n',
        partitionKeys: { key: 'k1' },
      },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.ProcessingFailedStatus',
        message: expect.stringMatching(/^The record is not JSON \(SyntaxError: /) as unknown,
      },
    ]);
  });

  it('runs record-form transforms over text (custom delimiter) and bytes', async () => {
    expect(
      readable(await host.invoke(local('upper-text'), records('ab', 'ç'), NO_RETRIES)),
    ).toEqual([
      { result: 'Ok', data: 'AB;' },
      { result: 'Ok', data: 'Ç;' },
    ]);
    const bytes = await host.invoke(
      local('reverse-bytes'),
      [
        { id: 'x', arrivalMs: 1, data: Buffer.from([0, 1, 255]) },
        { id: 'y', arrivalMs: 2, data: Buffer.alloc(0) },
      ],
      NO_RETRIES,
    );
    expect(bytes).toEqual([
      { result: 'Ok', data: Buffer.from([255, 1, 0]) },
      { result: 'Dropped' },
    ]);
  });

  it('fails records a record-form transform returns the wrong thing for, with the fix', async () => {
    const outcomes = await host.invoke(
      local('wrong-returns'),
      records('number', 'nothing', 'keys', 'fine'),
      NO_RETRIES,
    );
    expect(readable(outcomes)).toEqual([
      {
        result: 'ProcessingFailed',
        code: 'Lambda.JsonProcessingException',
        message: expect.stringMatching(
          /returned a number for a 'text' record: return a string/,
        ) as unknown,
      },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.JsonProcessingException',
        message: expect.stringMatching(/returned undefined for a 'text' record/) as unknown,
      },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.JsonProcessingException',
        message: 'ok(…, { partitionKeys }).n is a number: partition key values must be strings',
      },
      { result: 'Ok', data: 'fine\n' },
    ]);
  });

  it('keeps many concurrent invocations apart, each answered in its own order', async () => {
    const invocations = Array.from({ length: 24 }, (_, n) =>
      records(...Array.from({ length: 50 }, (_, i) => `inv${n}-rec${i}`)),
    );
    const results = await Promise.all(
      invocations.map((group) => host.invoke(local('shout'), group, NO_RETRIES)),
    );
    results.forEach((outcomes, n) => {
      expect(readable(outcomes)).toEqual(
        Array.from({ length: 50 }, (_, i) => ({ result: 'Ok', data: `INV${n}-REC${i}` })),
      );
    });
  });

  it('loads a transform for an invocation without records, and answers nothing', async () => {
    expect(await host.invoke(local('upper-text'), [], NO_RETRIES)).toEqual([]);
    await expect(host.invoke(local('no-such-transform'), [], NO_RETRIES)).rejects.toThrow(
      TransformLoadError,
    );
  });

  describe('the Lambda contract', () => {
    it.each([
      [
        'missing',
        'Lambda.MissingRecordId',
        `The transform's response has no record with recordId "r0"`,
      ],
      [
        'duplicate',
        'Lambda.DuplicatedRecordId',
        `The transform's response has more than one record with recordId "r0"`,
      ],
      [
        'no-data',
        'Lambda.JsonProcessingException',
        'records[0] is Ok but has no data: an Ok record needs its new data, base64',
      ],
      [
        'bad-base64',
        'Lambda.JsonProcessingException',
        'records[0].data is not base64 (standard alphabet, padded, no line breaks)',
      ],
      [
        'bad-keys',
        'Lambda.JsonProcessingException',
        'records[0].metadata.partitionKeys.n is a number: partition key values must be strings',
      ],
    ])('%s: fails the record concerned with %s', async (mode, code, message) => {
      const outcomes = await host.invoke(local('misbehave'), records(mode, 'other'), NO_RETRIES);
      expect(outcomes[0]).toEqual({ result: 'ProcessingFailed', code, message });
      expect(readable(outcomes.slice(1))).toEqual([{ result: 'Ok', data: 'other' }]);
    });

    it.each([
      ['unknown-id', /records\[2\]\.recordId "nobody" is not a record of this invocation/],
      [
        'bad-result',
        /records\[0\]\.result is "OK": expected "Ok", "Dropped" or "ProcessingFailed"/,
      ],
      ['no-record-id', /records\[0\] has no recordId/],
      ['not-records', /is not \{"records": \[...\]\}: its records member is undefined/],
      ['not-object', /is not \{"records": \[...\]\}: it is a string/],
    ])('%s: fails every record with Lambda.JsonProcessingException', async (mode, message) => {
      const outcomes = await host.invoke(local('misbehave'), records(mode, 'other'), NO_RETRIES);
      expect(outcomes).toHaveLength(2);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({
          result: 'ProcessingFailed',
          code: 'Lambda.JsonProcessingException',
        });
        expect((outcome as { message: string }).message).toMatch(message);
      }
    });

    it('passes ProcessingFailed, Dropped and partition keys through', async () => {
      expect(await host.invoke(local('misbehave'), records('failed'), NO_RETRIES)).toEqual([
        {
          result: 'ProcessingFailed',
          code: 'Lambda.ProcessingFailedStatus',
          message: 'The record was marked ProcessingFailed by the transform.',
        },
      ]);
      expect(await host.invoke(local('misbehave'), records('dropped'), NO_RETRIES)).toEqual([
        { result: 'Dropped' },
      ]);
      expect(readable(await host.invoke(local('misbehave'), records('keys'), NO_RETRIES))).toEqual([
        { result: 'Ok', data: 'keys', partitionKeys: { first: 'yes' } },
      ]);
    });
  });

  describe('invocation failures', () => {
    it('a Lambda-form throw or rejection fails every record with Lambda.FunctionError', async () => {
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('throw', 'x'), NO_RETRIES),
        /^The transform sluice:transform:misbehave threw: thrown on purpose \(1 attempt\)$/,
      );
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('reject'), { ...STREAM, numberOfRetries: 1 }),
        /^The transform sluice:transform:misbehave threw: TypeError: rejected on purpose \(2 attempts\)$/,
      );
      const logged = lines.filter((l) => l.msg === 'transform invocation failed').at(-1);
      expect(logged).toMatchObject({
        level: 40,
        transform: 'sluice:transform:misbehave',
        attempts: 2,
      });
    });

    it('a hang times out (the worker is stopped), and the host goes on', async () => {
      const started = Date.now();
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('hang'), NO_RETRIES),
        /^Sluice encountered timeout errors when calling the transform sluice:transform:misbehave: no answer within 1500 ms; its worker was stopped \(1 attempt\)$/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      await expectHealthy();
    });

    it('an endless loop times out (the worker is terminated), and the host goes on', async () => {
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('loop'), NO_RETRIES),
        /no answer within 1500 ms; its worker was stopped/,
      );
      await expectHealthy();
    });

    it('running out of memory ends only the worker, and the host goes on', async () => {
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('oom'), NO_RETRIES),
        /^The transform sluice:transform:misbehave failed: it ran out of memory \(the limit is 64 MB of JavaScript heap\) and its worker was stopped \(1 attempt\)$/,
      );
      await expectHealthy();
    });

    it('process.exit() in a transform ends only its worker thread', async () => {
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('exit'), NO_RETRIES),
        /^The transform sluice:transform:misbehave failed: it ended its worker \(exit code 3\) before answering \(1 attempt\)$/,
      );
      await expectHealthy();
    });

    it('an error thrown outside the invocation ends its worker and fails the invocation', async () => {
      expectFunctionErrors(
        await host.invoke(local('misbehave'), records('uncaught'), NO_RETRIES),
        /failed: an error nothing caught ended its worker: thrown outside the invocation \(1 attempt\)$/,
      );
      await expectHealthy();
    });

    it('retries NumberOfRetries times: two failures, then success on the third attempt', async () => {
      const dir = await tempDir(suite, 'sluice-retries-');
      const counter = join(dir, 'count');
      const outcomes = await host.invoke(
        local('fail-first'),
        records(JSON.stringify({ counter, failures: 2 }), 'second'),
        { ...STREAM, numberOfRetries: 2 },
      );
      expect(outcomes.map((o) => o.result)).toEqual(['Ok', 'Ok']);
      expect(await readFile(counter, 'utf8')).toBe('3');
    });

    it('gives up after NumberOfRetries + 1 attempts, with the last error', async () => {
      const dir = await tempDir(suite, 'sluice-retries-');
      const counter = join(dir, 'count');
      expectFunctionErrors(
        await host.invoke(
          local('fail-first'),
          records(JSON.stringify({ counter, failures: 5 }), 'second'),
          { ...STREAM, numberOfRetries: 2 },
        ),
        /threw: failing invocation 3 of 5 \(3 attempts\)$/,
      );
      expect(await readFile(counter, 'utf8')).toBe('3');
    });
  });

  describe('modules that cannot be loaded', () => {
    it.each([
      [
        'no-such-transform',
        'Lambda.ResourceNotFound',
        /there is no no-such-transform\.ts, \.mts, \.js or \.mjs in /,
      ],
      [
        'not-a-transform',
        'Sluice.TransformLoadFailed',
        /its default export is not made by defineTransform/,
      ],
      [
        'no-default',
        'Sluice.TransformLoadFailed',
        /it has no default export: end it with export default defineTransform/,
      ],
    ])('%s: TransformLoadError %s, reported once', async (name, code, reason) => {
      for (let i = 0; i < 3; i += 1) {
        const error = await host.invoke(local(name), records('x'), NO_RETRIES).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TransformLoadError);
        expect(error).toMatchObject({ code, transform: name });
        expect((error as TransformLoadError).message).toMatch(reason);
      }
      const reports = lines.filter((l) => l.level === 50 && l.transform === name);
      expect(reports).toHaveLength(1);
      expect(reports[0]?.reason).toMatch(reason);
    });
  });

  describe('transform output', () => {
    it('goes to the log, tagged with the transform', async () => {
      const { log: outputLog, lines: outputLines } = capturedLog();
      const dir = await tempDir(suite, 'sluice-output-');
      await writeFile(
        join(dir, 'chatty.mjs'),
        `import { defineTransform } from 'sluice';
export default defineTransform({ decode: 'text', record(text) { console.log('saw ' + text); console.error('warned'); return text; } });
`,
      );
      const chattyHost = hostFor(dir, outputLog, { workers: 1 });
      await chattyHost.invoke(local('chatty'), records('a'), NO_RETRIES);
      const output = await eventually('the transform output logged', () => {
        const found = outputLines.filter((l) => l.transform === 'chatty');
        return found.length >= 2 && found;
      });
      expect(output).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 30, msg: 'transform stdout', output: 'saw a' }),
          expect.objectContaining({ level: 40, msg: 'transform stderr', output: 'warned' }),
        ]),
      );
    });
  });
});

describe('hot reload', () => {
  const { log, lines } = capturedLog();
  let dir: string;
  let host: TransformHost;

  beforeAll(async () => {
    dir = await tempDir(suite, 'sluice-reload-');
    await mkdir(join(dir, 'lib'));
    host = hostFor(dir, log);
  });

  async function okTexts(name: string, text: string): Promise<string[]> {
    const outcomes = await host.invoke(local(name), records(text), NO_RETRIES);
    return outcomes.map((o) => (o.result === 'Ok' ? o.data.toString('utf8') : JSON.stringify(o)));
  }

  /**
   * Invokes until the transform answers `expected`: edits show after at most ~250 ms, and until
   * then the old version answers, or its load error is thrown again.
   */
  async function eventuallyAnswers(name: string, expected: string): Promise<void> {
    await eventually(
      `${name} to answer ${expected}`,
      () =>
        okTexts(name, 'x').then(
          (texts) => texts[0] === expected,
          (error: unknown) => {
            if (error instanceof TransformLoadError) return false;
            throw error;
          },
        ),
      { timeoutMs: 5_000 },
    );
  }

  it('picks up an edited transform for the next invocations', async () => {
    const write = (version: string) =>
      writeFile(
        join(dir, 'versioned.ts'),
        `import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', delimiter: '', record: (text: string) => text + '-${version}' });\n`,
      );
    await write('v1');
    expect(await okTexts('versioned', 'x')).toEqual(['x-v1']);
    await write('v2');
    await eventuallyAnswers('versioned', 'x-v2');
    await write('v3-longer');
    await eventuallyAnswers('versioned', 'x-v3-longer');
  });

  it('reloads helper modules a transform imports (./helper.js finding helper.ts)', async () => {
    const writeHelper = (tag: string) =>
      writeFile(join(dir, 'lib', 'helper.ts'), `export const TAG: string = '${tag}';\n`);
    await writeHelper('one');
    await writeFile(
      join(dir, 'uses-helper.ts'),
      `import { defineTransform } from 'sluice';\nimport { TAG } from './lib/helper.js';\nexport default defineTransform({ decode: 'text', delimiter: '', record: (text: string) => text + ':' + TAG });\n`,
    );
    await eventuallyAnswers('uses-helper', 'x:one');
    await writeHelper('two');
    await eventuallyAnswers('uses-helper', 'x:two');
  });

  it('runs JavaScript transforms (.mjs) that import the kit from outside Sluice’s package', async () => {
    await writeFile(
      join(dir, 'plain.mjs'),
      `import { defineTransform, ok } from 'sluice';\nexport default defineTransform({ decode: 'json', delimiter: '', record: (v, c) => ok({ v, stream: c.deliveryStreamName }) });\n`,
    );
    await eventually(
      'plain.mjs to be seen',
      async () => {
        const outcomes = await host
          .invoke(local('plain'), records('[1]'), NO_RETRIES)
          .catch(() => []);
        return (
          outcomes[0]?.result === 'Ok' &&
          outcomes[0].data.toString() === '{"v":[1],"stream":"clicks"}'
        );
      },
      { timeoutMs: 5_000 },
    );
  });

  it('reports a broken file once, and works again once it is fixed', async () => {
    const file = join(dir, 'fragile.ts');
    await writeFile(
      file,
      `import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', record: (t: string) => t });\n`,
    );
    await eventuallyAnswers('fragile', 'x\n');
    await writeFile(
      file,
      `import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', record: (t: string) => t +;\n`,
    );
    const error = await eventually(
      'the broken file to be noticed',
      () =>
        host.invoke(local('fragile'), records('x'), NO_RETRIES).then(
          () => undefined,
          (e: unknown) => e,
        ),
      { timeoutMs: 5_000 },
    );
    expect(error).toBeInstanceOf(TransformLoadError);
    expect(error).toMatchObject({ code: 'Sluice.TransformLoadFailed', file });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^The transform sluice:transform:fragile cannot be loaded from ${file}: SyntaxError`,
      ),
    );
    expect((error as Error).message).toMatch(/Fix the file; the next invocation loads it again\.$/);
    await expect(host.invoke(local('fragile'), records('x'), NO_RETRIES)).rejects.toThrow(
      TransformLoadError,
    );
    expect(
      lines.filter((l) => l.msg === 'transform cannot be loaded' && l.file === file),
    ).toHaveLength(1);
    await writeFile(
      file,
      `import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', record: (t: string) => t + '!' });\n`,
    );
    await eventuallyAnswers('fragile', 'x!\n');
  });

  it('finds a transform added after the host started, and loses one removed', async () => {
    await expect(host.invoke(local('late'), records('x'), NO_RETRIES)).rejects.toMatchObject({
      code: 'Lambda.ResourceNotFound',
    });
    await writeFile(
      join(dir, 'late.js'),
      `import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', record: (t) => t + '?' });\n`,
    );
    await eventuallyAnswers('late', 'x?\n');
    await rm(join(dir, 'late.js'));
    await eventually(
      'late.js to be gone',
      () =>
        host.invoke(local('late'), records('x'), NO_RETRIES).then(
          () => false,
          (e: unknown) => (e as TransformLoadError).code === 'Lambda.ResourceNotFound',
        ),
      { timeoutMs: 5_000 },
    );
  });
});

describe('sharing the pool', () => {
  it('a hanging transform cannot hold every worker: a healthy one keeps flowing', async () => {
    const { log } = capturedLog();
    const hangMs = 2_000;
    const host = hostFor(FIXTURES, log, { workers: 2, timeoutMs: hangMs });
    // Both loaded and active, as two streams' transforms are.
    await host.invoke(local('shout'), records('warm'), NO_RETRIES);
    const started = Date.now();
    const hanging = [1, 2, 3].map(() =>
      host.invoke(local('misbehave'), records('hang'), NO_RETRIES),
    );
    const healthy = await Promise.all(
      [1, 2, 3].map(() => host.invoke(local('shout'), records('ok'), NO_RETRIES)),
    );
    const healthyMs = Date.now() - started;
    expect(readable(healthy.flat())).toEqual([
      { result: 'Ok', data: 'OK' },
      { result: 'Ok', data: 'OK' },
      { result: 'Ok', data: 'OK' },
    ]);
    expect(healthyMs).toBeLessThan(hangMs / 2);
    for (const outcomes of await Promise.all(hanging)) {
      expectFunctionErrors(outcomes, /no answer within 2000 ms/);
    }
  });
});

describe('tasks queued in a worker', () => {
  // One worker, so a transform's second invocation waits in the worker behind its first.
  it('run one after the other, each within its own deadline', async () => {
    const { log } = capturedLog();
    const host = hostFor(FIXTURES, log, { workers: 1 });
    try {
      await host.invoke(local('misbehave'), records('warm'), NO_RETRIES);
      const started = Date.now();
      const answers = await Promise.all(
        [1, 2].map(() => host.invoke(local('misbehave'), records('slow', 'b'), NO_RETRIES)),
      );
      // Two seconds in all: not at once (one task at a time per worker), and the second did
      // not time out (its 1.5 s deadline ran from its own start, not from when it was sent).
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_950);
      for (const outcomes of answers) {
        expect(readable(outcomes)).toEqual([
          { result: 'Ok', data: 'slow' },
          { result: 'Ok', data: 'b' },
        ]);
      }
    } finally {
      await host.close();
    }
  });

  it('are sent again, not failed, when the task before them times out', async () => {
    const { log } = capturedLog();
    const host = hostFor(FIXTURES, log, { workers: 1 });
    try {
      await host.invoke(local('misbehave'), records('warm'), NO_RETRIES);
      const hanging = host.invoke(local('misbehave'), records('hang'), NO_RETRIES);
      const behind = host.invoke(local('misbehave'), records('ok', 'fine'), NO_RETRIES);
      expectFunctionErrors(await hanging, /no answer within 1500 ms/);
      // No retries were allowed: Ok means the queued task's sending was no attempt of its own.
      expect(readable(await behind)).toEqual([
        { result: 'Ok', data: 'ok' },
        { result: 'Ok', data: 'fine' },
      ]);
    } finally {
      await host.close();
    }
  });
});

describe('remote transforms', () => {
  type Behaviour = (req: IncomingMessage, body: string, res: ServerResponse) => void;
  let server: Server;
  let url: string;
  let behaviour: Behaviour;
  let requests: { method: string; contentType: string; body: string }[];
  let connections = 0;
  let host: TransformHost;
  const { log } = capturedLog();

  const echo: Behaviour = (_req, body, res) => {
    const event = JSON.parse(body) as { records: { recordId: string; data: string }[] };
    res.setHeader('Content-Type', 'application/json');
    res.end(
      JSON.stringify({
        records: event.records.map((r) => ({
          recordId: r.recordId,
          result: 'Ok',
          data: Buffer.from(Buffer.from(r.data, 'base64').toString().toUpperCase()).toString(
            'base64',
          ),
        })),
      }),
    );
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        requests.push({
          method: req.method ?? '',
          contentType: req.headers['content-type'] ?? '',
          body,
        });
        behaviour(req, body, res);
      });
    });
    server.on('connection', () => (connections += 1));
    const port = await listenOnLoopback(server);
    url = `http://127.0.0.1:${port}/transform`;
    suite.add(async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    });
    host = new TransformHost({
      transformsDir: FIXTURES,
      workers: 1,
      timeoutMs: 1_000,
      memoryLimitMb: MEMORY_LIMIT_MB,
      log,
      region: 'eu-west-1',
    });
    suite.add(() => host.close());
  });

  function reset(next: Behaviour): void {
    behaviour = next;
    requests = [];
  }

  const remote = (): TransformRef => ({ kind: 'remote', url });

  it('POSTs the Lambda event as JSON and checks the answer, over one kept-alive connection', async () => {
    reset(echo);
    const before = connections;
    expect(readable(await host.invoke(remote(), records('a', 'b'), NO_RETRIES))).toEqual([
      { result: 'Ok', data: 'A' },
      { result: 'Ok', data: 'B' },
    ]);
    expect(readable(await host.invoke(remote(), records('c'), NO_RETRIES))).toEqual([
      { result: 'Ok', data: 'C' },
    ]);
    expect(connections - before).toBe(1);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.method).toBe('POST');
    expect(requests[0]?.contentType).toBe('application/json');
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({
      invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      deliveryStreamArn: STREAM.streamArn,
      region: 'eu-west-1',
      records: [
        { recordId: 'r0', approximateArrivalTimestamp: 1_717_236_000_000, data: 'YQ==' },
        { recordId: 'r1', approximateArrivalTimestamp: 1_717_236_000_001, data: 'Yg==' },
      ],
    });
  });

  it('retries a 500 and takes the next answer', async () => {
    let calls = 0;
    reset((req, body, res) => {
      calls += 1;
      if (calls === 1) {
        res.statusCode = 500;
        res.end('database down');
      } else echo(req, body, res);
    });
    expect(
      readable(await host.invoke(remote(), records('a'), { ...STREAM, numberOfRetries: 1 })),
    ).toEqual([{ result: 'Ok', data: 'A' }]);
    expect(requests).toHaveLength(2);
  });

  it('fails every record after the last retry, quoting the answer', async () => {
    reset((_req, _body, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    expectFunctionErrors(
      await host.invoke(remote(), records('a', 'b'), { ...STREAM, numberOfRetries: 2 }),
      new RegExp(`^The remote transform ${url} answered HTTP 503: "busy" \\(3 attempts\\)$`),
    );
    expect(requests).toHaveLength(3);
  });

  it('times out a transform that does not answer', async () => {
    reset(() => undefined);
    expectFunctionErrors(
      await host.invoke(remote(), records('a'), NO_RETRIES),
      new RegExp(
        `^Sluice encountered timeout errors when calling the remote transform ${url}: no complete answer within 1000 ms \\(1 attempt\\)$`,
      ),
    );
  });

  it('fails every record, without retrying, for an answer that is not JSON', async () => {
    reset((_req, _body, res) => res.end('{"records": [oops'));
    const outcomes = await host.invoke(remote(), records('a', 'b'), {
      ...STREAM,
      numberOfRetries: 3,
    });
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ code: 'Lambda.JsonProcessingException' });
      expect((outcome as { message: string }).message).toMatch(
        /^The transform's response is not JSON/,
      );
    }
    expect(requests).toHaveLength(1);
  });

  it('enforces the contract on a remote answer', async () => {
    reset((_req, body, res) => {
      const event = JSON.parse(body) as { records: { recordId: string }[] };
      res.end(
        JSON.stringify({ records: [{ recordId: event.records[0]?.recordId, result: 'Dropped' }] }),
      );
    });
    expect(await host.invoke(remote(), records('a', 'b'), NO_RETRIES)).toEqual([
      { result: 'Dropped' },
      {
        result: 'ProcessingFailed',
        code: 'Lambda.MissingRecordId',
        message: `The transform's response has no record with recordId "r1"`,
      },
    ]);
  });

  it('refuses an answer over 6 MiB, declared or streamed', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024 + 1, 0x20);
    reset((_req, _body, res) => res.end(big));
    expectFunctionErrors(
      await host.invoke(remote(), records('a'), NO_RETRIES),
      /answered more than 6291456 bytes \(6 MiB, Firehose's Lambda response limit\)/,
    );
    reset((_req, _body, res) => {
      res.write(big.subarray(0, 4 * 1024 * 1024));
      res.end(big.subarray(4 * 1024 * 1024));
    });
    expectFunctionErrors(
      await host.invoke(remote(), records('a'), NO_RETRIES),
      /answered more than 6291456 bytes/,
    );
  });

  it('fails every record when the transform cannot be reached', async () => {
    const closed = createServer();
    const port = await listenOnLoopback(closed);
    closed.close();
    await once(closed, 'close');
    const gone = `http://127.0.0.1:${port}/`;
    expectFunctionErrors(
      await host.invoke({ kind: 'remote', url: gone }, records('a'), NO_RETRIES),
      new RegExp(`^The remote transform ${gone} could not be reached: ECONNREFUSED`),
    );
  });
});

describe('closing', () => {
  it('rejects pending invocations and refuses new ones', async () => {
    const { log } = capturedLog();
    const host = hostFor(FIXTURES, log, { workers: 1, timeoutMs: 30_000 });
    const hanging = host.invoke(local('misbehave'), records('hang'), NO_RETRIES);
    await host.close();
    await expect(hanging).rejects.toThrow(/closed/);
    await expect(host.invoke(local('shout'), records('a'), NO_RETRIES)).rejects.toThrow(
      'the transform host is closed',
    );
  });
});
