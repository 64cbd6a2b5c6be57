/**
 * Compiles a jq syntax tree to JavaScript closures, once per query, so that evaluating a record
 * walks no tree and allocates little.
 *
 * Every expression compiles to a stream form, `(input, emit) => void`, that calls `emit` once per
 * output in jq's order (continuation-passing, as jq's backtracking produces outputs). Expressions
 * that give at most one output and contain no active `try` also compile to a direct form,
 * `(input) => value | EMPTY`, which is what simple queries such as `{k: .a.b}` run.
 *
 * Why two forms: jq 1.6's `try`/`?` keeps catching errors raised *after* its body produced an
 * output, for as long as that output is being used (`(1?) | error("x")` gives nothing in jq 1.6).
 * In the stream form that is exact: the continuation runs inside the `try`. So any expression with
 * such a `try` runs in stream form up to the nearest collector (`[...]`, `reduce`, `map`...),
 * where jq's own `try` stops catching too.
 *
 * Generators (`,`, `.[]`, `..`, `range`, `recurse`, `limit`) are compiled too, but a query may
 * only use them where their outputs are collected (inside `[...]`, `map`, `reduce`, `first`, ...):
 * a query that could give several outputs is refused when compiled.
 */

import type { Node } from './ast.js';
import {
  FORMATS,
  VALUE_BUILTINS,
  fromEntries,
  groupByKeys,
  minMaxByKeys,
  sortByKeys,
  toEntries,
  type ValueBuiltin,
} from './builtins.js';
import { JqCompileError, JqRuntimeError } from './errors.js';
import {
  ARITHMETIC,
  COMPARISONS,
  index,
  indexByName,
  iterate,
  minus,
  negate,
  slice,
} from './operators.js';
import { JQ_SUBSET_SUMMARY } from './subset.js';
import { compileStrftime, compileStrptime, UnsupportedDirectiveError } from './strftime.js';
import {
  EMPTY,
  compareValues,
  isTruthy,
  kindOf,
  setMember,
  truncatedDump,
  valuesEqual,
  type JqObject,
  type JqResult,
  type JqValue,
} from './values.js';

/** Receives one output. */
export type Emit = (value: JqValue) => void;
/** The direct form: the single output, or EMPTY for none. */
export type Direct = (input: JqValue) => JqResult;
/** The stream form: calls `emit` for each output in order. */
export type Stream = (input: JqValue, emit: Emit) => void;

/** A compiled expression. */
export interface Compiled {
  /** The node that may make this expression give several outputs, or null if it gives at most one. */
  generator: Node | null;
  /** Whether a `try`/`?` in it still catches errors raised after its output (jq 1.6 semantics). */
  catchesLater: boolean;
  /** The direct form; present when `generator` is null and `catchesLater` false. */
  direct: Direct | null;
  stream: Stream;
}

/** A variable in scope: its name and the slot that holds its value. */
interface Scope {
  name: string;
  slot: number;
  parent: Scope | null;
}

function fromDirect(direct: Direct): Stream {
  return (input, emit) => {
    const value = direct(input);
    if (value !== EMPTY) emit(value);
  };
}

function make(
  parts: Compiled[],
  direct: Direct | null,
  stream: Stream | null,
  generator: Node | null = null,
): Compiled {
  const gen = generator ?? parts.find((part) => part.generator !== null)?.generator ?? null;
  const catchesLater = parts.some((part) => part.catchesLater);
  const usable = gen === null && !catchesLater && direct !== null ? direct : null;
  if (stream === null) {
    if (usable === null) throw new Error('jq compiler: an expression has neither form');
    return { generator: gen, catchesLater, direct: usable, stream: fromDirect(usable) };
  }
  return { generator: gen, catchesLater, direct: usable, stream };
}

/** The direct forms of parts, when all have one. */
function directs(parts: Compiled[]): Direct[] | null {
  const out: Direct[] = [];
  for (const part of parts) {
    if (part.direct === null) return null;
    out.push(part.direct);
  }
  return out;
}

/** Runs a stream and returns its outputs. */
export function collect(compiled: Compiled, input: JqValue): JqValue[] {
  if (compiled.direct !== null) {
    const value = compiled.direct(input);
    return value === EMPTY ? [] : [value];
  }
  const out: JqValue[] = [];
  compiled.stream(input, (value) => {
    out.push(value);
  });
  return out;
}

/** Thrown through a stream to stop it early (jq's `label`/`break`); never caught by `try`. */
class StopSignal {}

/** Runs a stream until `take` returns false. */
function runUntil(compiled: Compiled, input: JqValue, take: (value: JqValue) => boolean): void {
  const stop = new StopSignal();
  try {
    compiled.stream(input, (value) => {
      // A control-flow signal, not an error: an Error would capture a stack on every stop.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (!take(value)) throw stop;
    });
  } catch (error) {
    if (error !== stop) throw error;
  }
}

/** The builtins Sluice supports that take closures, by `name/arity`, for the summary and errors. */
export const CLOSURE_BUILTINS = [
  'empty/0',
  'select/1',
  'map/1',
  'recurse/0',
  'recurse/1',
  'recurse/2',
  'recurse_down/0',
  'range/1',
  'range/2',
  'range/3',
  'limit/2',
  'first/1',
  'last/1',
  'nth/2',
  'isempty/1',
  'any/1',
  'any/2',
  'all/1',
  'all/2',
  'sort_by/1',
  'group_by/1',
  'unique_by/1',
  'min_by/1',
  'max_by/1',
  'with_entries/1',
  'IN/1',
  'IN/2',
  'strftime/1',
  'strptime/1',
] as const;

