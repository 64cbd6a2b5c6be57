import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamKeys } from '../../src/streams/keys.js';
import { startConsoleSluice, type ConsoleSluice } from '../support/console-sluice.js';
import { cleanupAfterAll, cleanupAfterEach, eventually } from '../support/e2e.js';
import { decodePng, distinctColours, pixelsNear } from '../support/png.js';

/**
 * The web console in a real headless browser (Debian's chromium, driven by playwright-core):
 * the streams table, a stream's charts with the traffic in them (checked in the SVG and in a
 * screenshot's pixels), the error output and the dead set with their reasons, a preview,
 * replay with progress, the live tail, the console turned off, and its sign-in.
 *
 * Screenshots go to a fresh directory under the system's temporary directory (its path is
 * printed), and are checked here: decoded, not blank, the chart's series colour present.
 */

const SHOTS = mkdtempSync(join(tmpdir(), 'sluice-console-shots-'));
/** The incoming chart's series colour (web/assets/console.css `--incoming`). */
const INCOMING_COLOUR = '#0b5cad';
const LAUNCH = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
/** Bound on every wait for the page. */
const WAIT_MS = 30_000;

/** `expect.poll` with the bound above (its own default is one second). */
function poll<T>(check: () => Promise<T> | T) {
  return expect.poll(check, { timeout: WAIT_MS, interval: 100 });
}

const suite = cleanupAfterAll();
const each = cleanupAfterEach();
let sluice: ConsoleSluice;
let browser: Browser;

