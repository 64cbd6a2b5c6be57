import { Prng } from './prng.js';
import { sha256Hex } from './sigv4.js';

/**
 * Deterministic clickstream-like records and the PutRecordBatch bodies that carry them.
 *
 * Bodies are built once, before any timing starts, and reused round-robin: the load generator
 * then spends its time sending, not building JSON, so it measures the server rather than itself.
 */

/** Records in every PutRecordBatch (Firehose's maximum). */
export const RECORDS_PER_REQUEST = 500;

/** A ready-to-send PutRecordBatch body. */
export interface PreparedBody {
  /** The JSON body, UTF-8. */
  readonly buffer: Buffer;
  /** Hex SHA-256 of {@link buffer}, for SigV4. */
  readonly sha256: string;
  /** Payload bytes of each record before base64, in order (to subtract failed records). */
  readonly recordBytes: readonly number[];
  /** Sum of {@link recordBytes}: the payload this request carries. */
  readonly payloadBytes: number;
}

const EVENT_TYPES = [
  'page_view',
  'page_view',
  'page_view',
  'click',
  'scroll',
  'add_to_cart',
  'search',
  'checkout',
] as const;
const SECTIONS = ['products', 'category', 'deals', 'account', 'cart', 'blog', 'help'] as const;
const REFERRERS = [
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://news.ycombinator.com/',
  'https://t.co/',
  '',
] as const;
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
] as const;
const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'AU', 'NL'] as const;
const DEVICES = ['desktop', 'mobile', 'tablet'] as const;
/** Event times start here and advance a few milliseconds a record, like a real click log. */
const BASE_TIME_MS = Date.UTC(2025, 0, 15, 12, 0, 0);

/** One clickstream event as a newline-terminated JSON line (about 500 bytes). */
function clickEvent(rng: Prng, sequence: number): string {
  const section = rng.pick(SECTIONS);
  const event = {
    event_id: rng.hex(32),
    event_type: rng.pick(EVENT_TYPES),
    event_time: new Date(BASE_TIME_MS + sequence * 3 + rng.int(3)).toISOString(),
    user_id: `u-${rng.int(2_000_000)}`,
    session_id: rng.hex(16),
    page: `https://shop.example.com/${section}/${rng.hex(6)}?utm_source=${rng.pick(['mail', 'ads', 'social', 'direct'] as const)}`,
    referrer: rng.pick(REFERRERS),
    user_agent: rng.pick(AGENTS),
    ip: `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`,
    country: rng.pick(COUNTRIES),
    device: rng.pick(DEVICES),
    viewport: { w: 320 + rng.int(1600), h: 480 + rng.int(900) },
    dwell_ms: rng.int(120_000),
    cart_value: Math.round(rng.next() * 50_000) / 100,
  };
  return `${JSON.stringify(event)}\n`;
}

/**
 * Builds `count` PutRecordBatch bodies of {@link RECORDS_PER_REQUEST} records each for `stream`,
 * from `seed`. The same arguments give byte-identical bodies.
 */
export function prepareBodies(stream: string, count: number, seed: number): PreparedBody[] {
  const rng = new Prng(seed);
  const bodies: PreparedBody[] = [];
  let sequence = 0;
  for (let b = 0; b < count; b += 1) {
    const recordBytes: number[] = [];
    const members: string[] = [];
    for (let r = 0; r < RECORDS_PER_REQUEST; r += 1) {
      const data = Buffer.from(clickEvent(rng, sequence), 'utf8');
      sequence += 1;
      recordBytes.push(data.length);
      members.push(`{"Data":"${data.toString('base64')}"}`);
    }
    const buffer = Buffer.from(
      `{"DeliveryStreamName":${JSON.stringify(stream)},"Records":[${members.join(',')}]}`,
      'utf8',
    );
    bodies.push({
      buffer,
      sha256: sha256Hex(buffer),
      recordBytes,
      payloadBytes: recordBytes.reduce((sum, n) => sum + n, 0),
    });
  }
  return bodies;
}

/**
 * Every record's payload in `bodies`, in order: the records as Sluice stores them, which the
 * processing phases feed straight to its stages.
 */
export function payloadsOf(bodies: readonly PreparedBody[]): Buffer[] {
  return bodies.flatMap((body) => {
    const parsed = JSON.parse(body.buffer.toString('utf8')) as { Records: { Data: string }[] };
    return parsed.Records.map((record) => Buffer.from(record.Data, 'base64'));
  });
}
