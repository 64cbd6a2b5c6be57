/**
 * Amazon S3's naming rules for general purpose buckets, checked when a destination is created or
 * updated. The `BucketARN` model pattern (`[\w\.\-]{1,255}` after `s3:::`) lets through names no
 * bucket can have (`..`, `UPPER`, `a`); delivering to them would fail on every retry against S3,
 * and the local-directory store would turn `.` and `..` into paths. Rules as published in the S3
 * User Guide ("General purpose bucket naming rules").
 */

/** Shortest bucket name S3 allows. */
export const MIN_BUCKET_NAME_LENGTH = 3;

/** Longest bucket name S3 allows. */
export const MAX_BUCKET_NAME_LENGTH = 63;

/** Prefixes S3 reserves (`sthree-configurator` is covered by `sthree-`). */
export const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;

/** Suffixes S3 reserves for access point aliases, Multi-Region Access Points, directory and table buckets. */
export const RESERVED_BUCKET_SUFFIXES = [
  '-s3alias',
  '--ol-s3',
  '.mrap',
  '--x-s3',
  '--table-s3',
] as const;

const ALLOWED = /^[a-z0-9.-]*$/;
const LETTER_OR_DIGIT = /^[a-z0-9]$/;
const IP_ADDRESS = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * Checks a bucket name against S3's general purpose bucket naming rules.
 *
 * @param name - The bucket name, as taken from a `BucketARN`.
 * @returns A sentence naming the first rule `name` breaks, or undefined when it is valid.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < MIN_BUCKET_NAME_LENGTH || name.length > MAX_BUCKET_NAME_LENGTH) {
    return `bucket names must be between ${MIN_BUCKET_NAME_LENGTH} and ${MAX_BUCKET_NAME_LENGTH} characters long, but it has ${name.length}`;
  }
  if (!ALLOWED.test(name)) {
    const bad = [...name].find((c) => !ALLOWED.test(c)) ?? '';
    return `bucket names can consist only of lowercase letters, numbers, periods (.) and hyphens (-), but it contains ${JSON.stringify(bad)}`;
  }
  if (
    !LETTER_OR_DIGIT.test(name.charAt(0)) ||
    !LETTER_OR_DIGIT.test(name.charAt(name.length - 1))
  ) {
    return 'bucket names must begin and end with a letter or number';
  }
  if (name.includes('..')) return 'bucket names must not contain two adjacent periods';
  if (IP_ADDRESS.test(name)) {
    return 'bucket names must not be formatted as an IP address (for example, 192.168.5.4)';
  }
  const prefix = RESERVED_BUCKET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return `bucket names must not start with the reserved prefix ${prefix}`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) return `bucket names must not end with the reserved suffix ${suffix}`;
  return undefined;
}
