/**
 * Parse Apache / nginx access-log lines into JSON.
 *
 * Input: one log line per record in the combined log format (Apache's `combined`, nginx's
 * default `combined`), or the common log format, which lacks the last two fields:
 *
 *     203.0.113.9 - alice [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://example.com/" "Mozilla/5.0"
 *
 * Output: one JSON object and a newline per line:
 *
 *     {"remoteAddr":"203.0.113.9","remoteUser":"alice","time":"2000-10-10T20:55:36.000Z",
 *      "request":"GET /a.gif HTTP/1.0","method":"GET","path":"/a.gif","protocol":"HTTP/1.0",
 *      "status":200,"bytes":2326,"referer":"http://example.com/","userAgent":"Mozilla/5.0"}
 *
 * `-` (the logs' "no value") becomes `null`, except for `bytes`, where Apache writes `-` for a
 * response without a body: that is `0`. A request line that is not `METHOD target PROTOCOL`
 * (nginx logs `"-"` for a connection closed before a request, and raw bytes for a TLS
 * handshake sent to a plain-HTTP port) is kept in `request`, with `method`, `path` and
 * `protocol` null. Fields some servers append after the user agent are kept, as one string,
 * in `extra`. Blank lines are dropped; any other line that is not in the format fails
 * (`processing-failed`) with the reason.
 *
 * Wire it to a stream with `"LambdaArn": "sluice:transform:parse-access-log"`.
 */
import { defineTransform, dropped, failed } from 'sluice';

/** A quoted field; Apache escapes `"` and `\` inside it with a backslash. */
const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const LINE = new RegExp(
  `^(\\S+) (\\S+) (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}) (\\d+|-)(?: ${QUOTED} ${QUOTED})?(?:\\s+(.*))?$`,
);
const TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;
const REQUEST_LINE = /^([A-Z]+) (\S+) (HTTP\/\d(?:\.\d)?)$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `-` is the logs' "no value". */
const valueOrNull = (field: string | undefined): string | null =>
  field === undefined || field === '-' ? null : field;

const unescape = (field: string): string => field.replace(/\\(["\\])/g, '$1');

/** `10/Oct/2000:13:55:36 -0700` as an ISO-8601 UTC time, or `undefined` if it is not one. */
function isoTime(text: string): string | undefined {
  const match = TIME.exec(text);
  if (match === null) return undefined;
  const [, day, monthName, year, hour, minute, second, sign, offsetHours, offsetMinutes] =
    match as unknown as string[];
  const month = MONTHS.indexOf(monthName as string);
  if (month < 0) return undefined;
  const parts = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const local = new Date(Date.UTC(...parts));
  // Date.UTC rolls 31/Feb over into March and 25:00 into the next day; a log holds neither.
  const roundTrip = [
    local.getUTCFullYear(),
    local.getUTCMonth(),
    local.getUTCDate(),
    local.getUTCHours(),
    local.getUTCMinutes(),
    local.getUTCSeconds(),
  ];
  if (roundTrip.some((value, i) => value !== parts[i]) || Number(offsetMinutes) > 59) {
    return undefined;
  }
  const offsetMs =
    (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return new Date(local.getTime() - offsetMs).toISOString();
}

/** One combined-format access-log line per record, to JSON. */
export default defineTransform<string>({
  decode: 'text',
  record(text) {
    const line = text.replace(/\r?\n$/, '');
    if (line.trim() === '') return dropped();
    const match = LINE.exec(line);
    if (match === null) {
      return failed(
        'not an access-log line in the combined or common log format: expected `host ident user [time] "request" status bytes "referer" "user-agent"`',
      );
    }
    const [
      ,
      remoteAddr,
      ,
      remoteUser,
      timeText,
      request,
      status,
      bytes,
      referer,
      userAgent,
      extra,
    ] = match as unknown as (string | undefined)[];
    const time = isoTime(timeText as string);
    if (time === undefined) {
      return failed(`bad time [${timeText}]: expected dd/Mon/yyyy:HH:mm:ss ±hhmm`);
    }
    const requestText = unescape(request as string);
    const requestLine = REQUEST_LINE.exec(requestText);
    return JSON.stringify({
      remoteAddr,
      remoteUser: valueOrNull(remoteUser),
      time,
      request: requestText,
      method: requestLine?.[1] ?? null,
      path: requestLine?.[2] ?? null,
      protocol: requestLine?.[3] ?? null,
      status: Number(status),
      bytes: bytes === '-' ? 0 : Number(bytes),
      referer: valueOrNull(referer === undefined ? undefined : unescape(referer)),
      userAgent: valueOrNull(userAgent === undefined ? undefined : unescape(userAgent)),
      ...(extra !== undefined && extra !== '' ? { extra } : {}),
    });
  },
});
