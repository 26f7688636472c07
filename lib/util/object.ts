/**
 * `{ [key]: value }`, or `{}` when the value is undefined: spreads an optional setting into an
 * options object without writing `key: undefined` (which `exactOptionalPropertyTypes`-style
 * checks and "was it given?" tests treat differently from an absent key).
 */
export function optional<T>(key: string, value: T | undefined): Record<string, T> {
  return value === undefined ? {} : { [key]: value };
}
