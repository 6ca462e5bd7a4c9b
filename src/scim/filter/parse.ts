/**
 * SCIM filter parser (RFC 7644 §3.4.2.2, Figure 1 and the ABNF of §3.4.2.2/§3.10):
 *
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"        ; FILTER uses sub-attributes of a parent attrPath
 *   attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
 *   logExp    = FILTER SP ("and" / "or") SP FILTER
 *   compValue = false / null / true / number / string      ; rules from JSON (RFC 7159)
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr
 *
 * A hand-written recursive-descent parser over the raw text; it resolves every attribute path against the
 * resource schema while parsing, so the tree it returns is fully typed and both interpreters can trust it.
 *
 * Every refusal is `invalidFilter` (RFC 7644 §3.4.2.2: "Providers MUST decline to filter results if the specified
 * filter operation is not recognized and return an HTTP 400 error with a "scimType" error of "invalidFilter"")
 * whose detail names a 0-based character position and the text there.
 *
 * Decisions:
 * - Precedence (RFC: "Filters MUST be evaluated using the following order of operations ... "not" takes
 *   precedence over "and", which takes precedence over "or""): `not ( … )` > `and` > `or`, parentheses first;
 *   and/or are left-associative. `not` requires parentheses, as in the ABNF.
 * - Operators, logical keywords and attribute names are case-insensitive (RFC: "Attribute names and attribute
 *   operators used in filters are case insensitive"); true/false/null are accepted in any case as well.
 * - Whitespace: any run of spaces/tabs/newlines separates tokens (the ABNF says one SP); it may be omitted next to
 *   parentheses, brackets and quotes (`not(a pr)`, `userName eq"x"`).
 * - Unquoted values (Entra's documentation shows `externalId eq 123abc`): an unquoted token that is not
 *   true/false/null is read as text. For a string/reference/binary attribute its text is the value, even when it
 *   looks like a number (`employeeNumber eq 0042` compares with "0042"); for a number attribute it must be a JSON
 *   number; for a dateTime a valid dateTime.
 * - Literal types must fit the attribute: `active eq "yes"`, `userName eq true`, `userName gt 5` on a number
 *   attribute... are invalidFilter rather than silently matching nothing. Liberal exception: a boolean attribute
 *   accepts the strings "true"/"false" in any case (Entra sends booleans as strings elsewhere).
 * - `null` only with eq/ne: `attr eq null` means "attr is not present", `attr ne null` means "attr is present".
 * - gt/ge/lt/le on boolean or binary: RFC "Boolean and Binary attributes SHALL cause a failed response (HTTP status
 *   code 400) with "scimType" of "invalidFilter"". co/sw/ew only on string, reference and binary attributes.
 * - A dateTime operand must be an xsd:dateTime (it is compared as an instant).
 * - A comparison on a complex attribute without sub-attribute applies to its `value` sub-attribute
 *   (`emails co "@x.com"`, Entra's `manager eq "<id>"`): the RFC says "For complex attributes, a fully qualified
 *   sub-attribute MUST be specified", yet its own examples include `emails co "example.com"`, so `value` is the
 *   implied sub-attribute. A complex attribute without a `value` sub-attribute (`name eq "x"`) is invalidFilter.
 *   `pr` on a complex attribute tests for any non-empty sub-attribute (RFC: "or if it contains a non-empty node
 *   for complex attributes").
 * - Extension attributes may be named without their URN when no core attribute and no other extension has the
 *   name (Entra: `manager eq "<id>"`).
 * - Unknown attributes, unknown schema URNs and attributes that are never returned (`password`) are invalidFilter.
 *   So is `schemas` (the RFC's example `schemas eq "urn:…"`): no schema defines it and the query copy omits it.
 * - Value filters (`emails[…]`) only on multi-valued complex attributes; inside the brackets only sub-attribute
 *   names; no nesting of brackets.
 * - String literals follow JSON: escapes \" \\ \/ \b \f \n \r \t \uXXXX; raw control characters and unpaired
 *   surrogates are rejected (an unpaired surrogate cannot be stored as UTF-8, so MongoDB and memory would differ).
 * - Limits against pathological input: MAX_FILTER_LENGTH characters and MAX_FILTER_DEPTH nested parentheses or
 *   brackets. The parser loops over and/or chains and recurses only per nesting level, so no input can exhaust
 *   the stack; any input yields a Filter or a ScimError (invalidFilter).
 */
