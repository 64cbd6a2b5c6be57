/**
 * A reader of the Prometheus text format (0.0.4) as `GET /metrics` serves it: the samples,
 * with label values unescaped. Comments and lines it cannot read are passed over, so a newer
 * Sluice's additions never break an older CLI.
 */

/** One sample line. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const LABEL = new RegExp(`^\\s*(${NAME})="((?:[^"\\\\]|\\\\.)*)"\\s*(?:,|$)`);

/** The samples of `text`. */
export function parseMetricsText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const labels = parseLabels(match[2] ?? '');
    const value = Number(match[3]);
    if (labels === undefined || Number.isNaN(value)) continue;
    samples.push({ name: match[1] as string, labels, value });
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.trim() !== '') {
    const match = LABEL.exec(rest);
    if (match === null) return undefined;
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) =>
      c === 'n' ? '\n' : c,
    );
    rest = rest.slice(match[0].length);
  }
  return labels;
}
