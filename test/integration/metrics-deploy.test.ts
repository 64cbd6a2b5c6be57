import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadSettings } from '../../src/config/env.js';
import { startService } from '../../src/service.js';
import { cleanupAfterAll, FAST, startRedis, tempDir } from '../support/e2e.js';
import { exportedNames, parseExposition } from '../support/prometheus-text.js';

/**
 * The Grafana dashboard and the Prometheus rules in deploy/ against what Sluice exports: every
 * metric an expression names must be in a real scrape, so renaming a metric without the
 * dashboard and the alerts fails here rather than in an empty panel or a silent alert.
 */

const run = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

/** PromQL functions, aggregations and keywords: identifiers that are not metric names. */
const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'scalar',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'label_values',
]);

/**
 * The metric names a PromQL expression selects: quoted strings, label matchers, range
 * durations and grouping label lists removed, what is left of the identifiers minus functions
 * and keywords.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return names.filter((name) => !PROMQL_WORDS.has(name));
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } | string }[] };
}

interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('deploy/: the dashboard and alert rules name metrics Sluice exports', () => {
  const suite = cleanupAfterAll();
  let exported: Set<string>;

  beforeAll(async () => {
    // A private Redis: the service's workers take every stream of the Redis they serve.
    const redisServer = await startRedis(suite);
    const dataDir = await tempDir(suite, 'sluice-metrics-deploy-');
    const service = await startService(
      loadSettings({
        ...FAST,
        SLUICE_REDIS_URL: redisServer.url,
        SLUICE_DATA_DIR: dataDir,
        SLUICE_PORT: '0',
      }),
      pino({ level: 'silent' }),
    );
    suite.add(() => service.stop());
    const response = await fetch(`${service.url!}/metrics`);
    expect(response.status).toBe(200);
    exported = exportedNames(parseExposition(await response.text()));
  });

  it('the metrics name extractor sees through PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, max by (stream, le) (rate(a_bucket{stream=~"$s", x="max"}[$__rate_interval]))) / on() group_left (b) scalar(max(c)) > 0.8',
      ),
    ).toEqual(['a_bucket', 'c']);
  });

  it('the Grafana dashboard: valid panels, every expression on exported metrics', async () => {
    const dashboard = JSON.parse(
      await readFile(`${DEPLOY}grafana/dashboards/sluice.json`, 'utf8'),
    ) as Dashboard;
    const datasources = await readFile(
      `${DEPLOY}grafana/provisioning/datasources/prometheus.yml`,
      'utf8',
    );
    const uid = /^\s*uid:\s*(\S+)\s*$/m.exec(datasources)?.[1];
    expect(uid).toBeDefined();
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);

    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queries: { where: string; expr: string }[] = [];
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
      }
    }
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      // label_values(<series selector>, <label>): the label is not a metric.
      const selector = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/.exec(query)?.[1];
      expect(selector, `variable ${variable.name}: ${query}`).toBeDefined();
      queries.push({ where: `variable ${variable.name}`, expr: selector ?? query });
    }
    expect(queries.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) if (!exported.has(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('the Prometheus rules: well-formed alerts on exported metrics', async () => {
    // JSON syntax, which is YAML too: Prometheus loads it as a rules file.
    const rules = JSON.parse(
      await readFile(`${DEPLOY}prometheus/rules/sluice-alerts.json`, 'utf8'),
    ) as { groups: { name: string; rules: AlertRule[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(5);
    expect(new Set(rules.groups.map((g) => g.name)).size).toBe(rules.groups.length);
    const unknown: string[] = [];
    for (const rule of alerts) {
      expect(Object.keys(rule).sort(), rule.alert).toEqual([
        'alert',
        'annotations',
        'expr',
        'for',
        'labels',
      ]);
      expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.description, rule.alert).toBeTruthy();
      // Parentheses balance, and an alert compares: it fires on what its expression returns.
      let depth = 0;
      for (const c of rule.expr) {
        depth += c === '(' ? 1 : c === ')' ? -1 : 0;
        expect(depth, rule.alert).toBeGreaterThanOrEqual(0);
      }
      expect(depth, rule.alert).toBe(0);
      expect(rule.expr, rule.alert).toMatch(/[<>]=?|==|!=/);
      const names = metricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      // `up` is Prometheus's own series for every target.
      for (const name of names)
        if (name !== 'up' && !exported.has(name)) unknown.push(`${rule.alert}: ${name}`);
    }
    expect(unknown).toEqual([]);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it('promtool, Prometheus own checker, accepts the rules and the config', async () => {
    // Debian's prometheus package has promtool (.ci/run installs it).
    const promtool = (args: string[]) =>
      run('promtool', args).catch((error: unknown) => {
        const e = error as { code?: string; stdout?: string; stderr?: string };
        throw new Error(
          e.code === 'ENOENT'
            ? 'promtool is not on the PATH: apt-get install prometheus (Debian) provides it'
            : `promtool ${args.join(' ')} failed: ${e.stdout ?? ''}${e.stderr ?? ''}`,
        );
      });
    const rulesFile = `${DEPLOY}prometheus/rules/sluice-alerts.json`;
    const checked = await promtool(['check', 'rules', rulesFile]);
    expect(checked.stdout).toMatch(/SUCCESS: \d+ rules found/);
    // The config names the rules where the container mounts them; point it at the repository's.
    const dir = await mkdtemp(join(tmpdir(), 'sluice-promtool-'));
    try {
      const config = (await readFile(`${DEPLOY}prometheus/prometheus.yml`, 'utf8')).replace(
        '/etc/prometheus/rules/sluice-alerts.json',
        rulesFile,
      );
      expect(config).toContain(rulesFile);
      await writeFile(join(dir, 'prometheus.yml'), config);
      const configChecked = await promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(`${configChecked.stdout}${configChecked.stderr}`).toContain('SUCCESS');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the Prometheus config scrapes Sluice and loads the rules file', async () => {
    const config = await readFile(`${DEPLOY}prometheus/prometheus.yml`, 'utf8');
    expect(config).toMatch(/^\s*-\s*\/etc\/prometheus\/rules\/sluice-alerts\.json\s*$/m);
    expect(config).toMatch(/^\s*metrics_path:\s*\/metrics\s*$/m);
    expect(config).toMatch(/targets:\s*\['sluice:4573'\]/);
    expect(config).toMatch(/job_name:\s*sluice\s*$/m);
    const compose = await readFile(
      fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)),
      'utf8',
    );
    expect(compose).toContain('./deploy/prometheus/rules:/etc/prometheus/rules:ro');
    expect(compose).toMatch(/image: prom\/prometheus:v\d+\.\d+\.\d+/);
    expect(compose).toMatch(/image: grafana\/grafana:\d+\.\d+\.\d+/);
  });
});