beforeAll(async () => {
  console.log(`console screenshots: ${SHOTS}`);
  [sluice, browser] = await Promise.all([startConsoleSluice(suite), chromium.launch(LAUNCH)]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
});

async function newPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  each.add(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  return page;
}

/** Saves a screenshot and checks it is a real picture: decodable, not blank, not empty. */
async function shot(name: string, png: Buffer) {
  await writeFile(join(SHOTS, `${name}.png`), png);
  const decoded = decodePng(png);
  expect(decoded.width).toBeGreaterThan(0);
  expect(decoded.height).toBeGreaterThan(0);
  expect(distinctColours(decoded), `${name} is blank`).toBeGreaterThan(2);
  return decoded;
}

describe('the web console in a browser', () => {
  it('shows the streams, and a stream with charts of its traffic', async () => {
    const stream = await sluice.createS3Stream('browser-chart');
    await sluice.sample();
    const records = Array.from({ length: 80 }, (_, i) => `{"n":${i},"what":"chart"}`);
    await sluice.put(stream, records.slice(0, 40));
    await sluice.put(stream, records.slice(40));
    await eventually('the records delivered', async () => {
      const delivered = await sluice.servers.redis.hget(
        streamKeys(stream).stats,
        'deliveredRecords',
      );
      return Number(delivered) === records.length;
    });
    // The durable counters reach Redis within a second; sample after that.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await sluice.sample();

    const page = await newPage();
    await page.goto(`${sluice.url}/console/`);
    const row = page.locator(`#streams-table tbody tr[data-stream="${stream}"]`);
    await row.waitFor();
    await poll(() => row.locator('td').nth(0).textContent()).toBe('ACTIVE');
    expect(await row.locator('td').nth(1).textContent()).toBe('ExtendedS3');
    expect(await page.locator('h1').textContent()).toBe('Delivery streams');
    await shot('streams-page', await page.screenshot({ fullPage: true }));
    await shot('streams-table', await page.locator('#streams-table').screenshot());

    await row.getByRole('link', { name: stream }).click();
    await page.waitForURL(/\/console\/stream\?name=/);
    await poll(() => page.locator('h1').textContent()).toBe(stream);
    const chart = page.locator('#chart-incoming svg');
    await chart.waitFor();
    await poll(async () => Number(await chart.getAttribute('data-max'))).toBeGreaterThan(0);
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
    expect(await chart.locator('path.series').getAttribute('d')).toMatch(/^M[\d.]+ [\d.]+/);
    expect(await chart.locator('title').textContent()).toBe('Incoming records per second');
    expect(await chart.locator('desc').textContent()).toMatch(/highest [\d.,]+ records\/s/);
    const delivered = page.locator('#chart-delivered svg');
    await poll(async () => Number(await delivered.getAttribute('data-max'))).toBeGreaterThan(0);
    // The table fallback has the same numbers.
    expect(await page.locator('#history-table tbody tr').count()).toBeGreaterThan(0);
    // Configuration: Describe's output.
    expect(await page.locator('#config-json').textContent()).toContain(
      `"DeliveryStreamName": "${stream}"`,
    );

    const picture = await shot('stream-page', await page.screenshot({ fullPage: true }));
    expect(picture.height).toBeGreaterThan(900);
    const chartShot = await shot(
      'chart-incoming',
      await page.locator('#chart-incoming').screenshot(),
    );
    expect(
      pixelsNear(chartShot, INCOMING_COLOUR),
      'the series colour in the chart',
    ).toBeGreaterThan(20);
  }, 120_000);

  it('lists the error output with its reason, previews it, and replays it with progress', async () => {
    sluice.receiver.always({ kind: 'status', status: 413, errorMessage: 'too big for us' });
    const stream = await sluice.createHttpStream('browser-errors', 'browser-endpoint-secret');
    const records = ['{"order":1,"item":"apple"}', 'a plain text record'];
    await sluice.put(stream, records);
    await eventually('the error output indexed', async () => {
      const count = await sluice.servers.redis.zcard(streamKeys(stream).errors);
      return count > 0;
    });

    const page = await newPage();
    await page.goto(`${sluice.url}/console/stream?name=${stream}`);
    const row = page.locator('#failures-table tbody tr').first();
    await row.waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe('error output: http-endpoint-failed');
    expect(await page.locator('#config-json').textContent()).not.toContain(
      'browser-endpoint-secret',
    );

    await row.getByRole('button', { name: /^Preview/ }).click();
    const preview = page.locator('#preview');
    await poll(() => page.locator('#preview-reason').textContent()).toMatch(
      /reason: HttpEndpoint\.DestinationException: /,
    );
    await poll(() => preview.locator('li').count()).toBe(2);
    expect(await preview.locator('li pre').first().textContent()).toBe(
      JSON.stringify({ order: 1, item: 'apple' }, null, 2),
    );
    expect(await preview.locator('li pre').nth(1).textContent()).toBe('a plain text record');
    await shot('preview', await preview.screenshot());

    sluice.receiver.always({ kind: 'ok' });
    await page.getByRole('button', { name: 'Select all not yet replayed' }).click();
    await page.getByRole('button', { name: 'Replay the selected items' }).click();
    await poll(() => page.locator('#replay-text').textContent()).toMatch(
      /^Finished: 1 of 1 replayed, 0 failed, 2 records appended\.$/,
    );
    expect(await page.locator('#replay-bar').getAttribute('value')).toBe('1');
    await poll(() =>
      page.locator('#failures-table tbody tr td.replayed').first().textContent(),
    ).toBe('yes');
    await shot('replay-progress', await page.locator('#failures').screenshot());
    await eventually('the replayed records delivered', () =>
      records.every((r) => sluice.receiver.accepted.some((a) => a.toString() === r)),
    );
  }, 120_000);

  it('lists the dead set with its reason', async () => {
    const stream = await sluice.createDoomedS3Stream('browser-dead');
    await sluice.put(stream, ['dead record']);
    await eventually(
      'the batch in the dead set',
      async () => (await sluice.servers.redis.zcard(streamKeys(stream).dead)) > 0,
      { timeoutMs: 40_000 },
    );
    const page = await newPage();
    await page.goto(`${sluice.url}/console/stream?name=${stream}`);
    const row = page.locator('#failures-table tbody tr').first();
    await row.waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe('dead batch');
    expect(await row.locator('td.reason').textContent()).toContain('S3.NoSuchBucket');
    await row.getByRole('button', { name: /^Preview/ }).click();
    await poll(() => page.locator('#preview li pre').first().textContent()).toBe('dead record');
  }, 120_000);

  it('tails the records put after the tail started', async () => {
    const stream = await sluice.createS3Stream('browser-tail');
    const page = await newPage();
    await page.goto(`${sluice.url}/console/stream?name=${stream}`);
    const toggle = page.getByRole('button', { name: 'Start the live tail' });
    await toggle.click();
    await poll(() => page.locator('#tail-status').textContent()).toMatch(/^Tailing/);
    const shown = page.locator('#tail-records li');
    // API processes notice a new tail within about a second: put until records show.
    for (let i = 0; i < 40 && (await shown.count()) === 0; i++) {
      await sluice.put(stream, ['{"level":"info","msg":"tailed"}', 'tailed text']);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await shown.first().waitFor();
    expect(await shown.first().locator('pre').textContent()).toBe(
      JSON.stringify({ level: 'info', msg: 'tailed' }, null, 2),
    );
    expect(await shown.first().locator('.meta').textContent()).toMatch(/JSON$/);
    await shot('tail', await page.locator('#tail').screenshot());
    await page.getByRole('button', { name: 'Stop the live tail' }).click();
    await poll(() => page.locator('#tail-status').textContent()).toMatch(/^Stopped after/);
  }, 120_000);

  it('is keyboard usable: the skip link and the stream link take focus', async () => {
    const page = await newPage();
    await page.goto(`${sluice.url}/console/`);
    await page.locator('#streams-table tbody tr').first().waitFor();
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to the content');
    expect(await page.locator('main').count()).toBe(1);
    expect(await page.locator('nav[aria-label="Console"]').count()).toBe(1);
  }, 60_000);
});

describe('the web console turned off or signed', () => {
  it('answers 404 when off', async () => {
    const off = await startConsoleSluice(each, { SLUICE_CONSOLE: 'off' });
    const page = await newPage();
    const response = await page.goto(`${off.url}/console/`);
    expect(response?.status()).toBe(404);
  }, 90_000);

  it('asks for credentials when the API requires signatures, and works with them', async () => {
    const key = { id: 'AKIDBROWSER', secret: 'browser-console-secret-42' };
    const signed = await startConsoleSluice(each, {}, key);
    const stream = await signed.createS3Stream('browser-signed');
    // Without (right) credentials the browser gets the challenge and gives up on the page.
    const anonymous = await newPage();
    await expect(anonymous.goto(`${signed.url}/console/`)).rejects.toThrow(
      /ERR_INVALID_AUTH_CREDENTIALS/,
    );
    const refused = await anonymous.context().request.get(`${signed.url}/console/`);
    expect(refused.status()).toBe(401);
    expect(refused.headers()['www-authenticate']).toMatch(/^Basic realm="/);
    const wrong = await newPage({ httpCredentials: { username: key.id, password: 'nope' } });
    expect((await wrong.context().request.get(`${signed.url}/console/`)).status()).toBe(401);

    const page = await newPage({ httpCredentials: { username: key.id, password: key.secret } });
    const answered = await page.goto(`${signed.url}/console/`);
    expect(answered?.status()).toBe(200);
    await page.locator(`#streams-table tbody tr[data-stream="${stream}"]`).waitFor();
    await shot('signed-in', await page.screenshot());
  }, 90_000);
});