import { errors } from '../errors';
import { AttributeDefinition, ResolvedAttribute, ResourceSchema, subAttribute } from '../schema';
import type { CompareOperator, Filter, FilterValue } from './ast';
import { COMPARE_OPERATORS } from './ast';
import { DEFAULT_LIMITS, LIMIT_SETTINGS, Limits } from '../limits';
import { UNPAIRED_SURROGATE } from '../unicode';

export const MAX_FILTER_LENGTH = DEFAULT_LIMITS.filterLength;
export const MAX_FILTER_DEPTH = 32;

export type FilterLimits = Pick<Limits, 'filterLength' | 'filterNodes'>;

/** RFC 3339 / xsd:dateTime, as RFC 7643 §2.3.5 requires (the same rule as values.ts). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** ATTRNAME = ALPHA *(nameChar); nameChar = "-" / "_" / DIGIT / ALPHA; subAttr = "." ATTRNAME. */
const ATTRNAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const ATTRPATH = /^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)?$/;

const ORDERING: ReadonlySet<string> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING: ReadonlySet<string> = new Set(['co', 'sw', 'ew']);
const OPERATORS: ReadonlySet<string> = new Set(COMPARE_OPERATORS);

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** Characters that end a word (attribute path, keyword or unquoted value). */
function isDelimiter(c: string | undefined): boolean {
  return c === undefined || isSpace(c) || c === '(' || c === ')' || c === '[' || c === ']' || c === '"';
}

type Literal =
  | { kind: 'string'; value: string; at: number }
  | { kind: 'bare'; text: string; at: number }
  | { kind: 'number'; value: number; text: string; at: number }
  | { kind: 'boolean'; value: boolean; at: number }
  | { kind: 'null'; at: number };

