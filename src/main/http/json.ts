/**
 * JSON for the HTTP API. JSON has no NaN, Infinity, bigint or -0, and the API promises all of
 * them round-trip exactly:
 * - NaN, Infinity, -Infinity → the strings "NaN", "Infinity", "-Infinity" (as MLflow does);
 * - -0 → the number literal -0.0 (JSON.parse and Python's json both read it back as -0);
 * - bigint → a JSON number when it is a safe integer, else a decimal string (a JS client
 *   would silently round a larger number literal; strings are accepted back as int64 input).
 */

// NUL cannot occur in any stored string (inputs with NUL are refused), so it marks tokens to
// rewrite after stringify.
const NEGATIVE_ZERO = '\u0000-0'
const NEGATIVE_ZERO_JSON = JSON.stringify(NEGATIVE_ZERO)

function replacer(_key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? NEGATIVE_ZERO : value
      return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
    default:
      return value
  }
}

export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, replacer)
  return text.includes(NEGATIVE_ZERO_JSON) ? text.split(NEGATIVE_ZERO_JSON).join('-0.0') : text
}
