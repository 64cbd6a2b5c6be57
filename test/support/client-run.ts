import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { tail } from './e2e.js';
import { environmentWithout } from './sluice-process.js';

/**
 * Running third-party clients (the AWS CLI, python3 with boto3) as child processes: an
 * environment that only the test shapes, a bounded run, and a readable account of it.
 */

/** How long one client command may run. */
const CLIENT_TIMEOUT_MS = 60_000;

/** Credentials a client signs with. */
export interface ClientCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The environment for a client: this process's, minus every `AWS_*` variable and with config
 * files that do not exist (under `awsHome`), so a developer's profile, region or endpoint
 * cannot change what the client sends; plus `credentials` and one attempt per call.
 */
export function awsClientEnv(
  awsHome: string,
  credentials: ClientCredentials,
  region = 'us-east-1',
): NodeJS.ProcessEnv {
  return {
    ...environmentWithout('AWS_'),
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(awsHome, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(awsHome, 'credentials'),
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
  };
}

/** How a client run ended. */
export interface Ran {
  /** Exit code; null when the process was killed (e.g. by the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be run or was killed. */
  failure: string | undefined;
}

/** Runs `file` with `args` in `env` to completion (bounded), whatever its exit code. */
export async function runClient(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, timeout: CLIENT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr, failure: undefined });
          return;
        }
        const code = typeof error.code === 'number' ? error.code : null;
        const failure =
          code === null ? `${error.message}${error.killed ? ' (killed)' : ''}` : undefined;
        resolve({ code, stdout, stderr, failure });
      },
    );
  });
}

/** A failure message: the command, its outcome and output, and the tail of `serviceLog`. */
export function describeRun(command: string, ran: Ran, serviceLog = ''): string {
  return `${command} → code ${ran.code}${ran.failure ? ` (${ran.failure})` : ''}\n--- stdout ---\n${tail(ran.stdout)}\n--- stderr ---\n${tail(ran.stderr)}\n--- sluice log tail ---\n${tail(serviceLog, 3000)}`;
}
