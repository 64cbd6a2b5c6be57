/**
 * Line charts as inline SVG, no library: one series over a fixed time range, a zero-based
 * y axis with three grid lines, and a title and description for assistive technology (the
 * page also has the numbers as a table).
 */
import { clock, short } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 480;
const HEIGHT = 180;
const LEFT = 48;
const RIGHT = 10;
const TOP = 10;
const BOTTOM = 24;
/** Points are drawn as dots too while there are this few of them. */
const MAX_DOTS = 60;

let chartCount = 0;

function svgElement(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** The smallest "nice" number (1, 2 or 5 times a power of ten) at or above `value`. */
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * Draws the chart into `figure` (replacing an earlier one), after its caption.
 *
 * @param {HTMLElement} figure
 * @param {{
 *   title: string,
 *   points: { at: number, value: number | null }[],
 *   from: number,
 *   to: number,
 *   format: (value: number) => string,
 * }} chart
 */
export function renderChart(figure, chart) {
  figure.querySelector('svg')?.remove();
  figure.querySelector('.latest')?.remove();
  const values = chart.points.map((p) => p.value).filter((v) => v !== null);
  const max = niceCeiling(Math.max(0, ...values));
  const span = Math.max(1, chart.to - chart.from);
  const x = (at) => LEFT + ((at - chart.from) / span) * (WIDTH - LEFT - RIGHT);
  const y = (value) => TOP + (1 - value / max) * (HEIGHT - TOP - BOTTOM);

  chartCount += 1;
  const titleId = `chart-title-${chartCount}`;
  const descId = `chart-desc-${chartCount}`;
  const svg = svgElement('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-labelledby': `${titleId} ${descId}`,
    'data-points': values.length,
    'data-max': Math.max(0, ...values),
  });
  const title = svgElement('title', { id: titleId });
  title.textContent = chart.title;
  const desc = svgElement('desc', { id: descId });
  desc.textContent = describe(chart, values);
  svg.append(title, desc);

  const grid = svgElement('g', { class: 'grid', 'aria-hidden': 'true' });
  const axis = svgElement('g', { class: 'axis', 'aria-hidden': 'true' });
  for (const fraction of [0, 0.5, 1]) {
    const value = max * fraction;
    grid.append(svgElement('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value) }));
    const label = svgElement('text', { x: LEFT - 6, y: y(value) + 4, 'text-anchor': 'end' });
    label.textContent = short(value);
    axis.append(label);
  }
  for (let i = 0; i <= 4; i++) {
    const at = chart.from + (span * i) / 4;
    const label = svgElement('text', {
      x: x(at),
      y: HEIGHT - 6,
      'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle',
    });
    label.textContent = clock(at);
    axis.append(label);
  }
  svg.append(grid, axis);
  svg.append(
    svgElement('rect', {
      class: 'frame',
      x: LEFT,
      y: TOP,
      width: WIDTH - LEFT - RIGHT,
      height: HEIGHT - TOP - BOTTOM,
      'aria-hidden': 'true',
    }),
  );

  // Gaps (null values) break the line.
  let d = '';
  let drawing = false;
  for (const point of chart.points) {
    if (point.value === null) {
      drawing = false;
      continue;
    }
    d += `${drawing ? 'L' : 'M'}${x(point.at).toFixed(1)} ${y(point.value).toFixed(1)}`;
    drawing = true;
  }
  const series = svgElement('g', { 'aria-hidden': 'true' });
  if (d !== '') series.append(svgElement('path', { class: 'series', d }));
  if (values.length <= MAX_DOTS) {
    for (const point of chart.points) {
      if (point.value === null) continue;
      series.append(
        svgElement('circle', { class: 'dot', cx: x(point.at), cy: y(point.value), r: 3 }),
      );
    }
  }
  svg.append(series);
  figure.append(svg);

  const latest = chart.points.findLast((p) => p.value !== null);
  const note = document.createElement('p');
  note.className = 'latest';
  note.textContent =
    latest === undefined ? 'No data yet.' : `Latest: ${chart.format(latest.value)}`;
  figure.append(note);
}

function describe(chart, values) {
  if (values.length === 0) return `${chart.title}: no data in the last hour yet.`;
  const latest = values[values.length - 1];
  return `${chart.title} from ${clock(chart.from)} to ${clock(chart.to)}: ${values.length} points, highest ${chart.format(Math.max(...values))}, latest ${chart.format(latest)}.`;
}
