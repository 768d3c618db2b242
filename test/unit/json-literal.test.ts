import { describe, expect, it } from 'vitest'
import { jsonLiteralAt } from '../../src/shared/json-literal'

describe('jsonLiteralAt: the text of a JSON value as the sender wrote it', () => {
  it('finds a number as written, which JSON.parse would rewrite', () => {
    const text = '{"name": "experiment name", "artifact_location": 9.0, "tags": [{"key": "key", "value": 1e3}]}'
    expect(jsonLiteralAt(text, ['artifact_location'])).toBe('9.0')
    expect(jsonLiteralAt(text, ['tags', 0, 'value'])).toBe('1e3')
    expect(jsonLiteralAt(text, ['name'])).toBe('"experiment name"')
    expect(jsonLiteralAt(text, ['tags'])).toBe('[{"key": "key", "value": 1e3}]')
  })

  it('skips strings with escapes and brackets, nested values and whitespace', () => {
    const text = ' { "a\\"]}" : "x\\\\", "nested": {"deep": [1, [2, 3], {"k": "]"}]}, "b" :\n -0.50 } '
    expect(jsonLiteralAt(text, ['b'])).toBe('-0.50')
    expect(jsonLiteralAt(text, ['a"]}'])).toBe('"x\\\\"')
    expect(jsonLiteralAt(text, ['nested', 'deep', 2, 'k'])).toBe('"]"')
    expect(jsonLiteralAt(text, ['nested', 'deep', 1, 1])).toBe('3')
  })

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    expect(jsonLiteralAt('{"a": 1.0, "a": 2.0}', ['a'])).toBe('2.0')
  })

  it('answers undefined for a path the text does not have', () => {
    const text = '{"a": [1.0, 2.0], "b": {"c": 3}}'
    expect(jsonLiteralAt(text, ['missing'])).toBeUndefined()
    expect(jsonLiteralAt(text, ['a', 2])).toBeUndefined()
    expect(jsonLiteralAt(text, ['a', 'x'])).toBeUndefined()
    expect(jsonLiteralAt(text, ['b', 0])).toBeUndefined()
    expect(jsonLiteralAt('{}', ['a'])).toBeUndefined()
    expect(jsonLiteralAt('[]', [0])).toBeUndefined()
  })
})
