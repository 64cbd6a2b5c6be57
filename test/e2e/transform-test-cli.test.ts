import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

import { cleanupAfterAll, tempDir } from '../support/e2e.js';
import { listenOnLoopback } from '../support/free-port.js';

/**
 * `sluice transform test`, run as a user runs it: the built CLI in a process of its own, over
 * sample files, against the fixture transforms (and a remote transform on loopback). Its
 * output, its JSON and its exit codes are what is checked.
 */

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/transforms');
const run = promisify(execFile);

const suite = cleanupAfterAll();
let samples: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sluice <args>` with `env` (and PATH only), from `cwd`. */
async function sluice(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      cwd,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Writes a sample file in the suite's directory and returns its path. */
async function sample(name: string, content: string | Buffer): Promise<string> {
  const file = join(samples, name);
  await writeFile(file, content);
  return file;
}

beforeAll(async () => {
  samples = await tempDir(suite, 'sluice-samples-');
});

describe('sluice transform test', () => {
  it('shows each record’s result, data and partition keys, the counts and the timing', async () => {
    const file = await sample(
      'events.ndjson',
      '{"page":"/a"}\n\n{"drop":true}\r\n{"page":"/b","key":"k1"}\n{"fail":"no page"}\nnot json\n',
    );
    const ran = await sluice(['transform', 'test', 'enrich-json', file, '--dir', FIXTURES]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe('');
    const lines = ran.stdout.split('\n');
    expect(lines[0]).toBe(
      `Transform  sluice:transform:enrich-json  (${join(FIXTURES, 'enrich-json.ts')})`,
    );
    expect(lines[1]).toBe(`Records    5 records from ${file}`);
    expect(ran.stdout).toContain(
      [
        '#1  Ok',
        '    data: {"page":"/a","seen":true,"id":"1"}\\n',
        '#3  Dropped',
        '#4  Ok',
        '    data: {"page":"/b","key":"k1","seen":true,"id":"4"}\\n',
        '    partition keys: {"key":"k1"}',
        '#5  ProcessingFailed  Lambda.ProcessingFailedStatus',
        '    no page',
        '#6  ProcessingFailed  Lambda.ProcessingFailedStatus',
        '    The record is not JSON (SyntaxError: ',
      ].join('\n'),
    );
    expect(ran.stdout).toContain('Results              2 Ok, 1 Dropped, 2 ProcessingFailed\n');
    expect(ran.stdout).toContain('Contract violations  none\n');
    expect(ran.stdout).toMatch(
      /\nTiming {15}load \d+(\.\d+)? ms, total \d+(\.\d+)? ms, \d+(\.\d+)? ms per record\n$/,
    );
  });

  it('exits 0 when every record is Ok or Dropped', async () => {
    const file = await sample('fine.ndjson', '{"page":"/a"}\n{"drop":true}\n');
    const ran = await sluice(['transform', 'test', 'sluice:transform:enrich-json', file], {
      SLUICE_TRANSFORMS_DIR: FIXTURES,
    });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('Results              1 Ok, 1 Dropped, 0 ProcessingFailed\n');
  });

  it('prints one JSON document with --json', async () => {
    const file = await sample('json.txt', 'abc\nçé\n');
    const ran = await sluice([
      'transform',
      'test',
      'upper-text',
      file,
      '--json',
      `--dir=${FIXTURES}`,
    ]);
    expect(ran.code).toBe(0);
    const report = JSON.parse(ran.stdout) as Record<string, unknown>;
    expect(report).toEqual({
      transform: 'sluice:transform:upper-text',
      file: join(FIXTURES, 'upper-text.ts'),
      input: file,
      records: [
        {
          line: 1,
          recordId: '1',
          result: 'Ok',
          data: 'ABC;',
          dataBase64: Buffer.from('ABC;').toString('base64'),
          partitionKeys: null,
        },
        {
          line: 2,
          recordId: '2',
          result: 'Ok',
          data: 'ÇÉ;',
          dataBase64: Buffer.from('ÇÉ;').toString('base64'),
          partitionKeys: null,
        },
      ],
      results: { Ok: 2, Dropped: 0, ProcessingFailed: 0 },
      contractViolations: {},
      timing: {
        loadMs: expect.any(Number) as unknown,
        totalMs: expect.any(Number) as unknown,
        perRecordMs: expect.any(Number) as unknown,
      },
    });
  });

  it('counts contract violations by code, and exits 1', async () => {
    const missing = await sample('missing.txt', 'missing\nsecond\nthird\n');
    const ran = await sluice(['transform', 'test', 'misbehave', missing, '--dir', FIXTURES]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toContain(
      `#1  ProcessingFailed  Lambda.MissingRecordId\n    The transform's response has no record with recordId "1"\n`,
    );
    expect(ran.stdout).toContain('Contract violations  Lambda.MissingRecordId 1\n');

    const unknown = await sample('unknown.txt', 'unknown-id\nsecond\n');
    const json = await sluice([
      'transform',
      'test',
      'misbehave',
      unknown,
      '--dir',
      FIXTURES,
      '--json',
    ]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { contractViolations: unknown }).contractViolations).toEqual(
      {
        'Lambda.JsonProcessingException': 2,
      },
    );
  });

  it('reads base64 records with --base64, and escapes output that is not UTF-8', async () => {
    const file = await sample(
      'binary.b64',
      `${Buffer.from([0x41, 0xff, 0x0a]).toString('base64')}\n${Buffer.from('ok\t').toString('base64')}\n`,
    );
    const ran = await sluice([
      'transform',
      'test',
      'reverse-bytes',
      file,
      '--base64',
      '--dir',
      FIXTURES,
    ]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('#1  Ok\n    data: \\n\\xffA\n');
    expect(ran.stdout).toContain('#2  Ok\n    data: \\tko\n');
    const json = await sluice([
      'transform',
      'test',
      'reverse-bytes',
      file,
      '--base64',
      '--json',
      '--dir',
      FIXTURES,
    ]);
    const records = (JSON.parse(json.stdout) as { records: unknown[] }).records;
    expect(records[0]).toMatchObject({
      data: null,
      dataBase64: Buffer.from([0x0a, 0xff, 0x41]).toString('base64'),
    });
  });

  it('shows a Lambda-form function error (the invocation is not retried here)', async () => {
    const file = await sample('throw.txt', 'throw\n');
    const ran = await sluice(['transform', 'test', 'misbehave', file, '--dir', FIXTURES]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toContain(
      '#1  ProcessingFailed  Lambda.FunctionError\n    The transform sluice:transform:misbehave threw: thrown on purpose (1 attempt)\n',
    );
  });

  it('shows what the transform prints, on stderr', async () => {
    const dir = await tempDir(suite, 'sluice-chatty-');
    await writeFile(
      join(dir, 'chatty.mjs'),
      "import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', record(text) { console.log('saw ' + text); return text; } });\n",
    );
    const file = await sample('chatty.txt', 'hello\n');
    const ran = await sluice(['transform', 'test', 'chatty', file, '--dir', dir]);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('[transform] saw hello\n');
  });

  it('runs a remote transform by URL', async () => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const event = JSON.parse(Buffer.concat(chunks).toString()) as {
          records: { recordId: string }[];
        };
        res.end(
          JSON.stringify({
            records: event.records.map((r) => ({ recordId: r.recordId, result: 'Dropped' })),
          }),
        );
      });
    });
    const port = await listenOnLoopback(server);
    suite.add(async () => {
      server.close();
      await once(server, 'close');
    });
    const file = await sample('remote.txt', 'a\nb\n');
    const ran = await sluice(['transform', 'test', `http://127.0.0.1:${port}/t`, file]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain(`Transform  http://127.0.0.1:${port}/t\n`);
    expect(ran.stdout).toContain('#1  Dropped\n#2  Dropped\n');
    expect(ran.stdout).toMatch(/\nTiming {15}total /);
  });

  it('looks in ./transforms by default', async () => {
    const cwd = await tempDir(suite, 'sluice-cwd-');
    await mkdir(join(cwd, 'transforms'));
    await writeFile(
      join(cwd, 'transforms', 'here.js'),
      "import { defineTransform } from 'sluice';\nexport default defineTransform({ decode: 'text', record: (t) => t + '!' });\n",
    );
    const file = await sample('here.txt', 'x\n');
    const ran = await sluice(['transform', 'test', 'here', file], {}, cwd);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('#1  Ok\n    data: x!\\n\n');
  });
});

