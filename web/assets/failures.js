/**
 * The error output and the dead set of a stream: a list with reasons, a preview of an item's
 * first records, and replay of the selected items one after another with progress.
 */
import { ApiError, getJson, postJson } from './api.js';
import { count, el, encodingLabel, previewText, time } from './format.js';

/** @param {string} stream */
export function setUpFailures(stream) {
  const section = document.getElementById('failures');
  const form = document.getElementById('failures-filter');
  const typeSelect = document.getElementById('failures-type');
  const status = document.getElementById('failures-status');
  const table = document.getElementById('failures-table');
  const body = table.querySelector('tbody');
  const controls = document.getElementById('replay-controls');
  const replayButton = document.getElementById('replay-selected');
  const replayTo = document.getElementById('replay-to');
  const selectAll = document.getElementById('select-all');
  const progress = document.getElementById('replay-progress');
  const bar = document.getElementById('replay-bar');
  const progressText = document.getElementById('replay-text');
  const failureList = document.getElementById('replay-failures');
  const preview = document.getElementById('preview');
  const previewHeading = document.getElementById('preview-heading');
  const previewReason = document.getElementById('preview-reason');
  const previewRecords = document.getElementById('preview-records');
  let replaying = false;

  function kindOf(item) {
    return item.source === 'dead-batch' ? 'dead batch' : `error output: ${item.type}`;
  }

  function row(item) {
    const tr = document.createElement('tr');
    tr.dataset.id = item.id;
    const pick = document.createElement('input');
    pick.type = 'checkbox';
    pick.value = item.id;
    pick.disabled = item.replayed;
    pick.setAttribute('aria-label', `Select ${kindOf(item)} of batch ${item.batchId}`);
    const pickCell = el('td');
    pickCell.append(pick);
    const previewButton = el('button', 'Preview');
    previewButton.type = 'button';
    previewButton.setAttribute('aria-label', `Preview ${kindOf(item)} of batch ${item.batchId}`);
    previewButton.addEventListener('click', () => void showPreview(item));
    const actions = el('td');
    actions.append(previewButton);
    tr.append(
      pickCell,
      el('td', time(item.atMs)),
      el('td', kindOf(item)),
      el('td', count(item.records), 'num'),
      el(
        'td',
        item.reason ?? (item.source === 'dead-batch' ? '' : `${item.type} (see Preview)`),
        'reason',
      ),
      el('td', item.replayed ? 'yes' : 'no', 'replayed'),
      actions,
    );
    return tr;
  }

  async function load() {
    status.className = '';
    status.textContent = 'Loading…';
    try {
      const answer = await getJson('failures', { stream, type: typeSelect.value });
      body.replaceChildren(...answer.items.map(row));
      table.hidden = answer.items.length === 0;
      controls.hidden = answer.items.length === 0;
      status.textContent =
        answer.items.length === 0
          ? 'Nothing failed: the error output and the dead set are empty.'
          : `${count(answer.items.length)} item${answer.items.length === 1 ? '' : 's'}${answer.truncated ? ' (more exist: narrow the kind)' : ''}.`;
    } catch (error) {
      status.className = 'error';
      status.textContent = `Could not list the failures: ${error instanceof ApiError ? error.message : error}`;
    }
  }

  async function showPreview(item) {
    preview.hidden = false;
    previewHeading.textContent = `Preview of ${kindOf(item)}, batch ${item.batchId}`;
    previewReason.textContent = 'Loading…';
    previewRecords.replaceChildren();
    previewHeading.focus();
    try {
      const answer = await getJson('preview', { stream, id: item.id });
      previewReason.textContent = `${count(answer.records)} record${answer.records === 1 ? '' : 's'}; reason: ${answer.reason || 'none given'}. The first ${answer.shown.length}:`;
      previewRecords.replaceChildren(
        ...answer.shown.map((record) => {
          const li = el('li');
          const meta = `#${record.index + 1} · ${time(record.arrivalMs)} · ${count(record.bytes)} bytes · ${encodingLabel(record)}${record.reason ? ` · ${record.reason}` : ''}`;
          li.append(el('div', meta, 'meta'), el('pre', previewText(record)));
          return li;
        }),
      );
    } catch (error) {
      previewReason.textContent = `Could not preview: ${error instanceof ApiError ? error.message : error}`;
    }
  }

  async function replaySelected() {
    if (replaying) return;
    const ids = [...body.querySelectorAll('input[type=checkbox]:checked')].map((box) => box.value);
    if (ids.length === 0) {
      status.textContent = 'Select the items to replay first.';
      return;
    }
    const to = replayTo.value.trim();
    replaying = true;
    replayButton.disabled = true;
    progress.hidden = false;
    failureList.replaceChildren();
    bar.max = ids.length;
    bar.value = 0;
    let done = 0;
    let failed = 0;
    let records = 0;
    const say = (finished) => {
      progressText.textContent = `${finished ? 'Finished: ' : ''}${done} of ${ids.length} replayed, ${failed} failed, ${count(records)} records appended.`;
    };
    say(false);
    // One item at a time: each is appended in order, and a failure stops nothing else.
    for (const id of ids) {
      try {
        const answer = await postJson('replay', to === '' ? { stream, id } : { stream, id, to });
        records += answer.records;
        done += 1;
      } catch (error) {
        failed += 1;
        failureList.append(el('li', `${id}: ${error instanceof ApiError ? error.message : error}`));
      }
      bar.value = done + failed;
      say(false);
    }
    say(true);
    replaying = false;
    replayButton.disabled = false;
    await load();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  selectAll.addEventListener('click', () => {
    for (const box of body.querySelectorAll('input[type=checkbox]')) box.checked = !box.disabled;
  });
  replayButton.addEventListener('click', () => void replaySelected());
  section.hidden = false;
  void load();
}
