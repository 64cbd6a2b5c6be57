import { FirehoseClient } from '@aws-sdk/client-firehose';
import { pino } from 'pino';

import { loadSettings } from '../../src/config/env.js';
import { startService } from '../../src/service.js';
import { tail, type Cleanups } from '../support/e2e.js';
import { startSluice, type SluiceProcess } from '../support/sluice-process.js';

/**
 * How the conformance suite runs Sluice: in this process (`startService`, the same composition
 * root `main.ts` uses) wherever no signal is involved, because it starts in milliseconds; as a
 * child process (`test/support/sluice-process.ts`) for SIGKILL and SIGTERM.
 */

/**
 * Fast sealing, retries and sweeping: tests wait for seconds. Retries between 100 and 500 ms.
 */
export const FAST: Readonly<Record<string, string>> = {
  SLUICE_SEAL_TICK_MS: '50',
  SLUICE_RETRY_BASE_MS: '100',
  SLUICE_RETRY_MAX_MS: '500',
  SLUICE_SWEEP_AFTER_MS: '500',
};

/** A running Sluice, in process or not. */
export interface SluiceUnderTest {
  /** The Firehose API endpoint. */
  readonly url: string;
  /** The tail of its log, for failure messages. */
  logs(): string;
}

/** Most log characters an in-process Sluice keeps (the newest). */
const MAX_LOG_CHARS = 256 * 1024;

/**
 * Starts Sluice in this process with `env` on top of {@link FAST}, the API on a free loopback
 * port; `cleanups` stops it. Variables that are not `SLUICE_*` settings (S3 credentials) are
 * put into this process's environment while it runs, where the AWS SDK reads them.
 */
export async function startInProcess(
  cleanups: Cleanups,
  env: Record<string, string>,
): Promise<SluiceUnderTest> {
  const all = { ...FAST, SLUICE_HOST: '127.0.0.1', SLUICE_PORT: '0', ...env };
  const restore = setProcessEnv(
    Object.fromEntries(Object.entries(all).filter(([name]) => !name.startsWith('SLUICE_'))),
  );
  let output = '';
  const log = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        output = (output + line).slice(-MAX_LOG_CHARS);
      },
    },
  );
  try {
    const service = await startService(loadSettings(all), log);
    cleanups.add(async () => {
      await service.stop();
      restore();
    });
    if (service.url === undefined) throw new Error('the in-process Sluice serves no API');
    return { url: service.url, logs: () => tail(output) };
  } catch (error) {
    restore();
    throw error;
  }
}

/**
 * Starts Sluice as a child process (the built `dist/src/main.js`) with `env` on top of
 * {@link FAST}; `cleanups` SIGKILLs it if it still runs. One process (`SLUICE_PROCESSES=1`):
 * the SIGKILLs these tests send must hit the process that delivers, not a supervisor whose
 * delivery process would then finish its work in an orderly way (killing one supervised
 * process is test/e2e/supervisor.test.ts's).
 */
export async function startChild(
  cleanups: Cleanups,
  env: Record<string, string>,
): Promise<SluiceProcess> {
  const sluice = await startSluice({ env: { ...FAST, SLUICE_PROCESSES: '1', ...env } });
  cleanups.add(() => sluice.kill());
  return sluice;
}

/**
 * The unmodified AWS SDK client for `sluice`: one attempt, bounded, so a request that dies with
 * a killed process fails instead of being replayed into the next one. Destroyed by `cleanups`.
 */
export function firehoseClient(cleanups: Cleanups, sluice: { url: string }): FirehoseClient {
  const client = new FirehoseClient({
    endpoint: sluice.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'conformance', secretAccessKey: 'conformance' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  cleanups.add(() => client.destroy());
  return client;
}

/** Sets `vars` in `process.env`; the returned function puts back what was there. */
function setProcessEnv(vars: Record<string, string>): () => void {
  const before = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
