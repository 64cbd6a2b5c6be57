import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's static files: HTML, CSS and browser JavaScript in the repository's `web/`
 * folder, served as they are (no build step). `tsc` does not copy them, so they are found
 * beside the sources: `web/` is two folders up from `src/console/` and three from
 * `dist/src/console/`; the image copies `web/` next to `dist/`.
 */

/** One file, read once at start. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  /** Strong validator of the body, for `If-None-Match`. */
  etag: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The `web/` folder, wherever the code runs from. */
export function consoleAssetsDir(): string {
  for (const up of ['../../web', '../../../web']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new Error(
    'the console files (web/index.html) are missing: run Sluice from its repository or image, or set SLUICE_CONSOLE=off',
  );
}

/**
 * The pages (`index.html`, `stream.html`) and the files under `assets/`, by name: a fixed set
 * read once, so a request can only ever name one of them (no path is joined from a URL).
 */
export function loadConsoleAssets(dir: string = consoleAssetsDir()): {
  pages: ReadonlyMap<string, ConsoleAsset>;
  assets: ReadonlyMap<string, ConsoleAsset>;
} {
  const read = (path: string): ConsoleAsset => {
    const body = readFileSync(path);
    return {
      body,
      contentType: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
  };
  const pages = new Map<string, ConsoleAsset>();
  for (const name of ['index.html', 'stream.html']) pages.set(name, read(join(dir, name)));
  const assets = new Map<string, ConsoleAsset>();
  for (const entry of readdirSync(join(dir, 'assets'), { withFileTypes: true })) {
    if (entry.isFile() && CONTENT_TYPES[extname(entry.name)] !== undefined) {
      assets.set(entry.name, read(join(dir, 'assets', entry.name)));
    }
  }
  return { pages, assets };
}
