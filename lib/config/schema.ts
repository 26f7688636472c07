import { ArtstyleError } from '../util/errors';

/**
 * A tiny schema checker for configuration objects. Every problem is reported with the dotted key,
 * what is allowed and what was given; an unknown key gets the closest known key as a suggestion.
 * All problems are collected, so one run shows everything to fix.
 */
export type Schema =
  | {
      kind: 'number';
      integer?: boolean;
      min?: number;
      max?: number;
      exclusiveMin?: number;
      exclusiveMax?: number;
      nullable?: boolean;
    }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly (string | number)[] }
  | { kind: 'array'; items: Schema; minLength?: number; unique?: boolean }
  | { kind: 'object'; fields: Record<string, Schema>; optional?: readonly string[] };

export interface ConfigProblem {
  key: string;
  message: string;
}

export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The known key closest to `key` (case-insensitive edit distance), if reasonably close. */
export function closestKey(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function describe(s: Schema): string {
  switch (s.kind) {
    case 'number': {
      const parts = [s.integer ? 'an integer' : 'a number'];
      if (s.min !== undefined) parts.push(`>= ${s.min}`);
      if (s.exclusiveMin !== undefined) parts.push(`> ${s.exclusiveMin}`);
      if (s.max !== undefined) parts.push(`<= ${s.max}`);
      if (s.exclusiveMax !== undefined) parts.push(`< ${s.exclusiveMax}`);
      return parts.join(' ') + (s.nullable ? ' (or null)' : '');
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${s.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'array':
      return `a list of ${describe(s.items)}${s.minLength ? ` (at least ${s.minLength})` : ''}${s.unique ? ', without repeats' : ''}`;
    case 'object':
      return `an object with keys ${Object.keys(s.fields).join(', ')}`;
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? text.slice(0, 57) + '...' : text;
}

export function checkValue(
  value: unknown,
  schema: Schema,
  key: string,
  out: ConfigProblem[],
): void {
  const bad = (): void => {
    const name = key || 'configuration';
    out.push({ key: name, message: `${name}: expected ${describe(schema)}, got ${show(value)}` });
  };
  switch (schema.kind) {
    case 'number': {
      if (value === null && schema.nullable) return;
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad();
      if (schema.integer && !Number.isInteger(value)) return bad();
      if (schema.min !== undefined && value < schema.min) return bad();
      if (schema.max !== undefined && value > schema.max) return bad();
      if (schema.exclusiveMin !== undefined && value <= schema.exclusiveMin) return bad();
      if (schema.exclusiveMax !== undefined && value >= schema.exclusiveMax) return bad();
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') bad();
      return;
    case 'enum':
      if (!schema.values.includes(value as string | number)) bad();
      return;
    case 'array': {
      if (!Array.isArray(value)) return bad();
      if (schema.minLength !== undefined && value.length < schema.minLength) return bad();
      value.forEach((item, i) => checkValue(item, schema.items, `${key}[${i}]`, out));
      if (schema.unique) {
        const seen = new Set<string>();
        value.forEach((item, i) => {
          const k = JSON.stringify(item);
          if (seen.has(k))
            out.push({
              key: `${key}[${i}]`,
              message: `${key}[${i}]: ${k} is repeated; each value may appear once`,
            });
          seen.add(k);
        });
      }
      return;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad();
      const obj = value as Record<string, unknown>;
      const known = Object.keys(schema.fields);
      for (const k of Object.keys(obj)) {
        if (k in schema.fields) continue;
        const near = closestKey(k, known);
        const where = key ? `${key}.${k}` : k;
        out.push({
          key: where,
          message: `${where}: unknown key${near ? `; did you mean ${key ? `${key}.` : ''}${near}?` : ''} (allowed: ${known.join(', ')})`,
        });
      }
      for (const k of known) {
        const where = key ? `${key}.${k}` : k;
        if (!(k in obj) || obj[k] === undefined) {
          if (!schema.optional?.includes(k))
            out.push({
              key: where,
              message: `${where}: missing; expected ${describe(schema.fields[k]!)}`,
            });
          continue;
        }
        checkValue(obj[k], schema.fields[k]!, where, out);
      }
      return;
    }
  }
}

/** Throws one ArtstyleError listing every problem; its subject is the first key at fault. */
export function throwProblems(problems: ConfigProblem[], what: string): void {
  if (problems.length === 0) return;
  throw new ArtstyleError(
    'invalid-config',
    `invalid ${what}:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
    problems[0]!.key,
  );
}
