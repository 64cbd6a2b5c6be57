/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must
 * be a comment, a `# HELP`/`# TYPE` line or a sample, label values unescaped, and a family's
 * TYPE must come before its samples, at most once. A malformed line throws, naming it.
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A whole exposition: its samples and each family's declared type. */
export interface Exposition {
  samples: Sample[];
  /** Family name → `counter`, `gauge`, `histogram`, `summary` or `untyped`. */
  types: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_LINE = new RegExp(`^(${NAME})(\\{(.*)\\})?\\s+(\\S+)(\\s+-?\\d+)?$`);
const LABEL = new RegExp(`^(${NAME})="((?:[^"\\\\]|\\\\.)*)"(,|$)`);

/** Parses `text`; throws on the first line that is not valid exposition format. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) {
        if (types.has(type[1] as string)) throw new Error(`TYPE given twice, ${where}`);
        types.set(type[1] as string, type[2] as string);
      } else if (
        line.startsWith('# TYPE') ||
        (line.startsWith('# HELP') && !/^# HELP \S+/.test(line))
      ) {
        throw new Error(`malformed comment, ${where}`);
      }
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample, ${where}`);
    const labels: Record<string, string> = {};
    let rest = match[3] ?? '';
    while (rest !== '') {
      const label = LABEL.exec(rest);
      if (!label) throw new Error(`malformed labels, ${where}`);
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      );
      rest = rest.slice(label[0].length);
    }
    const raw = match[4] as string;
    const value = parseValue(raw);
    if (value === undefined) throw new Error(`bad value, ${where}`);
    const name = match[1] as string;
    const family = familyOf(name, types);
    if (family === undefined) throw new Error(`sample before its TYPE, ${where}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/**
 * A sample value as Prometheus reads it (Go's ParseFloat): a decimal or exponent number, or
 * NaN and infinities in any letter case (prom-client writes `Nan`).
 */
function parseValue(raw: string): number | undefined {
  const lower = raw.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : undefined;
}

/** The family a sample name belongs to (a histogram's `_bucket`, `_sum`, `_count`). */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return undefined;
}

/**
 * Every sample name the exposition can have: each family's name, and for histograms and
 * summaries their `_bucket`, `_sum` and `_count` series.
 */
export function exportedNames(exposition: Exposition): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of exposition.types) {
    names.add(name);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    }
  }
  return names;
}

/**
 * The value of the one sample named `name` whose labels include `labels`; undefined when there
 * is none; throws when several match.
 */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = matching(exposition, name, labels);
  if (found.length > 1) {
    throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return found[0]?.value;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
export function sumOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  return matching(exposition, name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** The samples named `name` whose labels include `labels`. */
export function matching(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}
