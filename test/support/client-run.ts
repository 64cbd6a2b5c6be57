import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { s3Destination, tail } from './e2e.js';
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

/**
 * The AWS CLI's major version (`1`, `2`) from its run of `aws --version`.
 *
 * @throws when that run failed or named no version: the test needs the CLI.
 */
export function awsCliMajorVersion(version: Ran): string {
  const major = /aws-cli\/(\d+)\./.exec(`${version.stdout}${version.stderr}`)?.[1];
  if (version.code !== 0 || major === undefined) {
    throw new Error(
      `the AWS CLI does not run, which this test needs; .ci/run installs it (apt-get install awscli).\n${describeRun('aws --version', version)}`,
    );
  }
  return major;
}

/**
 * Fails unless python3 in `env` can import boto3, with a message that says how to get it: the
 * test needs it.
 */
export async function requireBoto3(env: NodeJS.ProcessEnv): Promise<void> {
  const check = await runClient('python3', ['-c', 'import boto3'], env);
  if (check.code !== 0) {
    throw new Error(
      `python3 cannot import boto3, which this test needs; .ci/run installs it (apt-get install python3-boto3).\n${describeRun('python3 -c "import boto3"', check)}`,
    );
  }
}

/**
 * The AWS CLI arguments (after the global options) that create the stream `stream` delivering
 * to `bucket` with the smallest buffering hints (1 MiB, 1 s), so its records arrive soon.
 */
export function awsCreateStreamArgs(stream: string, bucket: string): string[] {
  return [
    'firehose',
    'create-delivery-stream',
    '--delivery-stream-name',
    stream,
    '--extended-s3-destination-configuration',
    JSON.stringify(
      s3Destination(bucket, { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 } }),
    ),
  ];
}

/**
 * The AWS CLI arguments (after the global options) that put `text` as one record into
 * `stream`. For a blob given as text, CLI v1 sends the text's bytes (it base64-encodes them
 * itself); v2 does the same only with raw-in-base64-out, as its default expects base64.
 *
 * @param major - the CLI's major version, from {@link awsCliMajorVersion}.
 */
export function awsPutRecordArgs(major: string, stream: string, text: string): string[] {
  return [
    'firehose',
    'put-record',
    ...(major === '1' ? [] : ['--cli-binary-format', 'raw-in-base64-out']),
    '--delivery-stream-name',
    stream,
    '--record',
    JSON.stringify({ Data: text }),
  ];
}
