/**
 * The live tail: long polls `/console/api/tail` while started, shows the records as they come
 * (the newest 200 stay), and stops when asked or when the page goes away.
 */
import { ApiError, getJson } from './api.js';
import { count, el, encodingLabel, previewText, time } from './format.js';

/** Most records kept on the page. */
const KEEP = 200;
/** Seconds one poll waits for records. */
const WAIT_SECONDS = 20;

/** @param {string} stream */
export function setUpTail(stream) {
  const section = document.getElementById('tail');
  const toggle = document.getElementById('tail-toggle');
  const clear = document.getElementById('tail-clear');
  const status = document.getElementById('tail-status');
  const list = document.getElementById('tail-records');
  let controller;
  let shown = 0;
  let skipped = 0;

  function say(text, isError = false) {
    status.className = isError ? 'error' : '';
    status.textContent = text;
  }

  function show(record) {
    const li = el('li');
    li.dataset.seq = record.seq;
    const meta = `${time(record.at)} · ${count(record.bytes)} bytes · ${encodingLabel(record)}`;
    li.append(el('div', meta, 'meta'), el('pre', previewText(record)));
    list.append(li);
    while (list.children.length > KEEP) list.firstElementChild.remove();
  }

  async function run(signal) {
    let cursor;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const page = await getJson('tail', { stream, cursor, wait: WAIT_SECONDS }, signal);
        failures = 0;
        cursor = page.cursor;
        for (const record of page.records) show(record);
        shown += page.records.length;
        skipped += page.skipped;
        say(
          `Tailing: ${count(shown)} record${shown === 1 ? '' : 's'} shown${skipped > 0 ? `, ${count(skipped)} left out by sampling` : ''}.`,
        );
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        say(`The tail stopped: ${error instanceof ApiError ? error.message : error}`, true);
        // A refused request (bad stream, signed out) is not retried; a lost answer is, slower each time.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) break;
        if (failures > 5) break;
        await new Promise((resolve) => setTimeout(resolve, 1000 * failures));
      }
    }
    // Unless the user stopped (or stopped and started again) meanwhile.
    if (controller?.signal === signal) stop(false);
  }

  function start() {
    controller = new AbortController();
    toggle.textContent = 'Stop the live tail';
    say('Tailing: waiting for records…');
    void run(controller.signal);
  }

  function stop(byUser) {
    controller?.abort();
    controller = undefined;
    toggle.textContent = 'Start the live tail';
    if (byUser) say(`Stopped after ${count(shown)} record${shown === 1 ? '' : 's'}.`);
  }

  toggle.addEventListener('click', () => (controller ? stop(true) : start()));
  clear.addEventListener('click', () => {
    list.replaceChildren();
    shown = 0;
    skipped = 0;
  });
  window.addEventListener('pagehide', () => controller?.abort());
  section.hidden = false;
}