/** Why jq 1.6 builtins outside the subset are refused, by name. */
const REFUSED: Record<string, string> = {
  test: 'regular expressions (jq 1.6 uses Oniguruma)',
  match: 'regular expressions (jq 1.6 uses Oniguruma)',
  capture: 'regular expressions (jq 1.6 uses Oniguruma)',
  scan: 'regular expressions (jq 1.6 uses Oniguruma)',
  splits: 'regular expressions (jq 1.6 uses Oniguruma)',
  sub: 'regular expressions (jq 1.6 uses Oniguruma)',
  gsub: 'regular expressions (jq 1.6 uses Oniguruma)',
  'split/2':
    'regular expressions (jq 1.6 uses Oniguruma); split/1 with a plain separator is supported',
  path: 'path expressions',
  paths: 'path expressions',
  leaf_paths: 'path expressions',
  del: 'path expressions',
  delpaths: 'path expressions',
  setpath: 'path expressions',
  map_values: 'path expressions (map_values is .[] |= f)',
  tostream: 'streaming (path expressions)',
  fromstream: 'streaming (path expressions)',
  truncate_stream: 'streaming (path expressions)',
  input: 'reading further inputs',
  inputs: 'reading further inputs',
  input_filename: 'reading further inputs',
  input_line_number: 'reading further inputs',
  debug: 'side effects (debug/stderr)',
  stderr: 'side effects (debug/stderr)',
  halt: 'halting the jq process',
  halt_error: 'halting the jq process',
  env: "the service's environment variables",
  builtins: 'introspection',
  get_search_list: 'modules',
  get_prog_origin: 'modules',
  get_jq_origin: 'modules',
  modulemeta: 'modules',
  localtime: "the host's time zone (use gmtime/strftime, which are UTC)",
  strflocaltime: "the host's time zone (use gmtime/strftime, which are UTC)",
  until: 'recursive jq-defined builtins',
  while: 'recursive jq-defined builtins',
  repeat: 'recursive jq-defined builtins',
  walk: 'recursive jq-defined builtins',
  combinations: 'recursive jq-defined builtins',
  transpose: 'recursive jq-defined builtins',
  bsearch: 'recursive jq-defined builtins',
  INDEX: 'SQL-style builtins',
  JOIN: 'SQL-style builtins',
  scalars_or_empty: 'rarely used builtins',
};

/** jq 1.6's builtins (`jq -n 'builtins'`), to tell "not supported" from "not defined". */
const JQ16_BUILTINS = new Set(
  (
    'input_line_number/0 input_filename/0 now/0 localtime/0 gmtime/0 mktime/0 strflocaltime/1 strftime/1 ' +
    'strptime/1 stderr/0 debug/0 modulemeta/0 get_jq_origin/0 get_prog_origin/0 get_search_list/0 ' +
    'halt_error/1 halt/0 env/0 format/1 error/1 max/0 min/0 sort/0 nan/0 infinite/0 isnormal/0 isnan/0 ' +
    'isinfinite/0 type/0 utf8bytelength/0 length/0 contains/1 has/1 delpaths/1 getpath/1 setpath/2 ' +
    'implode/0 explode/0 split/1 rtrimstr/1 ltrimstr/1 endswith/1 startswith/1 keys_unsorted/0 keys/0 ' +
    'tostring/0 tonumber/0 fromjson/0 tojson/0 lgamma_r/0 modf/0 frexp/0 ldexp/2 trunc/0 significand/0 ' +
    'scalbln/2 scalb/2 round/0 rint/0 nexttoward/2 nextafter/2 nearbyint/0 logb/0 log1p/0 lgamma/0 ' +
    'gamma/0 fmod/2 fmin/2 fmax/2 fma/3 fdim/2 fabs/0 expm1/0 exp10/0 erfc/0 erf/0 drem/2 copysign/2 ' +
    'ceil/0 yn/2 jn/2 y1/0 y0/0 tgamma/0 tanh/0 tan/0 sqrt/0 sinh/0 sin/0 remainder/2 pow/2 log2/0 ' +
    'log10/0 log/0 j1/0 j0/0 hypot/2 floor/0 exp2/0 exp/0 cosh/0 cos/0 cbrt/0 atanh/0 atan2/2 atan/0 ' +
    'asinh/0 asin/0 acosh/0 acos/0 empty/0 not/0 path/1 range/2 halt_error/0 error/0 map/1 select/1 ' +
    'sort_by/1 group_by/1 unique/0 unique_by/1 max_by/1 min_by/1 add/0 del/1 map_values/1 recurse/1 ' +
    'recurse/2 recurse/0 recurse_down/0 to_entries/0 from_entries/0 with_entries/1 reverse/0 indices/1 ' +
    'index/1 rindex/1 paths/0 paths/1 any/2 any/1 any/0 all/2 all/1 all/0 isfinite/0 arrays/0 objects/0 ' +
    'iterables/0 booleans/0 numbers/0 normals/0 finites/0 strings/0 nulls/0 values/0 scalars/0 ' +
    'scalars_or_empty/0 leaf_paths/0 join/1 flatten/1 flatten/0 range/1 fromdateiso8601/0 ' +
    'todateiso8601/0 fromdate/0 todate/0 match/2 match/1 test/2 test/1 capture/2 capture/1 scan/1 ' +
    'splits/2 splits/1 split/2 sub/2 sub/3 gsub/3 gsub/2 range/3 while/2 until/2 limit/2 isempty/1 ' +
    'first/1 last/1 nth/2 first/0 last/0 nth/1 combinations/0 combinations/1 transpose/0 in/1 inside/1 ' +
    'input/0 repeat/1 inputs/0 ascii_downcase/0 ascii_upcase/0 truncate_stream/1 fromstream/1 ' +
    'tostream/0 bsearch/1 walk/1 INDEX/2 INDEX/1 JOIN/2 JOIN/3 JOIN/4 IN/1 IN/2 pow10/0 builtins/0'
  ).split(' '),
);

