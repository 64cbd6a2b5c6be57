/**
 * Pieces of the Prometheus text exposition format (version 0.0.4) for the series Sluice renders
 * itself — those read from Redis at scrape time, which prom-client's registry cannot hold
 * because their values are the deployment's, not this process's.
 */

/** A label value escaped as the text format requires: backslash, double quote, newline. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** `{name="value",…}` for the given pairs, or the empty string when there are none. */
export function labelSet(labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

/** A sample value as the text format writes it (`+Inf`, `NaN`, or the number). */
export function sampleValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}

/** The `# HELP` and `# TYPE` lines that open a metric family. */
export function familyHeader(name: string, type: string, help: string): string {
  const escapedHelp = help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
  return `# HELP ${name} ${escapedHelp}\n# TYPE ${name} ${type}\n`;
}
