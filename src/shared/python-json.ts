/**
 * JSON text as Python's json.dumps writes it by default: ", " and ": " separators and every
 * character outside printable ASCII as \uXXXX. MLflow stores some tags in that form (the logged
 * model's mlflow.modelVersions) and its clients compare the text, not the value.
 */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${pythonString(key)}: ${pythonJsonDumps(item)}`)
      .join(', ')}}`
  }
  if (typeof value === 'string') return pythonString(value)
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'
  return JSON.stringify(value) ?? 'null'
}

function pythonString(text: string): string {
  // JSON.stringify already escapes quotes, backslashes and control characters as Python does.
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
