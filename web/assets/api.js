/**
 * The console's JSON API, fetched from the same origin (the browser sends the sign-in it
 * already has). Failures become {@link ApiError} with the server's message.
 */

/** A request the console API refused, or could not be sent. */
export class ApiError extends Error {
  /**
   * @param {number} status - HTTP status, 0 when there was no answer.
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * GET `/console/api/<path>` with `params` as the query.
 *
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [params]
 * @param {AbortSignal} [signal]
 */
export async function getJson(path, params = {}, signal) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return send(`/console/api/${path}${text === '' ? '' : `?${text}`}`, {
    credentials: 'same-origin',
    signal,
  });
}

/**
 * POST `body` as JSON to `/console/api/<path>`.
 *
 * @param {string} path
 * @param {unknown} body
 */
export async function postJson(path, body) {
  return send(`/console/api/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/**
 * @param {string} url
 * @param {RequestInit} init
 */
async function send(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(
      0,
      `Sluice did not answer (${error instanceof Error ? error.message : error})`,
    );
  }
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message =
      body && typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return body;
}

/** The `name` query parameter of the page's URL. */
export function pageParam(name) {
  return new URLSearchParams(window.location.search).get(name) ?? '';
}
