import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { SigV4Verifier } from '../../src/api/auth/sigv4-verifier.js';
import { runCli } from '../../src/cli/run-cli.js';
import { streamKeys } from '../../src/streams/keys.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { startTestApi, type TestApi } from './test-api.js';

/**
 * A Sluice for CLI tests: the real API (`buildApp`, real Redis) with the service's metrics
 * (`GET /metrics` and the counting telemetry) on a loopback port, and a way to run `sluice`
 * in-process against it as a shell would.
 */
export interface CliSluice {
  /** `http://127.0.0.1:<port>` of the API with metrics. */
  readonly endpoint: string;
  /** The plain test API underneath (its SDK client, Redis, registry). */
  readonly api: TestApi;
  close(): Promise<void>;
}

/**
 * Starts a {@link CliSluice}; `env` are settings overrides as for `startTestApi`. With
 * `accessKeys` (id → secret), every request but `/metrics` and the probes must be signed.
 */
export async function startCliSluice(
  env: Record<string, string> = {},
  accessKeys?: ReadonlyMap<string, string>,
): Promise<CliSluice> {
  const api = await startTestApi(env);
  const log = pino({ level: 'silent' });
  const metrics = new Metrics({
    redis: api.redis,
    role: 'all',
    streamNames: () => api.registry.listAllNames(),
    keysOf: (stream) => {
      const keys = streamKeys(stream);
      return {
        stream: keys.stream,
        metrics: keys.metrics,
        stats: keys.stats,
        dead: keys.dead,
        partitions: keys.partitions,
        open: keys.open,
      };
    },
    backlogLimitBytes: api.settings.SLUICE_MAX_BACKLOG_MB * 1024 * 1024,
    log,
  });
  metrics.start();
  const app: FastifyInstance = buildApp({
    settings: api.settings,
    redis: api.redis,
    registry: api.registry,
    buffer: api.buffer,
    log,
    telemetry: metrics.telemetry,
    metrics,
    auth: accessKeys === undefined ? undefined : new SigV4Verifier({ keys: new Map(accessKeys) }),
  });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    endpoint,
    api,
    async close() {
      await app.close();
      await metrics.stop();
      await api.close();
    },
  };
}

/** What a run of the CLI printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `sluice <args>` in-process, as a shell would: `SLUICE_ENDPOINT` points at `endpoint`
 * unless `env` says otherwise, `stdin` (when given) is standard input.
 */
export async function runSluice(
  endpoint: string,
  args: readonly string[],
  options: { env?: Record<string, string>; stdin?: string | Buffer; isTTY?: boolean } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const input = options.stdin;
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { SLUICE_ENDPOINT: endpoint, ...options.env },
    isTTY: options.isTTY ?? false,
    stdin: [input === undefined ? Buffer.alloc(0) : Buffer.from(input)],
  });
  return { code, stdout, stderr };
}
