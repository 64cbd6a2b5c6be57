import { z } from 'zod';

/**
 * Sluice's process settings, read from environment variables.
 *
 * This schema is the single source of the settings' validation, their TypeScript type
 * ({@link Settings}) and their documentation (`renderSettingsTable`, embedded in the README
 * and kept in step by a test).
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Each setting: its schema, the default as the user would type it, and what it does. */
export const SETTINGS = {
  SLUICE_HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    doc: 'Address the Firehose API listens on. Use `0.0.0.0` to accept connections from other machines.',
  },
  SLUICE_PORT: {
    schema: int(0, 65535),
    default: '4573',
    doc: 'TCP port of the Firehose API (0 picks a free port and logs it).',
  },
  SLUICE_ROLE: {
    schema: z.enum(['all', 'api', 'worker']),
    default: 'all',
    doc: '`api` serves the Firehose API and seals buffers, `worker` delivers sealed batches, `all` does both. Run any number of each against one Redis.',
  },
  SLUICE_REDIS_URL: {
    schema: z.url({ protocol: /^rediss?$/ }),
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis that holds buffers, stream definitions and the delivery queues (`redis://` or `rediss://`).',
  },
  SLUICE_REDIS_AUTOSTART: {
    schema: bool,
    default: 'true',
    doc: 'When no Redis answers at a loopback `SLUICE_REDIS_URL` and `redis-server` is on the PATH, start one with its data (append-only file on) under `SLUICE_DATA_DIR/redis`.',
  },
  SLUICE_DATA_DIR: {
    schema: z.string().min(1),
    default: './sluice-data',
    doc: 'Directory for the embedded Redis and the local S3 stand-in.',
  },
  SLUICE_S3_ENDPOINT: {
    schema: z.union([z.literal(''), z.literal('aws'), z.url({ protocol: /^https?$/ })]),
    default: '',
    doc: 'Where S3 deliveries go. Empty: a local directory (`SLUICE_DATA_DIR/s3/<bucket>/<key>`) with the same object layout. `aws`: Amazon S3 through the standard endpoint resolution. A URL: an S3-compatible store such as MinIO.',
  },
  SLUICE_S3_FORCE_PATH_STYLE: {
    schema: bool,
    default: 'true',
    doc: 'Address buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key` (most S3-compatible stores need this). Ignored for `aws`.',
  },
  SLUICE_S3_REGION: {
    schema: z.string().min(1),
    default: 'us-east-1',
    doc: 'Region used to sign S3 requests. Credentials come from the standard AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, instance roles).',
  },
  SLUICE_REGION: {
    schema: z.string().regex(/^[a-z0-9-]+$/, 'must look like us-east-1'),
    default: 'us-east-1',
    doc: 'Region written into delivery stream ARNs.',
  },
  SLUICE_ACCOUNT_ID: {
    schema: z.string().regex(/^\d{12}$/, 'must be 12 digits'),
    default: '000000000000',
    doc: 'Account id written into delivery stream ARNs and error messages.',
  },
  SLUICE_CONFIG: {
    schema: z.string(),
    default: '',
    doc: 'Path of a JSON file declaring streams in the CreateDeliveryStream shape (`{"DeliveryStreams": [ ... ]}`), applied idempotently at start.',
  },
  SLUICE_MAX_BACKLOG_MB: {
    schema: int(1, 1_048_576),
    default: '512',
    doc: 'Per stream: once this many MiB are accepted but not yet delivered, puts answer "Slow down." instead of growing Redis without bound.',
  },
  SLUICE_MAX_STREAMS: {
    schema: int(1, 100_000),
    default: '5000',
    doc: 'Most delivery streams one deployment holds (Firehose: 5,000 per region).',
  },
  SLUICE_RETENTION_SECONDS: {
    schema: int(1, 31_536_000),
    default: '86400',
    doc: 'How long a batch that cannot be delivered is retried, counted from its oldest record (Firehose: 24 h). After that it is kept in the stream dead-letter set with its reason, never deleted.',
  },
  SLUICE_RETRY_BASE_MS: {
    schema: int(1, 3_600_000),
    default: '1000',
    doc: 'First retry delay after a failed delivery; doubles each attempt, with ±15 % jitter.',
  },
  SLUICE_RETRY_MAX_MS: {
    schema: int(1, 3_600_000),
    default: '120000',
    doc: 'Longest delay between delivery attempts.',
  },
  SLUICE_DELIVERY_CONCURRENCY: {
    schema: int(1, 256),
    default: '2',
    doc: 'Batches of one stream that one worker process delivers at once.',
  },
  SLUICE_SEAL_TICK_MS: {
    schema: int(10, 60_000),
    default: '250',
    doc: 'How often buffers are checked against `IntervalInSeconds`; an age-sealed batch is at most this late.',
  },
  SLUICE_SWEEP_AFTER_MS: {
    schema: int(100, 3_600_000),
    default: '5000',
    doc: 'A batch sealed but not seen enqueued after this long (a process died between the two) is enqueued by the sweeper.',
  },
  SLUICE_SHUTDOWN_TIMEOUT_MS: {
    schema: int(0, 3_600_000),
    default: '30000',
    doc: 'On SIGTERM, how long in-flight deliveries may run before the process exits anyway (their batches stay in Redis and are retried).',
  },
  SLUICE_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Log level (JSON lines on stdout).',
  },
} as const;

type SettingName = keyof typeof SETTINGS;

/** Validated settings, typed from {@link SETTINGS}. */
export type Settings = {
  [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']>;
};

/** Thrown when a setting is invalid; the message names each setting and how to fix it. */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/**
 * Reads and validates every setting from `env`. Empty strings count as unset.
 *
 * @throws SettingsError naming every invalid setting, its value, what is wrong and the fix.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(SETTINGS) as [
    SettingName,
    (typeof SETTINGS)[SettingName],
  ][]) {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? setting.default : raw.trim();
    const parsed = setting.schema.safeParse(value);
    if (parsed.success) {
      out[name] = parsed.data;
    } else {
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      problems.push(
        `${name}=${JSON.stringify(value)}: ${why}. Fix: set ${name} to a valid value or unset it for the default (${JSON.stringify(setting.default)}). ${name} is: ${setting.doc}`,
      );
    }
  }
  const settings = out as Settings;
  if (problems.length === 0 && settings.SLUICE_RETRY_BASE_MS > settings.SLUICE_RETRY_MAX_MS) {
    problems.push(
      `SLUICE_RETRY_BASE_MS (${settings.SLUICE_RETRY_BASE_MS}) is larger than SLUICE_RETRY_MAX_MS (${settings.SLUICE_RETRY_MAX_MS}). Fix: lower SLUICE_RETRY_BASE_MS or raise SLUICE_RETRY_MAX_MS.`,
    );
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/** The settings reference as a Markdown table, for the README. */
export function renderSettingsTable(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, s]) =>
      `| \`${name}\` | ${s.default === '' ? '(empty)' : `\`${s.default}\``} | ${s.doc} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