/** The compiler of one query. */
export class QueryCompiler {
  /** Variable values, one slot per binding site; shared by the query's closures. */
  private readonly slots: JqValue[] = [];

  constructor(private readonly source: string) {}

  private error(problem: string, node: Node): JqCompileError {
    return new JqCompileError(problem, this.source, node.at);
  }

  private unsupported(feature: string, node: Node): JqCompileError {
    return this.error(
      `${feature} is not supported by Sluice's jq evaluator. Supported: ${JQ_SUBSET_SUMMARY}`,
      node,
    );
  }

  /** Compiles a node in the scope of the given variables. */
  compile(node: Node, scope: Scope | null = null): Compiled {
    switch (node.type) {
      case 'identity':
        return make([], (input) => input, null);
      case 'recurse-all':
        return this.recurse(null, null, node);
      case 'literal': {
        const value = node.value;
        return make([], () => value, null);
      }
      case 'index':
        return this.compileIndex(node, scope);
      case 'slice':
        return this.compileSlice(node, scope);
      case 'iterate': {
        const target = this.compile(node.target, scope);
        const optional = node.optional;
        return make(
          [target],
          null,
          (input, emit) =>
            target.stream(input, (value) => {
              let items: JqValue[];
              try {
                items = iterate(value);
              } catch (error) {
                if (optional && error instanceof JqRuntimeError) return;
                throw error;
              }
              for (const item of items) emit(item);
            }),
          node,
        );
      }
      case 'string':
        return this.compileString(node, scope);
      case 'format': {
        const format = this.format(node.name, node);
        return make([], (input) => format(input), null);
      }
      case 'array':
        return this.compileArray(node, scope);
      case 'object':
        return this.compileObject(node, scope);
      case 'negate': {
        const operand = this.compile(node.operand, scope);
        const d = operand.direct;
        return make(
          [operand],
          d &&
            ((input) => {
              const value = d(input);
              return value === EMPTY ? EMPTY : negate(value);
            }),
          (input, emit) => operand.stream(input, (value) => emit(negate(value))),
        );
      }
      case 'pipe': {
        const left = this.compile(node.left, scope);
        const right = this.compile(node.right, scope);
        const l = left.direct;
        const r = right.direct;
        return make(
          [left, right],
          l &&
            r &&
            ((input) => {
              const value = l(input);
              return value === EMPTY ? EMPTY : r(value);
            }),
          (input, emit) => left.stream(input, (value) => right.stream(value, emit)),
        );
      }
      case 'comma': {
        const left = this.compile(node.left, scope);
        const right = this.compile(node.right, scope);
        return make(
          [left, right],
          null,
          (input, emit) => {
            left.stream(input, emit);
            right.stream(input, emit);
          },
          node,
        );
      }
      case 'binary':
        return this.compileBinary(node, scope);
      case 'and':
      case 'or':
        return this.compileLogic(node, scope);
      case 'alternative': {
        const left = this.compile(node.left, scope);
        const right = this.compile(node.right, scope);
        const l = left.direct;
        const r = right.direct;
        return make(
          [left, right],
          l &&
            r &&
            ((input) => {
              const value = l(input);
              return value !== EMPTY && isTruthy(value) ? value : r(input);
            }),
          (input, emit) => {
            // Errors on the left are not caught: jq 1.6's `//` only skips false, null and nothing.
            let found = false;
            left.stream(input, (value) => {
              if (isTruthy(value)) {
                found = true;
                emit(value);
              }
            });
            if (!found) right.stream(input, emit);
          },
        );
      }
      case 'if': {
        const cond = this.compile(node.cond, scope);
        const then = this.compile(node.then, scope);
        const otherwise = this.compile(node.else, scope);
        const [c, t, e] = [cond.direct, then.direct, otherwise.direct];
        return make(
          [cond, then, otherwise],
          c &&
            t &&
            e &&
            ((input) => {
              const test = c(input);
              if (test === EMPTY) return EMPTY;
              return isTruthy(test) ? t(input) : e(input);
            }),
          (input, emit) =>
            cond.stream(input, (test) => (isTruthy(test) ? then : otherwise).stream(input, emit)),
        );
      }
      case 'try': {
        const body = this.compile(node.body, scope);
        const handler = node.handler === null ? null : this.compile(node.handler, scope);
        const compiled = make(handler === null ? [body] : [body, handler], null, (input, emit) => {
          let caught: JqRuntimeError;
          try {
            // `emit` runs inside: jq 1.6's try also catches errors raised while its output is used.
            body.stream(input, emit);
            return;
          } catch (error) {
            if (!(error instanceof JqRuntimeError)) throw error;
            caught = error;
          }
          if (handler !== null) handler.stream(caught.value as JqValue, emit);
        });
        return { ...compiled, catchesLater: true, direct: null };
      }
      case 'reduce':
        return this.compileReduce(node, scope);
      case 'bind': {
        const source = this.compile(node.source, scope);
        const slot = this.newSlot();
        const body = this.compile(node.body, { name: node.name, slot, parent: scope });
        const slots = this.slots;
        const s = source.direct;
        const b = body.direct;
        return make(
          [source, body],
          s &&
            b &&
            ((input) => {
              const value = s(input);
              if (value === EMPTY) return EMPTY;
              slots[slot] = value;
              return b(input);
            }),
          (input, emit) =>
            source.stream(input, (value) => {
              slots[slot] = value;
              body.stream(input, (out) => {
                emit(out);
                // The continuation may have bound this variable again (recursion): restore it.
                slots[slot] = value;
              });
            }),
        );
      }
      case 'variable': {
        if (node.name === 'ENV')
          throw this.unsupported("$ENV (the service's environment variables)", node);
        let found = scope;
        while (found !== null && found.name !== node.name) found = found.parent;
        if (found === null) throw this.error(`$${node.name} is not defined`, node);
        const slot = found.slot;
        const slots = this.slots;
        return make([], () => slots[slot] as JqValue, null);
      }
      case 'call':
        return this.compileCall(node, scope);
    }
  }

