// Reads the README's shell examples and what each says it answers, so
// readme.e2e.test.ts can run them in order. The convention it reads is
// described in the README ("Every example here runs"): a `curl` is followed by
// `# STATUS` and optionally a JSON excerpt; other commands by the lines they
// print; `<name>` in an answer captures a value that later commands use.

/** One command of a ```sh block. */
export interface Example {
  /** 1-based line of the README where the command starts. */
  line: number;
  section: string;
  command: string;
  /** The documented answer: `STATUS [excerpt]` for curl, output lines otherwise; null when none is given. */
  expect: string | null;
  /** Why its block is not run (the `<!-- not run by the README test: ... -->` marker), or null. */
  skipped: string | null;
}

const SKIP_MARKER = /^<!--\s*not run by the README test:\s*(.+?)\s*-->$/;

export function isCurl(command: string): boolean {
  return /^curl\s/.test(command.trimStart());
}

/** Where an unquoted `#` starts a comment on this line, or -1; and the quote state at its end. */
function scanLine(line: string, quote: '' | "'" | '"'): { comment: number; quote: '' | "'" | '"' } {
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote === "'") {
      if (ch === "'") quote = '';
    } else if (ch === '\\') {
      i++;
    } else if (quote === '"') {
      if (ch === '"') quote = '';
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return { comment: i, quote };
    }
  }
  return { comment: -1, quote };
}

function balance(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return depth;
}

const STATUS_LINE = /^\d{3}(\s|$)/;

export function parseReadme(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const examples: Example[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*)$/.exec(lines[i] ?? '');
    if (heading) {
      section = heading[1] ?? '';
      continue;
    }
    const fence = /^(\s*)```(sh|bash|shell)\s*$/.exec(lines[i] ?? '');
    if (!fence) {
      if (/^\s*```/.test(lines[i] ?? '')) {
        // Any other fenced block (json, js, a tree): skip to its end so its lines are not read as headings.
        for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ''); i++);
      }
      continue;
    }
    let before = i - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before--;
    const skipped = SKIP_MARKER.exec((lines[before] ?? '').trim())?.[1] ?? null;
    const indent = fence[1]?.length ?? 0;
    const block: { text: string; line: number }[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ''); i++) block.push({ text: (lines[i] ?? '').slice(indent), line: i + 1 });
    examples.push(...parseBlock(block, section, skipped));
  }
  return examples;
}

function parseBlock(block: { text: string; line: number }[], section: string, skipped: string | null): Example[] {
  const out: Example[] = [];
  /** Comment lines right after the last command (no blank line, no other command in between). */
  let following: string[] = [];
  let collecting = false;
  let trailing = '';
  let current: Example | null = null;
  const finish = () => {
    if (!current) return;
    current.expect = expectation(current.command, trailing, following);
    out.push(current);
    current = null;
  };
  for (let j = 0; j < block.length; j++) {
    const { text, line } = block[j]!;
    const trimmed = text.trim();
    if (trimmed === '') {
      collecting = false;
      continue;
    }
    if (trimmed.startsWith('#')) {
      if (collecting) following.push(trimmed.replace(/^#\s?/, ''));
      continue;
    }
    finish();
    // A command: read on while a quote is open or the line ends with a backslash.
    let command = '';
    let quote: '' | "'" | '"' = '';
    trailing = '';
    for (; j < block.length; j++) {
      const part = block[j]!.text;
      const scan = scanLine(part, quote);
      quote = scan.quote;
      const code = scan.comment >= 0 ? part.slice(0, scan.comment) : part;
      if (scan.comment >= 0) trailing = part.slice(scan.comment).replace(/^#\s?/, '').trim();
      command += (command ? '\n' : '') + code.trimEnd();
      if (quote === '' && !code.trimEnd().endsWith('\\')) break;
    }
    current = { line, section, command: command.trim(), expect: null, skipped };
    following = [];
    collecting = true;
  }
  finish();
  return out;
}

function expectation(command: string, trailing: string, following: string[]): string | null {
  if (!isCurl(command)) return following.length > 0 ? following.join('\n') : null;
  const lines = STATUS_LINE.test(trailing) ? [trailing, ...following] : STATUS_LINE.test(following[0] ?? '') ? following : [];
  if (lines.length === 0) return null;
  let text = lines[0]!;
  // A JSON excerpt may go on over the next comment lines until its brackets close.
  for (let k = 1; k < lines.length && balance(text) > 0; k++) text += ` ${lines[k]!.trim()}`;
  return text;
}

// ---- The documented answer of a curl: a status and a JSON excerpt ----

/**
 * An excerpt is JSON with three liberties: `...` stands for any value, any
 * further members of an object or further elements of an array; a string
 * ending in `...` matches any string it begins; `"<name>"` is a placeholder.
 * Objects match when every member shown matches (more are allowed).
 */
type Pattern =
  | { kind: 'any' }
  | { kind: 'literal'; value: unknown }
  | { kind: 'prefix'; value: string }
  | { kind: 'placeholder'; name: string }
  | { kind: 'object'; members: [string, Pattern][] }
  | { kind: 'array'; items: Pattern[]; more: boolean };

export function parseExcerpt(text: string): { pattern: Pattern; rest: string } {
  let pos = 0;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const fail = (what: string): never => {
    throw new Error(`cannot read the answer excerpt at "${text.slice(pos, pos + 20)}": expected ${what}`);
  };
  const string = (): string => {
    const start = pos;
    for (pos++; pos < text.length && text[pos] !== '"'; pos++) if (text[pos] === '\\') pos++;
    if (text[pos] !== '"') fail('a closing quote');
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const value = (): Pattern => {
    ws();
    if (text.startsWith('...', pos)) {
      pos += 3;
      return { kind: 'any' };
    }
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      const members: [string, Pattern][] = [];
      for (;;) {
        ws();
        if (text[pos] === '}') break;
        if (text.startsWith('...', pos)) pos += 3;
        else {
          if (text[pos] !== '"') fail('a member name');
          const key = string();
          ws();
          if (text[pos] !== ':') fail('":"');
          pos++;
          members.push([key, value()]);
        }
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail('"," or "}"');
      }
      pos++;
      return { kind: 'object', members };
    }
    if (ch === '[') {
      pos++;
      const items: Pattern[] = [];
      let more = false;
      for (;;) {
        ws();
        if (text[pos] === ']') break;
        if (text.startsWith('...', pos)) {
          pos += 3;
          more = true;
        } else items.push(value());
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== ']') fail('"," or "]"');
      }
      pos++;
      return { kind: 'array', items, more };
    }
    if (ch === '"') {
      const s = string();
      if (s === '...') return { kind: 'any' };
      const placeholder = /^<([a-z_]+)>$/.exec(s);
      if (placeholder) return { kind: 'placeholder', name: placeholder[1]! };
      if (s.endsWith('...')) return { kind: 'prefix', value: s.slice(0, -3) };
      return { kind: 'literal', value: s };
    }
    const scalar = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos));
    if (!scalar) return fail('a value');
    pos += scalar[0].length;
    return { kind: 'literal', value: JSON.parse(scalar[0]) };
  };
  const pattern = value();
  return { pattern, rest: text.slice(pos).trim() };
}

