/**
 * One stream's page: summary, charts of the last hour (refreshed every sample interval),
 * configuration, error output and dead set, live tail.
 */
import { ApiError, getJson, pageParam } from './api.js';
import { renderChart } from './chart.js';
import { setUpFailures } from './failures.js';
import { bytes, count, el, rate, time } from './format.js';
import { setUpTail } from './tail.js';

const stream = pageParam('name');
const status = document.getElementById('stream-status');

const CHARTS = [
  {
    id: 'chart-incoming',
    title: 'Incoming records per second',
    value: (p) => p.incomingRecordsPerSecond,
    format: (v) => `${rate(v)} records/s`,
  },
  {
    id: 'chart-delivered',
    title: 'Delivered records per second',
    value: (p) => p.deliveredRecordsPerSecond,
    format: (v) => `${rate(v)} records/s`,
  },
  {
    id: 'chart-backlog',
    title: 'Backlog in records',
    value: (p) => p.backlogRecords,
    format: (v) => `${count(v)} records`,
  },
  {
    id: 'chart-freshness',
    title: 'Data freshness in seconds',
    value: (p) => p.freshnessSeconds,
    format: (v) => `${rate(v)} s`,
  },
];

function facts(list, entries) {
  list.replaceChildren();
  for (const [name, value] of entries) list.append(el('dt', name), el('dd', value));
}

function showSummary(summary) {
  facts(document.getElementById('summary-facts'), [
    ['Status', summary.status],
    ['Destination', summary.destination],
    ['Created', time(summary.createdMs)],
    ['Backlog', `${count(summary.backlogRecords)} records, ${bytes(summary.backlogBytes)}`],
    ['Dead batches', count(summary.deadBatches)],
    ['Error output objects', count(summary.errorObjects)],
  ]);
  document.getElementById('summary').hidden = false;
}

/** The destination's main settings, from its description, for the facts list. */
function destinationFacts(description) {
  const destination = description.Destinations?.[0] ?? {};
  const entries = [
    ['Type', description.DeliveryStreamType],
    ['Version', description.VersionId],
    ['ARN', description.DeliveryStreamARN],
  ];
  for (const [member, value] of Object.entries(destination)) {
    if (member === 'DestinationId' || member === 'S3DestinationDescription') continue;
    if (value === null || typeof value !== 'object') continue;
    entries.push(['Destination', member.replace(/DestinationDescription$/, '')]);
    const target =
      value.BucketARN ??
      value.EndpointConfiguration?.Url ??
      value.DomainARN ??
      value.ClusterEndpoint ??
      value.ClusterJDBCURL;
    if (target !== undefined) entries.push(['Delivers to', String(target)]);
    const hints = value.BufferingHints;
    if (hints) {
      entries.push([
        'Buffering',
        `${hints.SizeInMBs ?? '?'} MiB or ${hints.IntervalInSeconds ?? '?'} s`,
      ]);
    }
    if (value.CompressionFormat) entries.push(['Compression', value.CompressionFormat]);
    break;
  }
  return entries;
}

function showConfig(description) {
  facts(document.getElementById('config-facts'), destinationFacts(description));
  document.getElementById('config-json').textContent = JSON.stringify(description, null, 2);
  document.getElementById('config').hidden = false;
}

function showHistory(history) {
  for (const chart of CHARTS) {
    renderChart(document.getElementById(chart.id), {
      title: chart.title,
      points: history.points.map((p) => ({ at: p.at, value: chart.value(p) })),
      from: history.from,
      to: history.to,
      format: chart.format,
    });
  }
  document.getElementById('charts-hint').textContent =
    history.points.length === 0
      ? `Sluice samples every ${history.intervalMs / 1000} s; the charts fill in from the first samples.`
      : `Sampled every ${history.intervalMs / 1000} s; updated ${time(history.to)}.`;
  const rows = [...history.points].reverse().map((p) => {
    const tr = document.createElement('tr');
    tr.append(
      el('td', time(p.at)),
      el('td', rate(p.incomingRecordsPerSecond), 'num'),
      el('td', bytes(p.incomingBytesPerSecond), 'num'),
      el('td', rate(p.deliveredRecordsPerSecond), 'num'),
      el('td', bytes(p.deliveredBytesPerSecond), 'num'),
      el('td', count(p.backlogRecords), 'num'),
      el('td', bytes(p.backlogBytes), 'num'),
      el('td', rate(p.freshnessSeconds), 'num'),
    );
    return tr;
  });
  document.querySelector('#history-table tbody').replaceChildren(...rows);
  document.getElementById('charts').hidden = false;
}

async function refresh() {
  const [detail, history] = await Promise.all([
    getJson('stream', { stream }),
    getJson('history', { stream }),
  ]);
  showSummary(detail.summary);
  showHistory(history);
  return { detail, history };
}

async function start() {
  if (stream === '') {
    status.className = 'error';
    status.textContent = 'No stream named: open a stream from the streams page.';
    return;
  }
  document.getElementById('stream-title').textContent = stream;
  document.title = `${stream} · Sluice console`;
  let first;
  try {
    first = await refresh();
  } catch (error) {
    status.className = 'error';
    status.textContent =
      error instanceof ApiError && error.status === 404
        ? `There is no delivery stream ${stream}.`
        : `The stream could not be read: ${error instanceof ApiError ? error.message : error}`;
    return;
  }
  showConfig(first.detail.description);
  status.textContent = '';
  setUpFailures(stream);
  setUpTail(stream);
  const every = first.history.intervalMs;
  const again = () =>
    setTimeout(() => {
      refresh()
        .then(() => {
          status.className = '';
          status.textContent = '';
        })
        .catch((error) => {
          status.className = 'error';
          status.textContent = `Could not refresh: ${error instanceof ApiError ? error.message : error}`;
        })
        .finally(again);
    }, every);
  again();
}

void start();