  private newSlot(): number {
    this.slots.push(null);
    return this.slots.length - 1;
  }

  private format(name: string, node: Node): (input: JqValue) => JqValue {
    const format = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
    if (format === undefined) {
      throw this.error(
        `@${name} is not a jq 1.6 format (jq 1.6 has @${Object.keys(FORMATS).join(', @')})`,
        node,
      );
    }
    return format;
  }

  private compileIndex(node: Extract<Node, { type: 'index' }>, scope: Scope | null): Compiled {
    const target = this.compile(node.target, scope);
    const optional = node.optional;
    const t = target.direct;
    if (node.key.type === 'literal' && typeof node.key.value === 'string') {
      const name = node.key.value;
      if (node.target.type === 'identity') {
        return make(
          [],
          optional
            ? (input) => {
                try {
                  return indexByName(input, name);
                } catch (error) {
                  if (error instanceof JqRuntimeError) return EMPTY;
                  throw error;
                }
              }
            : (input) => indexByName(input, name),
          null,
        );
      }
      const at = (value: JqValue): JqResult => {
        if (!optional) return indexByName(value, name);
        try {
          return indexByName(value, name);
        } catch (error) {
          if (error instanceof JqRuntimeError) return EMPTY;
          throw error;
        }
      };
      return make(
        [target],
        t &&
          ((input) => {
            const value = t(input);
            return value === EMPTY ? EMPTY : at(value);
          }),
        (input, emit) =>
          target.stream(input, (value) => {
            const out = at(value);
            if (out !== EMPTY) emit(out);
          }),
      );
    }
    const key = this.compile(node.key, scope);
    const k = key.direct;
    const at = (value: JqValue, name: JqValue): JqResult => {
      if (!optional) return index(value, name);
      try {
        return index(value, name);
      } catch (error) {
        if (error instanceof JqRuntimeError) return EMPTY;
        throw error;
      }
    };
    // jq evaluates the key before the indexed expression.
    return make(
      [key, target],
      k &&
        t &&
        ((input) => {
          const name = k(input);
          if (name === EMPTY) return EMPTY;
          const value = t(input);
          return value === EMPTY ? EMPTY : at(value, name);
        }),
      (input, emit) =>
        key.stream(input, (name) =>
          target.stream(input, (value) => {
            const out = at(value, name);
            if (out !== EMPTY) emit(out);
          }),
        ),
    );
  }

  private compileSlice(node: Extract<Node, { type: 'slice' }>, scope: Scope | null): Compiled {
    const nullValue = make([], () => null, null);
    const from = node.from === null ? nullValue : this.compile(node.from, scope);
    const to = node.to === null ? nullValue : this.compile(node.to, scope);
    const target = this.compile(node.target, scope);
    const optional = node.optional;
    const at = (value: JqValue, start: JqValue, end: JqValue): JqResult => {
      if (!optional) return slice(value, start, end);
      try {
        return slice(value, start, end);
      } catch (error) {
        if (error instanceof JqRuntimeError) return EMPTY;
        throw error;
      }
    };
    const all = directs([from, to, target]);
    // jq evaluates the start, then the end, then the sliced expression.
    return make(
      [from, to, target],
      all &&
        ((input) => {
          const [f, t, v] = all as [Direct, Direct, Direct];
          const start = f(input);
          if (start === EMPTY) return EMPTY;
          const end = t(input);
          if (end === EMPTY) return EMPTY;
          const value = v(input);
          return value === EMPTY ? EMPTY : at(value, start, end);
        }),
      (input, emit) =>
        from.stream(input, (start) =>
          to.stream(input, (end) =>
            target.stream(input, (value) => {
              const out = at(value, start, end);
              if (out !== EMPTY) emit(out);
            }),
          ),
        ),
    );
  }

