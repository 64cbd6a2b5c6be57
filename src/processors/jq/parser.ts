/**
 * A parser for jq 1.6's grammar (`src/parser.y`): the same operator precedences and
 * associativities, the same restricted object values (`{a: .b + 1}` is a syntax error in jq 1.6:
 * an object value is a term, `-` a value, or a pipe of those), `if` and `reduce` as expressions
 * but not terms, and jq 1.6's constant folding (`1 / 0` is refused when compiled, `0 / 0` is NaN).
 *
 * Constructs that jq 1.6 has but Sluice does not evaluate (function definitions, `foreach`,
 * `label`, assignment operators, destructuring, modules) are refused here, naming the construct.
 */

import type { BinaryOperator, Node, ObjectEntry } from './ast.js';
import { JqCompileError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { JQ_SUBSET_SUMMARY } from './subset.js';
import { kindOf, truncatedDump } from './values.js';

// Binding powers, lowest first, as in jq 1.6's precedence declarations.
const PIPE = 1;
const COMMA = 2;
const ALTERNATIVE = 3;
const ASSIGNMENT = 4;
const OR = 5;
const AND = 6;
const COMPARISON = 7;
const ADDITIVE = 8;
const MULTIPLICATIVE = 9;
/** Above every binary operator: the operand of `try`, `catch` and unary minus's tighter part. */
const UNARY = 10;

const BINARY: Record<string, { power: number; assoc: 'left' | 'right' | 'none' }> = {
  '|': { power: PIPE, assoc: 'right' },
  ',': { power: COMMA, assoc: 'left' },
  '//': { power: ALTERNATIVE, assoc: 'right' },
  '=': { power: ASSIGNMENT, assoc: 'none' },
  '|=': { power: ASSIGNMENT, assoc: 'none' },
  '+=': { power: ASSIGNMENT, assoc: 'none' },
  '-=': { power: ASSIGNMENT, assoc: 'none' },
  '*=': { power: ASSIGNMENT, assoc: 'none' },
  '/=': { power: ASSIGNMENT, assoc: 'none' },
  '%=': { power: ASSIGNMENT, assoc: 'none' },
  '//=': { power: ASSIGNMENT, assoc: 'none' },
  or: { power: OR, assoc: 'left' },
  and: { power: AND, assoc: 'left' },
  '==': { power: COMPARISON, assoc: 'none' },
  '!=': { power: COMPARISON, assoc: 'none' },
  '<': { power: COMPARISON, assoc: 'none' },
  '<=': { power: COMPARISON, assoc: 'none' },
  '>': { power: COMPARISON, assoc: 'none' },
  '>=': { power: COMPARISON, assoc: 'none' },
  '+': { power: ADDITIVE, assoc: 'left' },
  '-': { power: ADDITIVE, assoc: 'left' },
  '*': { power: MULTIPLICATIVE, assoc: 'left' },
  '/': { power: MULTIPLICATIVE, assoc: 'left' },
  '%': { power: MULTIPLICATIVE, assoc: 'left' },
};

/** Parses a jq program into its syntax tree, or throws {@link JqCompileError}. */
export function parseJq(source: string): Node {
  return new Parser(source).parseProgram();
}

class Parser {
  private readonly tokens: Token[];
  private position = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parseProgram(): Node {
    if (this.peek().kind === 'eof') throw this.error('the query is empty', this.peek());
    const node = this.parseExp(PIPE);
    const next = this.peek();
    if (next.kind !== 'eof') throw this.unexpected(next);
    return node;
  }

  // ---- tokens

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.position + ahead, this.tokens.length - 1)] as Token;
  }

  private take(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.position += 1;
    return token;
  }

  private isOp(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'op' && token.text === text;
  }

  private isKeyword(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'keyword' && token.text === text;
  }

  private expectOp(text: string): Token {
    if (!this.isOp(text)) throw this.unexpected(this.peek(), `'${text}'`);
    return this.take();
  }

  private expectKeyword(text: string): Token {
    if (!this.isKeyword(text)) throw this.unexpected(this.peek(), `'${text}'`);
    return this.take();
  }

  private error(problem: string, token: Token): JqCompileError {
    return new JqCompileError(problem, this.source, token.offset);
  }

  private unexpected(token: Token, expecting?: string): JqCompileError {
    const what = token.kind === 'eof' ? 'end of query' : `'${token.text}'`;
    return this.error(
      `syntax error: unexpected ${what}${expecting === undefined ? '' : `, expecting ${expecting}`}`,
      token,
    );
  }

  private unsupported(feature: string, token: Token): JqCompileError {
    return this.error(
      `${feature} is not supported by Sluice's jq evaluator. Supported: ${JQ_SUBSET_SUMMARY}`,
      token,
    );
  }

  // ---- expressions

  /** An expression whose binary operators all bind at least as tightly as `minPower`. */
  private parseExp(minPower: number): Node {
    let left = this.parsePrefix();
    for (;;) {
      const token = this.peek();
      // Postfix `?` binds tighter than any binary operator: it is `try` without `catch`.
      if (token.kind === 'op' && token.text === '?' && minPower <= UNARY) {
        this.take();
        left = { type: 'try', at: left.at, body: left, handler: null };
        continue;
      }
      const name = token.kind === 'op' || token.kind === 'keyword' ? token.text : '';
      const operator = Object.hasOwn(BINARY, name) ? BINARY[name] : undefined;
      if (operator === undefined || operator.power < minPower) return left;
      if (operator.power === ASSIGNMENT) {
        throw this.unsupported(
          `the assignment operator '${name}' (jq path updates: =, |=, +=, -=, *=, /=, %=, //=)`,
          token,
        );
      }
      this.take();
      const right = this.parseExp(operator.assoc === 'right' ? operator.power : operator.power + 1);
      if (operator.assoc === 'none') {
        const after = this.peek();
        const afterName = after.kind === 'op' || after.kind === 'keyword' ? after.text : '';
        if (Object.hasOwn(BINARY, afterName) && BINARY[afterName]?.power === operator.power) {
          throw this.unexpected(after);
        }
      }
      left = this.combine(name, left, right, token);
    }
  }

  private combine(name: string, left: Node, right: Node, token: Token): Node {
    const at = left.at;
    switch (name) {
      case '|':
        return { type: 'pipe', at, left, right };
      case ',':
        // Pointing at the comma itself makes "this can give several outputs" errors clear.
        return { type: 'comma', at: token.offset, left, right };
      case '//':
        return { type: 'alternative', at, left, right };
      case 'or':
        return { type: 'or', at, left, right };
      case 'and':
        return { type: 'and', at, left, right };
      default:
        return this.binary(name as BinaryOperator, left, right, token);
    }
  }

  /** A binary operation, folded when both sides are constants as jq 1.6 folds them. */
  private binary(op: BinaryOperator, left: Node, right: Node, token: Token): Node {
    const at = left.at;
    if (left.type === 'literal' && right.type === 'literal') {
      const a = left.value;
      const b = right.value;
      if (op === '+' && a === null) return { type: 'literal', at, value: b };
      if (op === '+' && b === null) return { type: 'literal', at, value: a };
      if (typeof a === 'number' && typeof b === 'number') {
        const folded = foldNumbers(op, a, b);
        if (folded !== undefined) {
          if (op === '/' && (folded === Infinity || folded === -Infinity))
            throw this.error('Division by zero?', token);
          return { type: 'literal', at, value: folded };
        }
      }
      if (op === '+' && typeof a === 'string' && typeof b === 'string') {
        return { type: 'literal', at, value: a + b };
      }
    }
    return { type: 'binary', at, op, left, right };
  }

  /** Unary minus, `if`, `try`, `reduce`, the refused keywords, and terms (with `as`). */
  private parsePrefix(): Node {
    const token = this.peek();
    if (token.kind === 'op' && token.text === '-') {
      this.take();
      // `'-' Exp` takes the precedence of binary minus: `-a * b` is `-(a * b)`, `-a + b` is `(-a) + b`.
      const operand = this.parseExp(MULTIPLICATIVE);
      return { type: 'negate', at: token.offset, operand };
    }
    if (token.kind === 'keyword') {
      switch (token.text) {
        case 'if':
          return this.parseIf();
        case 'try':
          return this.parseTry();
        case 'reduce':
          return this.parseReduce();
        case 'def':
          throw this.unsupported('defining functions (def)', token);
        case 'foreach':
          throw this.unsupported('foreach', token);
        case 'label':
        case 'break':
          throw this.unsupported('label/break', token);
        case 'import':
        case 'include':
        case 'module':
          throw this.unsupported('modules (import/include/module)', token);
        default:
          throw this.unexpected(token);
      }
    }
    const term = this.parseTerm();
    if (this.isKeyword('as')) {
      this.take();
      const name = this.parsePattern();
      this.expectOp('|');
      const body = this.parseExp(PIPE);
      return { type: 'bind', at: term.at, source: term, name, body };
    }
    return term;
  }

  /** `$name` after `as`; destructuring patterns are refused. */
  private parsePattern(): string {
    const token = this.peek();
    if (token.kind === 'op' && (token.text === '[' || token.text === '{')) {
      throw this.unsupported('destructuring (`as [$a, $b]`, `as {a: $x}`)', token);
    }
    this.expectOp('$');
    const name = this.peek();
    if (name.kind === 'keyword' && name.text === '__loc__')
      throw this.unsupported('$__loc__', name);
    if (name.kind !== 'ident') throw this.unexpected(name, 'a variable name');
    this.take();
    if (this.isOp('?//')) throw this.unsupported('destructuring alternatives (?//)', this.peek());
    return name.text;
  }

  private parseIf(): Node {
    const start = this.expectKeyword('if');
    const cond = this.parseExp(PIPE);
    this.expectKeyword('then');
    const then = this.parseExp(PIPE);
    return { type: 'if', at: start.offset, cond, then, else: this.parseElse(start) };
  }

  private parseElse(start: Token): Node {
    const token = this.peek();
    if (token.kind === 'keyword' && token.text === 'elif') {
      this.take();
      const cond = this.parseExp(PIPE);
      this.expectKeyword('then');
      const then = this.parseExp(PIPE);
      return { type: 'if', at: token.offset, cond, then, else: this.parseElse(start) };
    }
    if (token.kind === 'keyword' && token.text === 'else') {
      this.take();
      const otherwise = this.parseExp(PIPE);
      this.expectKeyword('end');
      return otherwise;
    }
    if (token.kind === 'keyword' && token.text === 'end') {
      throw this.error("syntax error: jq 1.6 requires an 'else' branch in 'if'", token);
    }
    throw this.unexpected(token, "'elif' or 'else'");
  }

  private parseTry(): Node {
    const start = this.expectKeyword('try');
    const body = this.parseExp(UNARY + 1);
    let handler: Node | null = null;
    if (this.isKeyword('catch')) {
      this.take();
      handler = this.parseExp(UNARY + 1);
    }
    return { type: 'try', at: start.offset, body, handler };
  }

  private parseReduce(): Node {
    const start = this.expectKeyword('reduce');
    const source = this.parseTerm();
    this.expectKeyword('as');
    const name = this.parsePattern();
    this.expectOp('(');
    const init = this.parseExp(PIPE);
    this.expectOp(';');
    const update = this.parseExp(PIPE);
    this.expectOp(')');
    return { type: 'reduce', at: start.offset, source, name, init, update };
  }

  // ---- terms

  /** A term and its suffixes: `.a`, `."a"`, `[e]`, `[]`, `[e:e]`, each optionally with `?`. */
  private parseTerm(): Node {
    let term = this.parsePrimary();
    for (;;) {
      const token = this.peek();
      if (token.kind === 'field') {
        this.take();
        const key: Node = { type: 'literal', at: token.offset, value: token.value as string };
        term = { type: 'index', at: term.at, target: term, key, optional: this.takeOptional() };
        continue;
      }
      if (token.kind === 'op' && token.text === '.') {
        if (this.peek(1).kind === 'str-start' || this.peek(1).kind === 'format') {
          this.take();
          const key = this.parseString();
          term = { type: 'index', at: term.at, target: term, key, optional: this.takeOptional() };
          continue;
        }
        throw this.error(
          `syntax error: unexpected '${this.peek(1).text || 'end of query'}' after '.' (jq 1.6 has no '.a.[0]' or '.a.["b"]': write '.a[0]', '.a["b"]' or '.a."b"')`,
          this.peek(1),
        );
      }
      if (token.kind === 'op' && token.text === '[') {
        term = this.parseBracketSuffix(term);
        continue;
      }
      return term;
    }
  }

  private takeOptional(): boolean {
    if (!this.isOp('?')) return false;
    this.take();
    return true;
  }

  private parseBracketSuffix(target: Node): Node {
    this.expectOp('[');
    const at = target.at;
    if (this.isOp(']')) {
      this.take();
      return { type: 'iterate', at, target, optional: this.takeOptional() };
    }
    if (this.isOp(':')) {
      this.take();
      const to = this.parseExp(PIPE);
      this.expectOp(']');
      return { type: 'slice', at, target, from: null, to, optional: this.takeOptional() };
    }
    const key = this.parseExp(PIPE);
    if (this.isOp(':')) {
      this.take();
      const to = this.isOp(']') ? null : this.parseExp(PIPE);
      this.expectOp(']');
      return { type: 'slice', at, target, from: key, to, optional: this.takeOptional() };
    }
    this.expectOp(']');
    return { type: 'index', at, target, key, optional: this.takeOptional() };
  }

  private parsePrimary(): Node {
    const token = this.peek();
    const at = token.offset;
    switch (token.kind) {
      case 'field': {
        this.take();
        const key: Node = { type: 'literal', at, value: token.value as string };
        return {
          type: 'index',
          at,
          target: { type: 'identity', at },
          key,
          optional: this.takeOptional(),
        };
      }
      case 'number':
        this.take();
        return { type: 'literal', at, value: token.value as number };
      case 'str-start':
        return this.parseString();
      case 'format':
        if (this.peek(1).kind === 'str-start') return this.parseString();
        this.take();
        return { type: 'format', at, name: token.value as string };
      case 'ident':
        return this.parseIdentifier();
      case 'op':
        break;
      default:
        throw this.unexpected(token);
    }
    switch (token.text) {
      case '.': {
        this.take();
        const identity: Node = { type: 'identity', at };
        const next = this.peek();
        if (next.kind === 'str-start' || next.kind === 'format') {
          const key = this.parseString();
          return { type: 'index', at, target: identity, key, optional: this.takeOptional() };
        }
        if (next.kind === 'ident') {
          throw this.error(
            `syntax error: unexpected '${next.text}' after '.' (try .["field"] instead of .field for unusually named fields)`,
            next,
          );
        }
        return identity;
      }
      case '..':
        this.take();
        return { type: 'recurse-all', at };
      case '(': {
        this.take();
        const inner = this.parseExp(PIPE);
        this.expectOp(')');
        return inner;
      }
      case '[': {
        this.take();
        if (this.isOp(']')) {
          this.take();
          return { type: 'array', at, body: null };
        }
        const body = this.parseExp(PIPE);
        this.expectOp(']');
        return { type: 'array', at, body };
      }
      case '{':
        return this.parseObject();
      case '$': {
        this.take();
        const name = this.peek();
        if (name.kind === 'keyword' && name.text === '__loc__')
          throw this.unsupported('$__loc__', name);
        if (name.kind !== 'ident') throw this.unexpected(name, 'a variable name');
        this.take();
        return { type: 'variable', at, name: name.text };
      }
      default:
        throw this.unexpected(token);
    }
  }

  private parseIdentifier(): Node {
    const token = this.take();
    const at = token.offset;
    if (token.text === 'true') return { type: 'literal', at, value: true };
    if (token.text === 'false') return { type: 'literal', at, value: false };
    if (token.text === 'null') return { type: 'literal', at, value: null };
    const args: Node[] = [];
    if (this.isOp('(')) {
      this.take();
      args.push(this.parseExp(PIPE));
      while (this.isOp(';')) {
        this.take();
        args.push(this.parseExp(PIPE));
      }
      this.expectOp(')');
    }
    return { type: 'call', at, name: token.text, args };
  }

  /** A string literal, possibly `@format "..."`, with its interpolations. */
  private parseString(): Node {
    const first = this.take();
    let format = 'text';
    if (first.kind === 'format') {
      format = first.value as string;
      if (this.peek().kind !== 'str-start') throw this.unexpected(this.peek(), 'a string');
      this.take();
    } else if (first.kind !== 'str-start') {
      throw this.unexpected(first, 'a string');
    }
    const parts: (string | Node)[] = [];
    for (;;) {
      const token = this.take();
      if (token.kind === 'str-end') break;
      if (token.kind === 'str-text') {
        const last = parts[parts.length - 1];
        if (typeof last === 'string') parts[parts.length - 1] = last + token.text;
        else parts.push(token.text);
        continue;
      }
      if (token.kind === 'interp-start') {
        parts.push(this.parseExp(PIPE));
        if (this.peek().kind !== 'interp-end') throw this.unexpected(this.peek(), "')'");
        this.take();
        continue;
      }
      throw this.unexpected(token);
    }
    if (parts.every((part) => typeof part === 'string')) {
      return { type: 'literal', at: first.offset, value: parts.join('') };
    }
    return { type: 'string', at: first.offset, parts, format };
  }

  // ---- objects

  private parseObject(): Node {
    const open = this.expectOp('{');
    const entries: ObjectEntry[] = [];
    while (!this.isOp('}')) {
      entries.push(this.parseObjectEntry());
      if (this.isOp(',')) {
        this.take();
        continue;
      }
      if (!this.isOp('}')) throw this.unexpected(this.peek(), "',' or '}'");
    }
    this.take();
    return { type: 'object', at: open.offset, entries };
  }

  private parseObjectEntry(): ObjectEntry {
    const token = this.peek();
    const at = token.offset;
    if (token.kind === 'ident' || token.kind === 'keyword') {
      this.take();
      const key: Node = { type: 'literal', at, value: token.text };
      if (this.isOp(':')) {
        this.take();
        return { key, value: this.parseObjectValue() };
      }
      if (token.kind === 'keyword') throw this.unexpected(this.peek(), "':'");
      const value: Node = {
        type: 'index',
        at,
        target: { type: 'identity', at },
        key,
        optional: false,
      };
      return { key, value };
    }
    if (token.kind === 'str-start' || token.kind === 'format') {
      const key = this.parseString();
      if (this.isOp(':')) {
        this.take();
        return { key, value: this.parseObjectValue() };
      }
      return { key, value: null };
    }
    if (token.kind === 'op' && token.text === '$') {
      this.take();
      const name = this.peek();
      if (name.kind === 'keyword' && name.text === '__loc__')
        throw this.unsupported('$__loc__', name);
      if (name.kind !== 'ident') throw this.unexpected(name, 'a variable name');
      this.take();
      return {
        key: { type: 'literal', at, value: name.text },
        value: { type: 'variable', at, name: name.text },
      };
    }
    if (token.kind === 'op' && token.text === '(') {
      this.take();
      const key = this.parseExp(PIPE);
      this.expectOp(')');
      if (key.type === 'literal' && typeof key.value !== 'string') {
        throw this.error(
          `Cannot use ${kindOf(key.value)} (${truncatedDump(key.value)}) as object key`,
          token,
        );
      }
      this.expectOp(':');
      return { key, value: this.parseObjectValue() };
    }
    throw this.error(
      `syntax error: unexpected '${token.text || 'end of query'}' as an object key (keys are names, strings, $variables or (expressions))`,
      token,
    );
  }

  /**
   * An object value as jq 1.6 allows it: a term, `-` a value, or values joined by `|`. Anything
   * else (`{a: .b + 1}`, `{a: .b // "x"}`, `{a: if ...}`) is a syntax error in jq 1.6.
   */
  private parseObjectValue(): Node {
    let left = this.parseObjectValueOperand();
    if (this.isOp('|')) {
      this.take();
      const right = this.parseObjectValue();
      left = { type: 'pipe', at: left.at, left, right };
    }
    const next = this.peek();
    if (!(next.kind === 'op' && (next.text === ',' || next.text === '}'))) {
      throw this.error(
        `syntax error: unexpected '${next.text || 'end of query'}' in an object value; jq 1.6 allows only a term, '-' or '|' there, so put the value in parentheses: {k: (...)}`,
        next,
      );
    }
    return left;
  }

  private parseObjectValueOperand(): Node {
    const token = this.peek();
    if (token.kind === 'op' && token.text === '-') {
      this.take();
      return { type: 'negate', at: token.offset, operand: this.parseObjectValueOperand() };
    }
    if (token.kind === 'keyword') {
      throw this.error(
        `syntax error: unexpected '${token.text}' in an object value; jq 1.6 allows only a term, '-' or '|' there, so put the value in parentheses: {k: (...)}`,
        token,
      );
    }
    return this.parseTerm();
  }
}

function foldNumbers(op: BinaryOperator, a: number, b: number): number | boolean | undefined {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
    default:
      return undefined;
  }
}
