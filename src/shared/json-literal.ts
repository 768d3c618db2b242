/**
 * The text of one value of a JSON document, as its sender wrote it. JSON.parse keeps values, not
 * spellings: Python's json.dumps sends the float 9.0 as "9.0" and JSON.parse makes it 9, so a
 * message quoting the value would say 9 where MLflow says 9.0. Parsing keeps its speed (no
 * reviver on every body); only a refusal looks the literal up here, in the text the door kept.
 *
 * The text must be JSON that parsed (this skips values by their brackets and quotes and does not
 * check them). `path` is as zod reports it: object keys and array indices. Duplicate keys resolve
 * to the last, as JSON.parse does. Undefined when the text has no value at `path`.
 */
export function jsonLiteralAt(text: string, path: readonly PropertyKey[]): string | undefined {
  let i = 0

  const skipSpace = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++
  }
  const skipString = (): void => {
    i++
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    i++
  }
  const skipValue = (): void => {
    skipSpace()
    const first = text[i]
    if (first === '"') return skipString()
    if (first === '{' || first === '[') {
      let depth = 0
      do {
        const c = text[i]
        if (c === '"') {
          skipString()
          continue
        }
        if (c === '{' || c === '[') depth++
        else if (c === '}' || c === ']') depth--
        i++
      } while (depth > 0 && i < text.length)
      return
    }
    while (i < text.length && !',]} \t\n\r'.includes(text[i]!)) i++
  }

  for (const part of path) {
    skipSpace()
    if (text[i] === '{' && typeof part === 'string') {
      i++
      let found: number | undefined
      skipSpace()
      while (text[i] === '"') {
        const keyStart = i
        skipString()
        const key = JSON.parse(text.slice(keyStart, i)) as string
        skipSpace()
        i++ // the colon
        skipSpace()
        if (key === part) found = i
        skipValue()
        skipSpace()
        if (text[i] !== ',') break
        i++
        skipSpace()
      }
      if (found === undefined) return undefined
      i = found
    } else if (text[i] === '[' && typeof part === 'number') {
      i++
      for (let index = 0; index < part; index++) {
        skipSpace()
        if (text[i] === ']') return undefined
        skipValue()
        skipSpace()
        if (text[i] !== ',') return undefined
        i++
      }
      skipSpace()
      if (text[i] === ']') return undefined
    } else {
      return undefined
    }
  }
  skipSpace()
  const start = i
  skipValue()
  return start < i ? text.slice(start, i) : undefined
}