  private compileString(node: Extract<Node, { type: 'string' }>, scope: Scope | null): Compiled {
    const format = this.format(node.format, node);
    const parts = node.parts.map((part) =>
      typeof part === 'string' ? part : this.compile(part, scope),
    );
    const compiledParts = parts.filter((part): part is Compiled => typeof part !== 'string');
    const n = parts.length;
    // jq builds "a\(x)b\(y)" as (("a" + x) + "b") + y, whose right operands are evaluated first:
    // the last interpolation is the outermost loop.
    const all = directs(compiledParts);
    const directForm: Direct | null =
      all &&
      ((input) => {
        const texts: string[] = new Array<string>(n);
        for (let i = n - 1; i >= 0; i--) {
          const part = parts[i] as string | Compiled;
          if (typeof part === 'string') {
            texts[i] = part;
            continue;
          }
          const value = (part.direct as Direct)(input);
          if (value === EMPTY) return EMPTY;
          texts[i] = format(value) as string;
        }
        return texts.join('');
      });
    const streamFrom =
      (i: number, texts: string[]): Stream =>
      (input, emit) => {
        if (i < 0) {
          emit(texts.join(''));
          return;
        }
        const part = parts[i] as string | Compiled;
        if (typeof part === 'string') {
          texts[i] = part;
          streamFrom(i - 1, texts)(input, emit);
          return;
        }
        part.stream(input, (value) => {
          texts[i] = format(value) as string;
          streamFrom(i - 1, texts)(input, emit);
        });
      };
    return make(compiledParts, directForm, (input, emit) =>
      streamFrom(n - 1, new Array<string>(n))(input, emit),
    );
  }

  private compileArray(node: Extract<Node, { type: 'array' }>, scope: Scope | null): Compiled {
    if (node.body === null) return make([], () => [], null);
    const body = this.compile(node.body, scope);
    // A collector: the body's generators and trys end here.
    return make([], (input) => collect(body, input), null);
  }

  private compileObject(node: Extract<Node, { type: 'object' }>, scope: Scope | null): Compiled {
    const keys: Compiled[] = [];
    const values: (Compiled | null)[] = [];
    for (const entry of node.entries) {
      keys.push(this.compile(entry.key, scope));
      values.push(entry.value === null ? null : this.compile(entry.value, scope));
    }
    const parts = [...keys, ...values.filter((value): value is Compiled => value !== null)];
    const n = keys.length;
    const literalKeys = node.entries.every(
      (entry) => entry.key.type === 'literal' && typeof entry.key.value === 'string',
    )
      ? node.entries.map((entry) => (entry.key as { value: string }).value)
      : null;
    const valueDirects = directs(values.filter((value): value is Compiled => value !== null));
    let directForm: Direct | null = null;
    if (literalKeys !== null && valueDirects !== null && values.every((value) => value !== null)) {
      const names = literalKeys;
      const plain = !names.includes('__proto__');
      directForm = (input) => {
        const object: JqObject = {};
        for (let i = 0; i < n; i++) {
          const value = (valueDirects[i] as Direct)(input);
          if (value === EMPTY) return EMPTY;
          if (plain) object[names[i] as string] = value;
          else setMember(object, names[i] as string, value);
        }
        return object;
      };
    } else {
      const keyDirects = directs(keys);
      if (keyDirects !== null && directs(parts) !== null) {
        directForm = (input) => {
          const object: JqObject = {};
          for (let i = 0; i < n; i++) {
            const key = (keyDirects[i] as Direct)(input);
            if (key === EMPTY) return EMPTY;
            const valueForm = values[i];
            const value =
              valueForm === null || valueForm === undefined
                ? index(input, key)
                : (valueForm.direct as Direct)(input);
            if (value === EMPTY) return EMPTY;
            setMember(object, checkKey(key), value);
          }
          return object;
        };
      }
    }
    // Entries in order, each key before its value; the first entry is the outermost loop.
    const step = (i: number, input: JqValue, pairs: JqValue[], emit: Emit): void => {
      if (i === n) {
        const object: JqObject = {};
        for (let j = 0; j < n; j++)
          setMember(object, pairs[2 * j] as string, pairs[2 * j + 1] as JqValue);
        emit(object);
        return;
      }
      (keys[i] as Compiled).stream(input, (key) => {
        const valueForm = values[i];
        const withValue = (value: JqValue): void => {
          pairs[2 * i] = checkKey(key);
          pairs[2 * i + 1] = value;
          step(i + 1, input, pairs, emit);
        };
        if (valueForm === null || valueForm === undefined) withValue(index(input, key));
        else valueForm.stream(input, withValue);
      });
    };
    return make(parts, directForm, (input, emit) =>
      step(0, input, new Array<JqValue>(2 * n), emit),
    );
  }