/** Makes a piece of client input safe to echo in an error detail. */
function printable(s: string): string {
  let out = '';
  for (const ch of s.replace(new RegExp(UNPAIRED_SURROGATE.source, 'g'), '\uFFFD')) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

function typeLabel(def: AttributeDefinition): string {
  return def.type === 'integer' || def.type === 'decimal' ? `${def.type} (number)` : def.type;
}

class Parser {
  private pos = 0;
  private depth = 0;
  /** Comparisons parsed so far; bounded by limits.filterNodes (every one is evaluated against every candidate). */
  private nodes = 0;
  /** Set while parsing inside `attr[…]` (or for parseValueFilter): paths are sub-attributes of it. */
  private parent: ResolvedAttribute | undefined;

  constructor(
    private readonly schema: ResourceSchema,
    private readonly text: string,
    parent?: ResolvedAttribute,
    private readonly limits: FilterLimits = DEFAULT_LIMITS,
  ) {
    this.parent = parent;
  }

  parse(): Filter {
    // The type says string, but a query string can repeat `filter=` and hand over an array.
    if (typeof this.text !== 'string') throw errors.invalidFilter('filter: must be a single string');
    if (this.text.length > this.limits.filterLength) {
      throw errors.invalidFilter(
        `filter: longer than ${this.limits.filterLength} characters (${this.text.length}; the limit is ${LIMIT_SETTINGS.filterLength})`,
        LIMIT_SETTINGS.filterLength,
      );
    }
    const filter = this.parseOr();
    this.skipSpace();
    if (this.pos < this.text.length) {
      if (this.text[this.pos] === ')') this.fail("unbalanced ')'");
      this.fail("expected 'and', 'or' or the end of the filter");
    }
    return filter;
  }

  private fail(message: string, at: number = this.pos): never {
    throw errors.invalidFilter(`filter: ${message} at position ${at} ${this.near(at)}`);
  }

  private near(at: number): string {
    const t = this.text;
    if (at >= t.length) return '(end of filter)';
    const c = t[at]!;
    let end: number;
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      end = at + 1;
    } else if (c === '"') {
      end = at + 1;
      while (end < t.length && t[end] !== '"') end += t[end] === '\\' ? 2 : 1;
      end = Math.min(end + 1, t.length);
    } else {
      end = at;
      while (end < t.length && !isDelimiter(t[end])) end++;
    }
    const max = 24;
    const snippet = end - at > max ? t.slice(at, at + max) + '…' : t.slice(at, end);
    return `near '${printable(snippet)}'`;
  }

  private skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }

  /** The word starting at the current position (after whitespace), without consuming it. */
  private peekWord(): { word: string; at: number; end: number } {
    this.skipSpace();
    const at = this.pos;
    let end = at;
    while (!isDelimiter(this.text[end])) end++;
    return { word: this.text.slice(at, end), at, end };
  }

  private enter(): void {
    this.depth++;
    if (this.depth > MAX_FILTER_DEPTH) this.fail(`nested deeper than ${MAX_FILTER_DEPTH} levels`);
  }

  private parseOr(): Filter {
    let left = this.parseAnd();
    for (;;) {
      const w = this.peekWord();
      if (w.word.toLowerCase() !== 'or') return left;
      this.pos = w.end;
      left = { op: 'or', left, right: this.parseAnd() };
    }
  }

  private parseAnd(): Filter {
    let left = this.parseUnary();
    for (;;) {
      const w = this.peekWord();
      if (w.word.toLowerCase() !== 'and') return left;
      this.pos = w.end;
      left = { op: 'and', left, right: this.parseUnary() };
    }
  }

  private parseUnary(): Filter {
    this.skipSpace();
    if (this.text[this.pos] === '(') return this.parseGroup();
    const w = this.peekWord();
    if (w.word.toLowerCase() === 'not') {
      let after = w.end;
      while (isSpace(this.text[after])) after++;
      if (this.text[after] === '(') {
        this.pos = after;
        return { op: 'not', filter: this.parseGroup() };
      }
      this.fail("expected '(' after 'not'", after);
    }
    return this.parseAttrExp();
  }

  private parseGroup(): Filter {
    const open = this.pos;
    this.enter();
    this.pos++;
    const inner = this.parseOr();
    this.skipSpace();
    if (this.text[this.pos] !== ')') {
      if (this.pos >= this.text.length) this.fail(`expected ')' to close the '(' from position ${open}`);
      this.fail("expected 'and', 'or' or ')'");
    }
    this.pos++;
    this.depth--;
    return inner;
  }

  private parseAttrExp(): Filter {
    const { word, at, end } = this.peekWord();
    if (++this.nodes > this.limits.filterNodes) {
      throw errors.invalidFilter(
        `filter: more than ${this.limits.filterNodes} comparisons (at position ${at}); the limit is ${LIMIT_SETTINGS.filterNodes}`,
        LIMIT_SETTINGS.filterNodes,
      );
    }
    if (word === '') {
      const c = this.text[at];
      this.fail(
        c === undefined || c === ')' || c === ']'
          ? 'expected an attribute path'
          : `expected an attribute path, not ${c === '"' ? 'a string' : `'${c}'`}`,
        at,
      );
    }
    this.pos = end;
    const resolved = this.resolvePath(word, at);
    this.skipSpace();
    if (this.text[this.pos] === '[') return this.parseValuePath(word, at, resolved);

    const opWord = this.peekWord();
    const op = opWord.word.toLowerCase();
    if (op === 'pr') {
      this.pos = opWord.end;
      return { op: 'pr', path: { text: word, resolved } };
    }
    if (!OPERATORS.has(op)) this.fail('expected a comparison operator', opWord.at);
    this.pos = opWord.end;
    const target = this.comparable(word, at, resolved);
    const literal = this.parseLiteral();
    const value = this.coerce(op as CompareOperator, word, target, literal);
    return { op: op as CompareOperator, path: { text: word, resolved: target }, value };
  }

  private parseValuePath(word: string, at: number, resolved: ResolvedAttribute): Filter {
    if (this.parent) this.fail('value filters cannot be nested');
    const def = resolved.attribute;
    if (resolved.sub || def.type !== 'complex' || !def.multiValued) {
      this.fail(`'${word}' is not a multi-valued complex attribute, so it takes no '[…]' value filter`, at);
    }
    const open = this.pos;
    this.enter();
    this.pos++;
    this.parent = resolved;
    const inner = this.parseOr();
    this.parent = undefined;
    this.skipSpace();
    if (this.text[this.pos] !== ']') {
      if (this.pos >= this.text.length) this.fail(`expected ']' to close the '[' from position ${open}`);
      this.fail("expected 'and', 'or' or ']'");
    }
    this.pos++;
    this.depth--;
    return { op: 'valuePath', path: { text: word, resolved }, filter: inner };
  }

  /** attrPath = [URI ":"] ATTRNAME *1subAttr, resolved against the schema (or the bracketed parent). */
  private resolvePath(word: string, at: number): ResolvedAttribute {
    let resolved: ResolvedAttribute;
    const parent = this.parent;
    if (parent) {
      if (!ATTRNAME.test(word)) {
        this.fail(`expected a sub-attribute name of '${parent.attribute.name}', not '${printable(word)}'`, at);
      }
      const sub = subAttribute(parent.attribute, word);
      if (!sub) this.fail(`'${parent.attribute.name}' has no sub-attribute '${word}'`, at);
      resolved = { ...parent, sub };
    } else {
      const split = this.schema.splitUrn(word);
      const rest = split ? split.rest : word;
      if (!ATTRPATH.test(rest)) {
        if (!split && /^urn:/i.test(word)) this.fail(`unknown attribute '${printable(word)}' (no such schema URN)`, at);
        this.fail(`invalid attribute path '${printable(word)}'`, at);
      }
      // The one resolver (ResourceSchema.resolve): Entra checks the manager with `manager eq "<id>"`, without the
      // enterprise URN, which it accepts when exactly one extension defines the name.
      const found = this.schema.resolve(word);
      if (!found) {
        if (this.schema.ambiguous(word)) this.fail(this.schema.unresolved(word), at);
        const dot = rest.indexOf('.');
        if (dot >= 0) {
          const top = this.schema.attribute(split?.schema ?? this.schema.core.id, rest.slice(0, dot));
          if (top) this.fail(`'${top.name}' has no sub-attribute '${rest.slice(dot + 1)}'`, at);
        }
        this.fail(`unknown attribute '${word}'`, at);
      }
      resolved = found;
    }
    // Attributes that are never returned (password) must not be searchable: a filter would reveal them.
    if (resolved.attribute.returned === 'never' || resolved.sub?.returned === 'never') {
      this.fail(`'${word}' cannot be used in a filter`, at);
    }
    return resolved;
  }

  /** The path a comparison applies to: a complex attribute is compared through its `value` sub-attribute. */
  private comparable(word: string, at: number, resolved: ResolvedAttribute): ResolvedAttribute {
    const def = resolved.sub ?? resolved.attribute;
    if (def.type !== 'complex') return resolved;
    const value = subAttribute(def, 'value');
    if (!value || value.returned === 'never') {
      const example = def.subAttributes?.[0]?.name ?? 'value';
      this.fail(`'${word}' is a complex attribute; compare one of its sub-attributes, such as '${word}.${example}'`, at);
    }
    return { ...resolved, sub: value };
  }

  private parseLiteral(): Literal {
    this.skipSpace();
    const at = this.pos;
    const c = this.text[at];
    if (c === '"') return { kind: 'string', value: this.parseString(), at };
    if (isDelimiter(c)) this.fail('expected a value', at);
    let end = at;
    while (!isDelimiter(this.text[end])) end++;
    this.pos = end;
    const text = this.text.slice(at, end);
    const lower = text.toLowerCase();
    if (lower === 'true' || lower === 'false') return { kind: 'boolean', value: lower === 'true', at };
    if (lower === 'null') return { kind: 'null', at };
    if (JSON_NUMBER.test(text)) return { kind: 'number', value: Number(text), text, at };
    return { kind: 'bare', text, at };
  }

  /** A JSON string (RFC 8259 §7), decoded; the position is at the opening quote. */
  private parseString(): string {
    const t = this.text;
    const start = this.pos;
    let i = start + 1;
    let out = '';
    for (;;) {
      if (i >= t.length) this.fail('unterminated string', start);
      const c = t[i]!;
      if (c === '"') break;
      if (c === '\\') {
        const e = t[i + 1];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = t.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape in string', i);
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            this.fail(e === undefined ? 'unterminated string' : `invalid escape '\\${printable(e)}' in string`, i);
        }
        i += 2;
        continue;
      }
      if (c < ' ') this.fail('control character in string (escape it)', i);
      out += c;
      i++;
    }
    this.pos = i + 1;
    return out;
  }

  /** Checks the literal against the attribute's type and the operator, and returns the value to compare with. */
  private coerce(op: CompareOperator, word: string, resolved: ResolvedAttribute, lit: Literal): FilterValue {
    const def = resolved.sub ?? resolved.attribute;
    const what = `'${word}' is ${/^[aeiou]/.test(def.type) ? 'an' : 'a'} ${typeLabel(def)} attribute`;
    if (lit.kind === 'null') {
      if (op !== 'eq' && op !== 'ne') this.fail(`'${op}' cannot compare with null (use 'eq null', 'ne null' or 'pr')`, lit.at);
      return null;
    }
    const text = lit.kind === 'string' ? lit.value : lit.kind === 'bare' || lit.kind === 'number' ? lit.text : undefined;
    switch (def.type) {
      case 'string':
      case 'reference':
      case 'binary': {
        if (def.type === 'binary' && ORDERING.has(op)) {
          this.fail(`'${op}' is not allowed on binary attribute '${word}'`, lit.at);
        }
        if (text === undefined) this.fail(`${what}; expected a string value`, lit.at);
        if (UNPAIRED_SURROGATE.test(text)) this.fail('string has an unpaired surrogate', lit.at);
        return text;
      }
      case 'boolean': {
        if (ORDERING.has(op) || SUBSTRING.has(op)) this.fail(`'${op}' is not allowed on boolean attribute '${word}'`, lit.at);
        if (lit.kind === 'boolean') return lit.value;
        const l = text?.toLowerCase();
        if (lit.kind === 'string' && (l === 'true' || l === 'false')) return l === 'true';
        return this.fail(`${what}; expected true or false`, lit.at);
      }
      case 'integer':
      case 'decimal': {
        if (SUBSTRING.has(op)) this.fail(`'${op}' is not allowed on ${def.type} attribute '${word}'`, lit.at);
        if (lit.kind !== 'number' || !Number.isFinite(lit.value)) this.fail(`${what}; expected a number`, lit.at);
        return lit.value;
      }
      case 'dateTime': {
        if (SUBSTRING.has(op)) this.fail(`'${op}' is not allowed on dateTime attribute '${word}'`, lit.at);
        if (text === undefined || lit.kind === 'number' || !DATE_TIME.test(text) || Number.isNaN(Date.parse(text))) {
          this.fail(`${what}; expected a value such as "2026-01-31T12:00:00Z"`, lit.at);
        }
        return text;
      }
      case 'complex':
        // comparable() has already moved to the `value` sub-attribute; sub-attributes are never complex.
        return this.fail(`'${word}' is a complex attribute`, lit.at);
    }
  }
}

/** Parses a filter (RFC 7644 §3.4.2.2) against a resource schema. Throws invalidFilter naming the position. */
export function parseFilter(schema: ResourceSchema, text: string, limits?: FilterLimits): Filter {
  return new Parser(schema, text, undefined, limits).parse();
}

/**
 * Parses the filter inside a value path such as `emails[type eq "work"]`: its attribute paths resolve as
 * sub-attributes of `parent` (resolved.attribute = parent attribute, resolved.sub = sub-attribute).
 */
export function parseValueFilter(schema: ResourceSchema, parent: ResolvedAttribute, text: string, limits?: FilterLimits): Filter {
  const def = parent.attribute;
  if (parent.sub || def.type !== 'complex' || !def.multiValued) {
    throw errors.invalidFilter(
      `filter: '${parent.sub ? `${def.name}.${parent.sub.name}` : def.name}' is not a multi-valued complex attribute, so it takes no '[…]' value filter`,
    );
  }
  return new Parser(schema, text, { schema: parent.schema, extension: parent.extension, attribute: def }, limits).parse();
}
