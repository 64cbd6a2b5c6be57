/**
 * The syntax tree of a parsed jq program. Every node carries `at`, the character offset in the
 * query where it starts, for compile errors.
 */

import type { JqValue } from './values.js';

/** Binary operators that call one of jq's arithmetic or comparison functions. */
export type BinaryOperator = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=';

/** An object constructor's entry. A `value` of null is the shorthand `{"k"}`: `.[k]`. */
export interface ObjectEntry {
  key: Node;
  value: Node | null;
}

/** A node of the syntax tree. */
export type Node =
  | { type: 'identity'; at: number }
  | { type: 'recurse-all'; at: number }
  | { type: 'index'; at: number; target: Node; key: Node; optional: boolean }
  | {
      type: 'slice';
      at: number;
      target: Node;
      from: Node | null;
      to: Node | null;
      optional: boolean;
    }
  | { type: 'iterate'; at: number; target: Node; optional: boolean }
  | { type: 'literal'; at: number; value: JqValue }
  /** A string with interpolations; `format` (`text`, `base64`, ...) applies to interpolated values. */
  | { type: 'string'; at: number; parts: (string | Node)[]; format: string }
  /** `@base64` on its own: the format applied to `.`. */
  | { type: 'format'; at: number; name: string }
  | { type: 'array'; at: number; body: Node | null }
  | { type: 'object'; at: number; entries: ObjectEntry[] }
  | { type: 'negate'; at: number; operand: Node }
  | { type: 'pipe'; at: number; left: Node; right: Node }
  | { type: 'comma'; at: number; left: Node; right: Node }
  | { type: 'binary'; at: number; op: BinaryOperator; left: Node; right: Node }
  | { type: 'and'; at: number; left: Node; right: Node }
  | { type: 'or'; at: number; left: Node; right: Node }
  | { type: 'alternative'; at: number; left: Node; right: Node }
  | { type: 'if'; at: number; cond: Node; then: Node; else: Node }
  /** `try body`, `try body catch handler`, and the postfix `body?` (handler null). */
  | { type: 'try'; at: number; body: Node; handler: Node | null }
  | { type: 'reduce'; at: number; source: Node; name: string; init: Node; update: Node }
  /** `source as $name | body`. */
  | { type: 'bind'; at: number; source: Node; name: string; body: Node }
  | { type: 'variable'; at: number; name: string }
  | { type: 'call'; at: number; name: string; args: Node[] };