  private compileBinary(node: Extract<Node, { type: 'binary' }>, scope: Scope | null): Compiled {
    const op = node.op;
    const apply: (a: JqValue, b: JqValue) => JqValue =
      op === '+' || op === '-' || op === '*' || op === '/' || op === '%'
        ? ARITHMETIC[op]
        : COMPARISONS[op];
    const left = this.compile(node.left, scope);
    const right = this.compile(node.right, scope);
    const l = left.direct;
    const r = right.direct;
    let directForm: Direct | null = null;
    if (l !== null && node.right.type === 'literal') {
      const constant = node.right.value;
      directForm = (input) => {
        const a = l(input);
        return a === EMPTY ? EMPTY : apply(a, constant);
      };
    } else if (l !== null && r !== null) {
      // jq evaluates the right operand first.
      directForm = (input) => {
        const b = r(input);
        if (b === EMPTY) return EMPTY;
        const a = l(input);
        return a === EMPTY ? EMPTY : apply(a, b);
      };
    }
    return make([left, right], directForm, (input, emit) =>
      right.stream(input, (b) => left.stream(input, (a) => emit(apply(a, b)))),
    );
  }

  private compileLogic(node: Extract<Node, { type: 'and' | 'or' }>, scope: Scope | null): Compiled {
    const left = this.compile(node.left, scope);
    const right = this.compile(node.right, scope);
    const isAnd = node.type === 'and';
    const l = left.direct;
    const r = right.direct;
    return make(
      [left, right],
      l &&
        r &&
        ((input) => {
          const a = l(input);
          if (a === EMPTY) return EMPTY;
          if (isTruthy(a) !== isAnd) return !isAnd;
          const b = r(input);
          return b === EMPTY ? EMPTY : isTruthy(b);
        }),
      (input, emit) =>
        left.stream(input, (a) => {
          if (isTruthy(a) !== isAnd) emit(!isAnd);
          else right.stream(input, (b) => emit(isTruthy(b)));
        }),
    );
  }

  private compileReduce(node: Extract<Node, { type: 'reduce' }>, scope: Scope | null): Compiled {
    const source = this.compile(node.source, scope);
    const slot = this.newSlot();
    const inner: Scope = { name: node.name, slot, parent: scope };
    const init = this.compile(node.init, scope);
    const update = this.compile(node.update, inner);
    const slots = this.slots;
    const run = (input: JqValue, start: JqValue): JqValue => {
      let state = start;
      source.stream(input, (value) => {
        slots[slot] = value;
        // jq 1.6 takes the state out before running the update: no output leaves null.
        const previous = state;
        state = null;
        update.stream(previous, (out) => {
          state = out;
        });
      });
      return state;
    };
    const i = init.direct;
    // The source and update are collected here; only the init's outputs flow on.
    return make(
      [init],
      i &&
        ((input) => {
          const start = i(input);
          return start === EMPTY ? EMPTY : run(input, start);
        }),
      (input, emit) => init.stream(input, (start) => emit(run(input, start))),
    );
  }

  private compileCall(node: Extract<Node, { type: 'call' }>, scope: Scope | null): Compiled {
    const signature = `${node.name}/${node.args.length}`;
    const special = this.compileSpecial(signature, node, scope);
    if (special !== undefined) return special;
    const builtin = VALUE_BUILTINS.get(signature);
    if (builtin !== undefined) {
      return this.compileValueCall(
        builtin,
        node.args.map((arg) => this.compile(arg, scope)),
      );
    }
    const refusal = REFUSED[signature] ?? REFUSED[node.name];
    if (refusal !== undefined) throw this.unsupported(`${signature} (${refusal})`, node);
    if (JQ16_BUILTINS.has(signature)) throw this.unsupported(signature, node);
    throw this.error(`${signature} is not defined`, node);
  }

  private compileValueCall(builtin: ValueBuiltin, args: Compiled[]): Compiled {
    const apply = builtin.apply;
    if (args.length === 0) return make([], (input) => apply(input, null, null), null);
    if (args.length === 1) {
      const arg = args[0] as Compiled;
      const a = arg.direct;
      return make(
        [arg],
        a &&
          ((input) => {
            const value = a(input);
            return value === EMPTY ? EMPTY : apply(input, value, null);
          }),
        (input, emit) =>
          arg.stream(input, (value) => {
            const out = apply(input, value, null);
            if (out !== EMPTY) emit(out);
          }),
      );
    }
    const [first, second] = args as [Compiled, Compiled];
    const [outer, inner] = builtin.order === 'last-first' ? [second, first] : [first, second];
    const o = outer.direct;
    const n = inner.direct;
    const ordered = (input: JqValue, outerValue: JqValue, innerValue: JqValue): JqResult =>
      builtin.order === 'last-first'
        ? apply(input, innerValue, outerValue)
        : apply(input, outerValue, innerValue);
    return make(
      args,
      o &&
        n &&
        ((input) => {
          const x = o(input);
          if (x === EMPTY) return EMPTY;
          const y = n(input);
          return y === EMPTY ? EMPTY : ordered(input, x, y);
        }),
      (input, emit) =>
        outer.stream(input, (x) =>
          inner.stream(input, (y) => {
            const out = ordered(input, x, y);
            if (out !== EMPTY) emit(out);
          }),
        ),
    );
  }