describe('sluice transform test exits 2, saying what to do', () => {
  it('for a transform that does not exist', async () => {
    const file = await sample('any.txt', 'x\n');
    const ran = await sluice(['transform', 'test', 'nope', file, '--dir', FIXTURES]);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      `sluice transform: no transform 'nope' in ${FIXTURES}: expected nope.ts, .mts, .js or .mjs there. Check the name, or point --dir (or SLUICE_TRANSFORMS_DIR) at your transforms directory.\n`,
    );
  });

  it('for a transform that does not load', async () => {
    const dir = await tempDir(suite, 'sluice-broken-');
    await writeFile(join(dir, 'broken.ts'), 'export default 1 +;\n');
    const file = await sample('any.txt', 'x\n');
    const ran = await sluice(['transform', 'test', 'broken', file, '--dir', dir]);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toBe(
      `sluice transform: ${join(dir, 'broken.ts')} cannot be loaded: SyntaxError: Expression expected (at ${join(dir, 'broken.ts')}:1: export default 1 +;). Fix it and run this again.\n`,
    );
    const notTransform = await sluice([
      'transform',
      'test',
      'not-a-transform',
      file,
      '--dir',
      FIXTURES,
    ]);
    expect(notTransform.code).toBe(2);
    expect(notTransform.stderr).toMatch(/its default export is not made by defineTransform/);
  });

  it.each([
    [['transform'], 'missing subcommand: sluice transform test <name|url> <file>'],
    [['transform', 'run', 'x', 'y'], 'unknown subcommand "run"'],
    [['transform', 'test'], 'expected a transform and a file of sample records, got neither'],
    [['transform', 'test', 'x'], 'expected a transform and a file of sample records, got "x"'],
    [['transform', 'test', 'x', 'y', 'z'], 'got "x" "y" "z"'],
    [['transform', 'test', 'x', 'y', '--bogus'], 'unknown option --bogus'],
    [['transform', 'test', 'x', 'y', '--dir'], '--dir needs a value'],
    [['transform', 'test', 'a/b', 'y'], 'names no valid transform'],
    [
      ['transform', 'test', 'arn:aws:lambda:us-east-1:1:function:f', 'y'],
      'cannot be invoked by Sluice',
    ],
    [
      ['transform', 'test', 'x', '/nonexistent/samples.txt'],
      'cannot read /nonexistent/samples.txt',
    ],
  ])('%j', async (args, message) => {
    const ran = await sluice(args);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain(message);
    expect(ran.stderr).toContain("Run 'sluice transform --help' for usage.");
  });

  it('for a file without records, or base64 that is not', async () => {
    const empty = await sample('empty.txt', '\n\n');
    expect(
      (await sluice(['transform', 'test', 'shout', empty, '--dir', FIXTURES])).stderr,
    ).toContain(`${empty} has no records: put one record on each line`);
    const notBase64 = await sample('bad.b64', 'YWJj\nnot base64!\n');
    const ran = await sluice([
      'transform',
      'test',
      'shout',
      notBase64,
      '--base64',
      '--dir',
      FIXTURES,
    ]);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain(`${notBase64} line 2 is not base64`);
  });

  it('documents itself in --help', async () => {
    const ran = await sluice(['transform', '--help']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('Usage: sluice transform test <name|url> <file> [options]');
    for (const option of ['--dir <dir>', '--json', '--base64', '-h, --help']) {
      expect(ran.stdout).toContain(option);
    }
  });
});
