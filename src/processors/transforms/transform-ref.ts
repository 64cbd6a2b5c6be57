import { statSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * What a `Lambda` processor's `LambdaArn` names in Sluice: a transform module in the transforms
 * directory, or a remote transform reached over HTTP. Sluice cannot call AWS Lambda, so an
 * `arn:aws:lambda:…` is refused with a message that says what to use instead.
 */

/** A transform to invoke: a local module by name, or a remote one by URL. */
export type TransformRef = { kind: 'local'; name: string } | { kind: 'remote'; url: string };

/** The `LambdaArn` prefix of a transform module in the transforms directory. */
export const LOCAL_TRANSFORM_PREFIX = 'sluice:transform:';

/** A local transform's name: also the start of its file name. */
const TRANSFORM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** File extensions of a local transform, in the order they are looked for. */
export const TRANSFORM_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.js', '.mjs'];

/** Longest part of a refused `LambdaArn` an error message quotes. */
const QUOTED_CHARS = 200;

const WHAT_IS_SUPPORTED =
  'use sluice:transform:<name> for a module in the transforms directory, or an http(s):// URL of a remote transform';

function quote(text: string): string {
  return `'${text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text}'`;
}

/**
 * Parses a processor's `LambdaArn`: `sluice:transform:<name>` (a name of 1 to 128 letters,
 * digits, `_` and `-`, starting with a letter or digit), or an absolute `http://` or
 * `https://` URL without credentials.
 *
 * @throws Error saying what Sluice supports, for anything else (such as `arn:aws:lambda:…`).
 */
export function parseLambdaArn(arn: string): TransformRef {
  if (arn.startsWith(LOCAL_TRANSFORM_PREFIX)) {
    const name = arn.slice(LOCAL_TRANSFORM_PREFIX.length);
    if (!TRANSFORM_NAME.test(name)) {
      throw new Error(
        `LambdaArn ${quote(arn)} names no valid transform: a name is 1 to 128 letters, digits, '_' or '-', starting with a letter or digit (the file <transforms dir>/<name>.ts, .mts, .js or .mjs)`,
      );
    }
    return { kind: 'local', name };
  }
  if (/^https?:\/\//i.test(arn)) {
    let url: URL;
    try {
      url = new URL(arn);
    } catch {
      throw new Error(`LambdaArn ${quote(arn)} is not a valid URL: ${WHAT_IS_SUPPORTED}`);
    }
    if (url.username !== '' || url.password !== '') {
      // Never quote it: the point is that the secret must not be in the stream's definition.
      throw new Error(
        `LambdaArn ${quote(`${url.protocol}//${url.host}${url.pathname}`)} has credentials in it (user:password@): stream definitions are not secret, so remote transforms must authenticate another way (a token in a path the transform checks, or a network only Sluice reaches)`,
      );
    }
    return { kind: 'remote', url: url.href };
  }
  throw new Error(`LambdaArn ${quote(arn)} cannot be invoked by Sluice: ${WHAT_IS_SUPPORTED}`);
}

/**
 * The file of the local transform `name`: `<dir>/<name>.ts`, `.mts`, `.js` or `.mjs`, the
 * first that exists, as an absolute path; `undefined` when there is none (or `name` is not a
 * transform name, so that no name can reach outside `dir`).
 */
export function resolveLocalTransform(dir: string, name: string): string | undefined {
  if (!TRANSFORM_NAME.test(name)) return undefined;
  for (const extension of TRANSFORM_EXTENSIONS) {
    const file = resolve(dir, `${name}${extension}`);
    if (statSync(file, { throwIfNoEntry: false })?.isFile() === true) return file;
  }
  return undefined;
}
