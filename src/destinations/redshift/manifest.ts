/**
 * Redshift COPY manifests: the JSON file a `COPY … FROM 's3://…' MANIFEST` reads to learn which
 * objects to load, `{"entries":[{"url":"s3://bucket/key","mandatory":true,"meta":{"content_length":N}}]}`.
 * `mandatory` makes the COPY fail when an object is missing instead of loading less;
 * `content_length` is the object's size in bytes as stored (compressed), which Redshift needs
 * for some formats and checks when given.
 */

/** One object a manifest lists. */
export interface ManifestEntry {
  bucket: string;
  key: string;
  /** The object's stored size in bytes; absent: not known (the entry has no `meta`). */
  contentLength?: number | undefined;
}

/** The manifest's bytes: compact JSON, members in Redshift's documented order. */
export function manifestOf(entries: readonly ManifestEntry[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      entries: entries.map((entry) => ({
        url: s3Url(entry.bucket, entry.key),
        mandatory: true,
        ...(entry.contentLength !== undefined
          ? { meta: { content_length: entry.contentLength } }
          : {}),
      })),
    }),
    'utf8',
  );
}

/** `s3://bucket/key`, the key as stored (not URL-encoded, as Redshift reads it). */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
