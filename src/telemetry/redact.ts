/**
 * Keeping credentials out of logs and messages. Settings such as `SLUICE_REDIS_URL` may carry a
 * password in the URL's user-info (`redis://user:password@host`), and libraries may echo such a
 * URL or a command's arguments (a failed `AUTH`) into an error. Two layers cover that: every
 * place that prints a setting prints it through {@link redactUrlCredentials}, and every line the
 * process writes passes a {@link Redactor} that also blanks the known secret values wherever
 * they appear, as a net for what the first layer misses.
 */

/** What replaces a URL's user-info or a secret value. */
export const REDACTED = '***';

/**
 * `scheme://user-info@`: the user-info stops at what cannot be in it unescaped (`/ ? #`,
 * whitespace) and at characters that end a quoted or JSON string, so that redacting a log line
 * never swallows the text after a URL. The greedy match ends at the last `@`, so a password with
 * a raw `@` is covered whole.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'`<>\\]*(?:@[^\s/?#@"'`<>\\]*)*@/gi;

/**
 * `text` with the user-info of every URL in it replaced by {@link REDACTED}:
 * `redis://:pw@host:6379` becomes `redis://***@host:6379`. The rest of the URL (scheme, host,
 * port, path) stays, since that is what a reader needs to find the service.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

/**
 * The password of every URL in `text` (raw and percent-decoded; the whole user-info when it has
 * no `:`), so that a {@link Redactor} can also blank it where it appears without its URL. User
 * names are left out: blanking a name such as `default` everywhere would garble logs.
 */
export function urlCredentials(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(URL_CREDENTIALS)) {
    const userInfo = match[0].slice(match[1]?.length ?? 0, -1);
    const secret = userInfo.slice(userInfo.indexOf(':') + 1);
    if (secret === '') continue;
    found.push(secret);
    try {
      found.push(decodeURIComponent(secret));
    } catch {
      // Not valid percent-encoding: the raw form is all there is.
    }
  }
  return found;
}

/**
 * Secrets shorter than this are not blanked in free text: replacing every `a` or `42` would
 * make logs unreadable while hiding nothing worth hiding. URL user-info is redacted regardless.
 */
const MIN_SECRET_LENGTH = 4;

/** Removes credentials from text about to be written. */
export class Redactor {
  private readonly secrets: string[];

  /** @param secrets - values to blank wherever they appear (short ones are ignored). */
  constructor(secrets: Iterable<string> = []) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      forms.add(secret);
      // As it appears inside a JSON string (a log line), if that differs.
      forms.add(JSON.stringify(secret).slice(1, -1));
      forms.add(encodeURIComponent(secret));
    }
    // Longest first, so a secret that contains another is blanked whole.
    this.secrets = [...forms].sort((a, b) => b.length - a.length);
  }

  /** `text` with URL user-info and every known secret replaced by {@link REDACTED}. */
  redact(text: string): string {
    let out = redactUrlCredentials(text);
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }
}
