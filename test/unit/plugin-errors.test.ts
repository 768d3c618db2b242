import { describe, expect, it } from 'vitest'
import { toDomainError } from '../../src/main/plugins/plugin-errors'
import { DomainError } from '../../src/shared/errors'
import { PluginError, type PluginErrorCode } from '../../src/shared/plugins'

// How a plugin's failure reaches the doors: a plugin in trouble is a dependency that cannot
// serve (503), never a bug of ours (500); its refusal of bad input is the caller's (400).
describe('plugin errors as the doors report them', () => {
  const cases: Array<[PluginErrorCode, string]> = [
    ['host_crashed', 'unavailable'],
    ['call_timeout', 'unavailable'],
    ['invalid_result', 'unavailable'],
    ['plugin_disabled', 'unavailable'],
    ['plugin_unavailable', 'unavailable'],
    ['load_timeout', 'unavailable'],
    ['checksum_mismatch', 'unavailable'],
    ['registry_closed', 'unavailable'],
    ['call_failed', 'invalid_argument'],
    ['plugin_not_found', 'not_found']
  ]
  for (const [pluginCode, code] of cases) {
    it(`${pluginCode} → ${code}, keeping the message`, () => {
      const mapped = toDomainError(new PluginError(pluginCode, `plugin 'x': ${pluginCode}`))
      expect(mapped).toBeInstanceOf(DomainError)
      expect(mapped).toMatchObject({ code, message: `plugin 'x': ${pluginCode}` })
    })
  }

  it('leaves other errors alone', () => {
    const error = new Error('a bug')
    expect(toDomainError(error)).toBe(error)
    const domain = new DomainError('conflict', 'taken')
    expect(toDomainError(domain)).toBe(domain)
  })
})