  /** A literal string argument (the format of strftime/strptime). */
  private literalString(node: Extract<Node, { type: 'call' }>): string {
    const arg = node.args[0] as Node;
    if (arg.type !== 'literal' || typeof arg.value !== 'string') {
      throw this.unsupported(`${node.name} with a format that is not a string literal`, arg);
    }
    return arg.value;
  }

  /** The builtins that take closures or need compile-time work; undefined for the others. */
  private compileSpecial(
    signature: string,
    node: Extract<Node, { type: 'call' }>,
    scope: Scope | null,
  ): Compiled | undefined {
    const arg = (i: number): Compiled => this.compile(node.args[i] as Node, scope);
    switch (signature) {
      case 'empty/0':
        return make([], () => EMPTY, null);
      case 'strftime/1':
      case 'strptime/1': {
        const format = this.literalString(node);
        try {
          const apply =
            signature === 'strftime/1' ? compileStrftime(format) : compileStrptime(format);
          return make([], (input) => apply(input), null);
        } catch (error) {
          if (error instanceof UnsupportedDirectiveError)
            throw this.unsupported(error.message, node.args[0] as Node);
          throw error;
        }
      }
      case 'select/1': {
        const f = arg(0);
        const d = f.direct;
        return make(
          [f],
          d &&
            ((input) => {
              const test = d(input);
              return test !== EMPTY && isTruthy(test) ? input : EMPTY;
            }),
          (input, emit) =>
            f.stream(input, (test) => {
              if (isTruthy(test)) emit(input);
            }),
        );
      }
      case 'map/1': {
        const f = arg(0);
        return make(
          [],
          (input) => {
            const out: JqValue[] = [];
            for (const item of iterate(input))
              for (const value of collect(f, item)) out.push(value);
            return out;
          },
          null,
        );
      }
      case 'recurse/0':
      case 'recurse_down/0':
        return this.recurse(null, null, node);
      case 'recurse/1':
        return this.recurse(arg(0), null, node);
      case 'recurse/2':
        return this.recurse(arg(0), arg(1), node);
      case 'range/1':
      case 'range/2': {
        const from = signature === 'range/1' ? make([], () => 0, null) : arg(0);
        const upto = signature === 'range/1' ? arg(0) : arg(1);
        return make(
          [from, upto],
          null,
          (input, emit) =>
            from.stream(input, (start) =>
              upto.stream(input, (end) => {
                if (typeof start !== 'number' || typeof end !== 'number') {
                  throw new JqRuntimeError('Range bounds must be numeric');
                }
                if (end - start > RANGE_LIMIT) throw rangeTooLong();
                for (let i = start; i < end; i++) emit(i);
              }),
            ),
          node,
        );
      }
      case 'range/3': {
        const [from, upto, by] = [arg(0), arg(1), arg(2)];
        return make(
          [from, upto, by],
          null,
          (input, emit) =>
            from.stream(input, (start) =>
              upto.stream(input, (end) =>
                by.stream(input, (step) => {
                  rangeBy(start, end, step, emit);
                }),
              ),
            ),
          node,
        );
      }
      case 'limit/2': {
        const count = arg(0);
        const f = arg(1);
        return make(
          [count],
          null,
          (input, emit) =>
            count.stream(input, (n) => {
              if (compareValues(n, 0) < 0) {
                f.stream(input, emit);
                return;
              }
              // jq 1.6: foreach f as $item ($n; .-1; $item, if . <= 0 then break end), so
              // limit(0; f) still gives f's first output.
              let left = n;
              runUntil(f, input, (item) => {
                left = minus(left, 1);
                emit(item);
                return compareValues(left, 0) > 0;
              });
            }),
          node,
        );
      }
      case 'first/1': {
        const f = arg(0);
        if (f.generator === null) return f;
        return make(
          [],
          (input) => {
            let out: JqResult = EMPTY;
            runUntil(f, input, (value) => {
              out = value;
              return false;
            });
            return out;
          },
          null,
        );
      }
      case 'last/1': {
        const f = arg(0);
        return make(
          [],
          (input) => {
            let out: JqValue = null;
            f.stream(input, (value) => {
              out = value;
            });
            return out;
          },
          null,
        );
      }
      case 'nth/2': {
        const count = arg(0);
        const f = arg(1);
        const nth = (input: JqValue, n: JqValue): JqValue => {
          if (compareValues(n, 0) < 0)
            throw new JqRuntimeError("nth doesn't support negative indices");
          // last(limit($n + 1; f))
          let out: JqValue = null;
          let left: JqValue = ARITHMETIC['+'](n, 1);
          if (compareValues(left, 0) < 0) {
            f.stream(input, (value) => {
              out = value;
            });
            return out;
          }
          runUntil(f, input, (value) => {
            left = minus(left, 1);
            out = value;
            return compareValues(left, 0) > 0;
          });
          return out;
        };
        const c = count.direct;
        return make(
          [count],
          c &&
            ((input) => {
              const n = c(input);
              return n === EMPTY ? EMPTY : nth(input, n);
            }),
          (input, emit) => count.stream(input, (n) => emit(nth(input, n))),
        );
      }
      case 'isempty/1': {
        const f = arg(0);
        return make(
          [],
          (input) => {
            let empty = true;
            runUntil(f, input, () => {
              empty = false;
              return false;
            });
            return empty;
          },
          null,
        );
      }
      case 'any/1':
      case 'any/2':
      case 'all/1':
      case 'all/2': {
        const isAny = node.name === 'any';
        const generator = signature.endsWith('/2') ? arg(0) : null;
        const condition = arg(signature.endsWith('/2') ? 1 : 0);
        return make([], (input) => anyAll(isAny, generator, condition, input), null);
      }
      case 'sort_by/1':
      case 'group_by/1':
      case 'unique_by/1':
      case 'min_by/1':
      case 'max_by/1': {
        const f = arg(0);
        const name = node.name;
        return make(
          [],
          (input) => {
            // jq 1.6: _impl(map([f])): each element's key is the array of f's outputs.
            const keys: JqValue[] = iterate(input).map((item) => collect(f, item));
            switch (name) {
              case 'sort_by':
                return sortByKeys(input, keys);
              case 'group_by':
                return groupByKeys(input, keys);
              case 'unique_by':
                return groupByKeys(input, keys).map((group) => group[0] as JqValue);
              default:
                return minMaxByKeys(input, keys, name === 'min_by');
            }
          },
          null,
        );
      }
      case 'with_entries/1': {
        const f = arg(0);
        return make(
          [],
          (input) => {
            const mapped: JqValue[] = [];
            for (const entry of toEntries(input) as JqValue[]) mapped.push(...collect(f, entry));
            return fromEntries(mapped);
          },
          null,
        );
      }
      case 'IN/1': {
        const s = arg(0);
        return make([], (input) => isIn(s, input), null);
      }
      case 'IN/2': {
        const src = arg(0);
        const s = arg(1);
        return make(
          [],
          (input) => {
            let found = false;
            src.stream(input, (value) => {
              if (isIn(s, value)) found = true;
            });
            return found;
          },
          null,
        );
      }
      default:
        return undefined;
    }
  }