/**
 * Placeholders met in an answer: those the command used are compared with
 * their value, the others are captured (a later capture of the same name wins).
 */
export interface Bindings {
  values: Map<string, string>;
  used: Set<string>;
}

/** null when `actual` matches, else where and why it does not. */
export function matchExcerpt(pattern: Pattern, actual: unknown, b: Bindings, captured: Map<string, string>, path = '$'): string | null {
  switch (pattern.kind) {
    case 'any':
      return null;
    case 'literal':
      return JSON.stringify(actual) === JSON.stringify(pattern.value) ? null : `${path}: expected ${JSON.stringify(pattern.value)}, got ${JSON.stringify(actual)}`;
    case 'prefix':
      return typeof actual === 'string' && actual.startsWith(pattern.value) ? null : `${path}: expected a string starting "${pattern.value}", got ${JSON.stringify(actual)}`;
    case 'placeholder': {
      if (actual === null || typeof actual === 'object') return `${path}: expected a value for <${pattern.name}>, got ${JSON.stringify(actual)}`;
      const text = String(actual);
      if (b.used.has(pattern.name)) {
        const want = b.values.get(pattern.name);
        return text === want ? null : `${path}: expected <${pattern.name}> = ${want}, got ${text}`;
      }
      captured.set(pattern.name, text);
      return null;
    }
    case 'object': {
      if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
      for (const [key, p] of pattern.members) {
        if (!(key in actual)) return `${path}.${key}: missing`;
        const err = matchExcerpt(p, (actual as Record<string, unknown>)[key], b, captured, `${path}.${key}`);
        if (err) return err;
      }
      return null;
    }
    case 'array': {
      if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
      if (pattern.more ? actual.length < pattern.items.length : actual.length !== pattern.items.length) {
        return `${path}: expected ${pattern.more ? 'at least ' : ''}${pattern.items.length} elements, got ${actual.length}`;
      }
      for (const [i, p] of pattern.items.entries()) {
        const err = matchExcerpt(p, actual[i], b, captured, `${path}[${i}]`);
        if (err) return err;
      }
      return null;
    }
  }
}

/** A documented output line as a regular expression: `...` is anything, `<name>` a word captured or compared. */
export function linePattern(expected: string, b: Bindings): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = expected
    .trim()
    .split(/(\.\.\.|<[a-z_]+>)/)
    .map((part) => {
      if (part === '...') return '.*?';
      const placeholder = /^<([a-z_]+)>$/.exec(part);
      if (placeholder) {
        const name = placeholder[1]!;
        if (b.used.has(name)) return escapeRegex(b.values.get(name) ?? '');
        names.push(name);
        return '(\\S+?)';
      }
      return escapeRegex(part).replace(/\s+/g, '\\s+');
    })
    .join('');
  return { regex: new RegExp(`^${source}$`), names };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Checks printed output against documented lines: each must match a whole
 * (trimmed) output line, in order, with other lines allowed in between.
 */
export function matchLines(expected: string[], output: string, b: Bindings, captured: Map<string, string>): string | null {
  const lines = output.split('\n').map((l) => l.trim());
  let at = 0;
  for (const want of expected) {
    const { regex, names } = linePattern(want, b);
    let found = false;
    for (; at < lines.length; at++) {
      const m = regex.exec(lines[at]!);
      if (!m) continue;
      for (const [i, name] of names.entries()) captured.set(name, m[i + 1] ?? '');
      at++;
      found = true;
      break;
    }
    if (!found) return `no output line matches "${want}"`;
  }
  return null;
}

/** The placeholders a command uses. */
export function placeholders(command: string): string[] {
  return [...command.matchAll(/<([a-z_]+)>/g)].map((m) => m[1]!);
}
