/** The streams page: a table of every stream, a page of 100 at a time, refreshed every interval. */
import { ApiError, getJson } from './api.js';
import { bytes, count, el, rate } from './format.js';

const table = document.getElementById('streams-table');
const body = table.querySelector('tbody');
const status = document.getElementById('streams-status');
const more = document.getElementById('more');
const refresh = document.getElementById('refresh');

/** Where the next page starts; null when every stream is shown. */
let next = null;
let timer;

function row(stream) {
  const tr = document.createElement('tr');
  tr.dataset.stream = stream.name;
  const nameCell = document.createElement('th');
  nameCell.scope = 'row';
  const link = el('a', stream.name);
  link.href = `/console/stream?name=${encodeURIComponent(stream.name)}`;
  nameCell.append(link);
  tr.append(
    nameCell,
    el('td', stream.status, `status status-${stream.status}`),
    el('td', stream.destination),
    el('td', rate(stream.incomingRecordsPerSecond), 'num'),
    el('td', rate(stream.deliveredRecordsPerSecond), 'num'),
    el('td', count(stream.backlogRecords), 'num'),
    el('td', bytes(stream.backlogBytes), 'num'),
    el('td', count(stream.deadBatches), 'num'),
    el('td', count(stream.errorObjects), 'num'),
  );
  return tr;
}

/** Loads the first page again (replacing the table), or the next one (appending). */
async function load(append) {
  clearTimeout(timer);
  try {
    const page = await getJson('streams', { after: append ? next : undefined });
    if (!append) body.replaceChildren();
    for (const stream of page.streams) body.append(row(stream));
    next = page.next;
    more.hidden = next === null;
    table.hidden = body.children.length === 0;
    status.className = '';
    status.textContent =
      body.children.length === 0
        ? 'There are no delivery streams yet. Create one with the AWS CLI, an SDK or a streams file.'
        : `${count(body.children.length)} stream${body.children.length === 1 ? '' : 's'} shown${next === null ? '' : ', more below'}.`;
    // Refreshed by itself while it shows one page; with more, the Refresh button does it.
    if (!append && next === null) {
      timer = setTimeout(() => void load(false), page.sampleIntervalMs);
    }
  } catch (error) {
    status.className = 'error';
    status.textContent = `The streams could not be read: ${error instanceof ApiError ? error.message : error}`;
    timer = setTimeout(() => void load(false), 10_000);
  }
}

more.addEventListener('click', () => void load(true));
refresh.addEventListener('click', () => void load(false));
void load(false);