  /** `recurse(f; cond)`: the input, then recursively what `f` gives (that passes `cond`). */
  private recurse(f: Compiled | null, cond: Compiled | null, node: Node): Compiled {
    const visit = (value: JqValue, emit: Emit): void => {
      emit(value);
      const next = (child: JqValue): void => {
        if (cond === null) {
          visit(child, emit);
          return;
        }
        cond.stream(child, (test) => {
          if (isTruthy(test)) visit(child, emit);
        });
      };
      if (f === null) {
        // recurse = recurse(.[]?)
        if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
          for (const child of iterate(value)) next(child);
        }
        return;
      }
      f.stream(value, next);
    };
    return make(
      f === null ? [] : cond === null ? [f] : [f, cond],
      null,
      (input, emit) => visit(input, emit),
      node,
    );
  }
}

/** A non-string object key is an error when the entry is inserted, after its value. */
function checkKey(key: JqValue): string {
  if (typeof key === 'string') return key;
  throw new JqRuntimeError(`Cannot use ${kindOf(key)} (${truncatedDump(key)}) as object key`);
}

/**
 * Most outputs one `range` may give. jq has no limit; a delivery worker must not spin forever on
 * a query like `[range(1e18)]`, and no record needs more.
 */
const RANGE_LIMIT = 10_000_000;

function rangeTooLong(): JqRuntimeError {
  return new JqRuntimeError(`range would give more than ${RANGE_LIMIT} outputs (Sluice's limit)`);
}

function rangeBy(start: JqValue, end: JqValue, step: JqValue, emit: Emit): void {
  // jq 1.6's range/3 is jq-coded on numbers: .+$by and comparisons.
  if (typeof start !== 'number' || typeof end !== 'number' || typeof step !== 'number') {
    const stepsUp = compareValues(step, 0) > 0;
    const stepsDown = compareValues(step, 0) < 0;
    if (!stepsUp && !stepsDown) return;
    let value = start;
    const more = (v: JqValue): boolean =>
      stepsUp ? compareValues(v, end) < 0 : compareValues(v, end) > 0;
    while (more(value)) {
      emit(value);
      value = ARITHMETIC['+'](value, step);
    }
    return;
  }
  if (step !== 0 && (end - start) / step > RANGE_LIMIT) throw rangeTooLong();
  if (step > 0) for (let value = start; value < end; value += step) emit(value);
  else if (step < 0) for (let value = start; value > end; value += step) emit(value);
}

/** jq 1.6's any(g; cond) / all(g; cond), with its foreach and break as written in builtin.jq. */
function anyAll(
  isAny: boolean,
  generator: Compiled | null,
  condition: Compiled,
  input: JqValue,
): boolean {
  let state = !isAny;
  let count = 0;
  const each = (item: JqValue): boolean => {
    // `if . then break` (any) / `if .|not then break` (all): stop once decided.
    if (state === isAny) return false;
    const before = state;
    condition.stream(item, (test) => {
      state = isAny ? (isTruthy(test) ? true : before) : isTruthy(test) ? before : false;
      if (state === isAny) count++;
    });
    return true;
  };
  if (generator === null) {
    for (const item of iterate(input)) if (!each(item)) break;
  } else {
    runUntil(generator, input, each);
  }
  return isAny ? count === 1 : count === 0;
}

/** IN(s): whether some output of `s` equals the input. */
function isIn(s: Compiled, input: JqValue): boolean {
  let found = false;
  runUntil(s, input, (value) => {
    found = valuesEqual(input, value);
    return !found;
  });
  return found;
}
