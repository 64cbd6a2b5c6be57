import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { redactUrlCredentials, urlCredentials } from '../telemetry/redact.js';

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
  SLUICE_TLS_CERT: {
    schema: z.string(),
    default: '',
    doc: 'PEM file with the certificate the Firehose API presents (then any intermediate certificates). Set it and `SLUICE_TLS_KEY` to serve HTTPS instead of HTTP (see docs/tls.md).',
  },
  SLUICE_TLS_KEY: {
    schema: z.string(),
    default: '',
    doc: 'PEM file with the unencrypted private key of `SLUICE_TLS_CERT`. Both are read and checked once at start.',
  },
  SLUICE_ROLE: {
    schema: z.enum(['all', 'api', 'worker']),
    default: 'all',
    doc: '`api` serves the Firehose API and seals buffers, `worker` delivers sealed batches, `all` does both. Run any number of each against one Redis.',
  },
  SLUICE_PROCESSES: {
    schema: z
      .string()
      .regex(/^(auto|[1-9]\d{0,2})$/, 'must be auto or a whole number from 1 to 999')
      .transform((v) => (v === 'auto' ? availableParallelism() : Number(v))),
    default: 'auto',
    doc: 'With `SLUICE_ROLE=all`: how many processes share the work, supervised by the one started (crashed ones are restarted, a stop signal drains them all); `auto` is one per core, `1` runs everything in one process. They split into API and delivery processes (see docs/operations.md, "Running several processes"). Ignored with `SLUICE_ROLE=api` or `worker`, which run one process of that role.',
  },
  SLUICE_REDIS_URL: {
    schema: z
      .string()
      .transform((v) => v.split(',').map((url) => url.trim()))
      .pipe(z.array(z.url({ protocol: /^rediss?$/ })).min(1))
      // Not `new URL`: zod runs refinements even after the URLs failed, and it would throw.
      .refine(
        (urls) =>
          new Set(urls.filter((url) => url.includes(':')).map((url) => url.split(':')[0])).size <=
          1,
        {
          message: 'the URLs must all be redis:// or all rediss://',
        },
      )
      .transform((urls) => urls.join(',')),
    default: 'redis://127.0.0.1:6379',
    doc: "Redis that holds buffers, stream definitions and the delivery queues (`redis://` or `rediss://`). With `SLUICE_REDIS_MODE=cluster`: one or more of the cluster's nodes, comma-separated; the others are found from them.",
  },
  SLUICE_REDIS_MODE: {
    schema: z.enum(['single', 'cluster']),
    default: 'single',
    doc: '`single`: one Redis (with replicas if you like). `cluster`: a Redis Cluster, whose masters share the streams by hash slot (see docs/operations.md, "Redis Cluster").',
  },
  SLUICE_REDIS_TLS_CA: {
    schema: z.string(),
    default: '',
    doc: "PEM file of the CA certificate(s) that signed the certificate of a `rediss://` Redis; it replaces Node's default trusted CAs. Unset: those defaults.",
  },
  SLUICE_REDIS_TLS_CERT: {
    schema: z.string(),
    default: '',
    doc: 'PEM client certificate Sluice presents to a `rediss://` Redis that requires one (`tls-auth-clients yes`); set with `SLUICE_REDIS_TLS_KEY`.',
  },
  SLUICE_REDIS_TLS_KEY: {
    schema: z.string(),
    default: '',
    doc: 'PEM file with the unencrypted private key of `SLUICE_REDIS_TLS_CERT`.',
  },
  SLUICE_REDIS_TLS_SERVERNAME: {
    schema: z.string(),
    default: '',
    doc: "Name a `rediss://` Redis's certificate is checked against (and sent as SNI) when it is not the host in `SLUICE_REDIS_URL`, e.g. when connecting by IP address.",
  },
  SLUICE_REDIS_MIN_REPLICAS: {
    schema: int(0, 64),
    default: '0',
    doc: 'Acknowledge a put only once its records reached this many Redis replicas (Redis `WAIT`), so that a failover to a replica loses no acknowledged record. Puts that too few replicas confirm within `SLUICE_REDIS_REPLICA_TIMEOUT_MS` answer `ServiceUnavailableException` and are sent again by producers. 0: acknowledged once on the primary (see docs/operations.md, "Redis replicas and failover").',
  },
  SLUICE_REDIS_REPLICA_TIMEOUT_MS: {
    schema: int(1, 10_000),
    default: '1000',
    doc: 'With `SLUICE_REDIS_MIN_REPLICAS`: the longest a put waits for its replicas before it is answered as failed.',
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
  SLUICE_ACCESS_KEYS: {
    schema: z.string(),
    default: '',
    secret: true,
    doc: 'Comma-separated `ACCESS_KEY_ID:SECRET` pairs. When set (or `SLUICE_ACCESS_KEYS_FILE` is), every API request must carry a valid AWS Signature Version 4 made with one of these keys, as Firehose requires (see docs/authentication.md). Unset: no authentication, and a warning at start when `SLUICE_HOST` is not a loopback address.',
  },
  SLUICE_ACCESS_KEYS_FILE: {
    schema: z.string(),
    default: '',
    doc: 'Path of a file with one `ACCESS_KEY_ID:SECRET` pair a line (blank lines and `#` comments skipped), read once at start; the alternative to `SLUICE_ACCESS_KEYS` that keeps secrets out of the environment.',
  },
  SLUICE_AUTH_ENFORCE_REGION: {
    schema: bool,
    default: 'false',
    doc: 'With access keys set: accept only signatures whose credential scope names `SLUICE_REGION`, as AWS does. `false` accepts any region, so clients can keep their usual region setting.',
  },
  SLUICE_CONFIG: {
    schema: z.string(),
    default: '',
    doc: 'Path of a JSON file declaring streams in the CreateDeliveryStream shape (`{"DeliveryStreams": [ ... ]}`), applied idempotently at start.',
  },
  SLUICE_MAX_BACKLOG_MB: {
    schema: int(1, 1_048_576),
    default: '512',
    doc: 'Per stream: once the records accepted but not yet delivered take this many MiB in Redis, puts answer "Slow down." instead of growing Redis without bound. Counted is what Redis holds, not payload alone: each request\'s framed chunk (13 bytes plus 4 per record plus the data), 64 bytes per request and 2 KiB per batch, so many tiny records reach the cap long before their data would. Dead-lettered batches leave the count.',
  },
  SLUICE_MAX_STREAMS: {
    schema: int(1, 100_000),
    default: '5000',
    doc: 'Most delivery streams one deployment holds (Firehose: 5,000 per region).',
  },
  SLUICE_RETENTION_SECONDS: {
    schema: int(1, 31_536_000),
    default: '86400',
    doc: 'How long a batch that cannot be delivered to S3 is retried, counted from its oldest record (Firehose: 24 h). After that it is kept in the stream dead-letter set with its reason, never deleted. Destinations with `RetryOptions` (HTTP endpoints) use their own window and then write the error output.',
  },
  SLUICE_HTTP_RESPONSE_TIMEOUT_MS: {
    schema: int(1, 3_600_000),
    default: '180000',
    doc: 'How long an HTTP endpoint destination may take to answer a delivery request (Firehose: 3 minutes); longer fails the attempt with `HttpEndpoint.RequestTimeout`, and it is retried.',
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
  SLUICE_GZIP_LEVEL: {
    schema: int(1, 9),
    default: '6',
    doc: "zlib's compression level of everything Sluice writes with deflate: `GZIP` objects and HTTP endpoint bodies, `ZIP` entries, backups, Redshift's staged objects and gzip error-output objects; 1 fastest to 9 smallest; 6 is zlib's default. On the benchmark's records level 1 compresses about twice as fast as 6 for objects 18 % larger (docs/destinations.md, Compression): where delivery is short of CPU, a lower level delivers more. Applies from the next attempt; a retry rewrites its object under the same key.",
  },
  SLUICE_DELIVERY_CONCURRENCY: {
    schema: int(1, 256),
    default: '2',
    doc: 'Batches of one stream that one worker process delivers at once.',
  },
  SLUICE_DELIVERY_NICE: {
    schema: int(0, 19),
    default: '5',
    doc: 'Scheduling priority (Unix nice value) of processes whose role is `worker`, the delivery processes `SLUICE_PROCESSES` starts included: when the cores are busy, API processes get them first, so compression, transforms and Parquet never delay acknowledgements; delivery catches up when they are free. `0` runs delivery at the same priority as the API. Never raises a priority.',
  },
  SLUICE_HEAP_GROWTH_PERCENT: {
    schema: int(0, 1000),
    default: '200',
    doc: "How far each Sluice process's JavaScript heap may grow past what survived a full garbage collection before the next one, in percent (V8's `--heap-growing-percent`, which this overrides). Left to V8 (`0`), a busy Sluice process runs a full collection several times a second; the default lets the heap reach three times its live size (about 120 MB) first. Lower it to trade CPU for memory.",
  },
  SLUICE_TRANSFORMS_DIR: {
    schema: z.string().min(1),
    default: './transforms',
    doc: 'Directory of plug-in transforms: a processor `LambdaArn` of `sluice:transform:<name>` runs `<name>.ts`, `.mts`, `.js` or `.mjs` from it (see docs/transforms.md). Edits take effect for the next batch.',
  },
  SLUICE_CATALOG_DIR: {
    schema: z.string().min(1),
    default: './catalog',
    doc: 'The local table catalog that `DataFormatConversionConfiguration.SchemaConfiguration` names tables in: `<DatabaseName>/<TableName>.json` with a Glue-style column list (see docs/formats.md). Edits take effect for the next batch.',
  },
  SLUICE_REDSHIFT_SECRETS_FILE: {
    schema: z.string(),
    default: '',
    doc: 'JSON file mapping each `SecretsManagerConfiguration.SecretARN` of a Redshift/PostgreSQL destination to its secret, `{"<SecretARN>": {"username": "…", "password": "…"}}` (what AWS Secrets Manager holds for Redshift). Read at each delivery, so a rotated password applies to the next attempt. Empty: no secrets.',
  },
  SLUICE_OPENSEARCH_ENDPOINTS: {
    schema: z.string(),
    default: '',
    doc: 'How OpenSearch destinations reach their clusters: a JSON document `{"endpoints": [{"url": …}]}` whose entries may also give `domainArn`, `username`, one of `password`, `passwordFile` and `passwordEnv`, `caFile` and `rejectUnauthorized`, inline or the path of a file, read once at start. Maps each `DomainARN` to a URL and gives a cluster basic-auth credentials and TLS options (see docs/destinations.md#connecting-sluice_opensearch_endpoints). Empty: `ClusterEndpoint` URLs as they are, without credentials.',
  },
  SLUICE_TRANSFORM_WORKERS: {
    schema: z
      .string()
      .regex(/^(auto|[1-9]\d{0,2})$/, 'must be auto or a whole number from 1 to 999')
      .transform((v) => (v === 'auto' ? availableParallelism() : Number(v))),
    default: 'auto',
    doc: 'Worker threads that run plug-in transforms in each worker process, shared by all streams; `auto` is one per core.',
  },
  SLUICE_TRANSFORM_TIMEOUT_SECONDS: {
    schema: int(1, 300),
    default: '60',
    doc: 'Longest one transform invocation may run; a slower one (a hang, an endless loop) is stopped, its worker thread replaced, and the invocation retried as `NumberOfRetries` says.',
  },
  SLUICE_TRANSFORM_MEMORY_MB: {
    schema: int(16, 65_536),
    default: '512',
    doc: 'Heap limit of each transform worker thread; a transform that exhausts it fails its invocation (retried as `NumberOfRetries` says) without harming Sluice.',
  },
  SLUICE_MAX_ACTIVE_PARTITIONS: {
    schema: int(1, 1_000_000),
    default: '500',
    doc: "Most partitions with buffered records a dynamically partitioned stream may have at once (Firehose's active-partition limit); records of a further partition go to the error output (`DynamicPartitioning.PartitionCountExceeded`).",
  },
  SLUICE_PROCESSING_CONCURRENCY: {
    schema: int(1, 256),
    default: '4',
    doc: 'Batches of one stream with processors or dynamic partitioning that one worker process runs through the processors at once, besides its `SLUICE_DELIVERY_CONCURRENCY` deliveries.',
  },
  SLUICE_SEAL_TICK_MS: {
    schema: int(10, 60_000),
    default: '250',
    doc: 'How often buffers are checked against `IntervalInSeconds`; an age-sealed batch is at most this late.',
  },
  SLUICE_SWEEP_AFTER_MS: {
    schema: int(100, 3_600_000),
    default: '5000',
    doc: 'A batch sealed but not seen enqueued after this long (a process died between the two) is enqueued by the seal ticker (in API processes).',
  },
  SLUICE_SHUTDOWN_TIMEOUT_MS: {
    schema: int(0, 3_600_000),
    default: '30000',
    doc: 'On SIGTERM, SIGINT or SIGHUP, the longest the whole shutdown may take, even with Redis or a destination unreachable. In-flight deliveries get what is left of it after the API has closed; a delivery still running is abandoned (its batch stays in Redis and is retried). Past it the process exits with code 1; a second signal exits at once. Nothing acknowledged is lost either way (see docs/operations.md).',
  },
  SLUICE_REQUEST_TIMEOUT_MS: {
    schema: int(1000, 3_600_000),
    default: '60000',
    doc: 'Longest time a client may take to send one whole API request, headers and body; a request still arriving then is answered 408 and its connection closed. Time spent handling the request does not count.',
  },
  SLUICE_HEADERS_TIMEOUT_MS: {
    schema: int(1000, 3_600_000),
    default: '20000',
    doc: "Longest time a client may take to send an API request's headers (at most `SLUICE_REQUEST_TIMEOUT_MS`).",
  },
  SLUICE_MAX_CONNECTIONS: {
    schema: int(1, 1_000_000),
    default: '1000',
    doc: 'Most client connections one API process holds open at once (each API process that `SLUICE_PROCESSES` starts has its own), idle keep-alive connections included (they close after 65 s without a request); a connection beyond it is closed as soon as it is accepted.',
  },
  SLUICE_METRICS: {
    schema: bool,
    default: 'true',
    doc: 'Serve Prometheus metrics at `GET /metrics` on the API port, without a signature like `/health` (see docs/metrics.md). `false` serves them nowhere, `SLUICE_METRICS_PORT` included (which then serves only the probes); counts are still kept in Redis for the processes that serve them.',
  },
  SLUICE_CONSOLE: {
    schema: z
      .enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'])
      .transform((v) => v === 'on' || v === 'true' || v === '1' || v === 'yes'),
    default: 'on',
    doc: 'Serve the web console at `/console` on the API port (streams, charts of the last hour, error output and dead set with replay, live tail; see docs/console.md). When access keys are configured it asks for an access key id and its secret (HTTP Basic). `off` answers 404 there and keeps no chart history.',
  },
  SLUICE_METRICS_PORT: {
    schema: int(0, 65535),
    default: '0',
    doc: 'A second TCP port, on `SLUICE_HOST`, that serves only `GET /metrics` (unless `SLUICE_METRICS` is `false`), `GET /health` and `GET /ready` over plain HTTP: how a `worker` process, which has no API port, exposes its own metrics (CPU, memory, event loop, transform durations) and its probes. 0: none.',
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
      // A secret's value never reaches a message (it would end up in logs and terminals),
      // nor does the password in a URL's user-info.
      const shown =
        'secret' in setting && setting.secret
          ? '(redacted)'
          : redactUrlCredentials(JSON.stringify(value));
      problems.push(
        `${name}=${shown}: ${why}. Fix: set ${name} to a valid value or unset it for the default (${JSON.stringify(setting.default)}). ${name} is: ${setting.doc}`,
      );
    }
  }
  const settings = out as Settings;
  if (problems.length === 0 && settings.SLUICE_RETRY_BASE_MS > settings.SLUICE_RETRY_MAX_MS) {
    problems.push(
      `SLUICE_RETRY_BASE_MS (${settings.SLUICE_RETRY_BASE_MS}) is larger than SLUICE_RETRY_MAX_MS (${settings.SLUICE_RETRY_MAX_MS}). Fix: lower SLUICE_RETRY_BASE_MS or raise SLUICE_RETRY_MAX_MS.`,
    );
  }
  if (
    problems.length === 0 &&
    settings.SLUICE_REDIS_MODE === 'single' &&
    settings.SLUICE_REDIS_URL.includes(',')
  ) {
    problems.push(
      `SLUICE_REDIS_URL names ${settings.SLUICE_REDIS_URL.split(',').length} Redis URLs but SLUICE_REDIS_MODE is single. Fix: set SLUICE_REDIS_MODE=cluster if they are nodes of one Redis Cluster, or name one URL.`,
    );
  }
  if (problems.length === 0) problems.push(...tlsSettingProblems(settings));
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/**
 * TLS settings that only work together: a certificate needs its key, and Redis TLS settings
 * need a `rediss://` URL (with `redis://` they would be silently ignored).
 */
function tlsSettingProblems(settings: Settings): string[] {
  const problems: string[] = [];
  for (const [cert, key] of [
    ['SLUICE_TLS_CERT', 'SLUICE_TLS_KEY'],
    ['SLUICE_REDIS_TLS_CERT', 'SLUICE_REDIS_TLS_KEY'],
  ] as const) {
    if ((settings[cert] === '') !== (settings[key] === '')) {
      const [set, unset] = settings[cert] === '' ? [key, cert] : [cert, key];
      problems.push(
        `${set} is set but ${unset} is not. Fix: set both (the certificate and its private key) or neither.`,
      );
    }
  }
  if (!redisUsesTls(settings.SLUICE_REDIS_URL)) {
    const redisTls = (
      [
        'SLUICE_REDIS_TLS_CA',
        'SLUICE_REDIS_TLS_CERT',
        'SLUICE_REDIS_TLS_KEY',
        'SLUICE_REDIS_TLS_SERVERNAME',
      ] as const
    ).filter((name) => settings[name] !== '');
    if (redisTls.length > 0) {
      problems.push(
        `${redisTls.join(', ')} ${redisTls.length > 1 ? 'are' : 'is'} set but SLUICE_REDIS_URL is not a rediss:// URL, so Redis would be reached without TLS. Fix: use rediss:// in SLUICE_REDIS_URL, or unset ${redisTls.join(', ')}.`,
      );
    }
  }
  return problems;
}

/** Whether a `SLUICE_REDIS_URL` (one URL, or a cluster's comma-separated nodes) is `rediss://`. */
export function redisUsesTls(url: string): boolean {
  return url.startsWith('rediss://');
}

/**
 * The secret values among `env`'s settings, for the process's output redactor: the value of
 * each setting marked `secret` and the `SECRET` of each of its `ID:SECRET` pairs, and the
 * password of every URL in any setting. Read from the raw environment, so that it works before
 * (and when) the settings fail validation.
 */
export function settingSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets: string[] = [];
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const value = env[name]?.trim();
    if (!value) continue;
    if ('secret' in setting && setting.secret) {
      secrets.push(value);
      for (const pair of value.split(',')) {
        const colon = pair.indexOf(':');
        if (colon !== -1) secrets.push(pair.slice(colon + 1).trim());
      }
    }
    secrets.push(...urlCredentials(value));
  }
  return secrets;
}

/** The settings reference as a Markdown table, for the README. */
export function renderSettingsTable(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, s]) =>
      // A pipe in a description would end its cell: Markdown tables take it escaped.
      `| \`${name}\` | ${s.default === '' ? '(empty)' : `\`${s.default}\``} | ${s.doc.replaceAll('|', '\\|')} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
