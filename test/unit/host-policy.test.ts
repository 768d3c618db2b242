import { describe, expect, it } from 'vitest'
import { createHostPolicy } from '../../src/main/http/host-policy'

describe('the Host policy', () => {
  const policy = createHostPolicy()

  it.each([
    'localhost',
    'localhost:8377',
    'LOCALHOST',
    'LocalHost:8377',
    '127.0.0.1',
    '127.0.0.1:8377',
    '127.1.2.3',
    '127.1.2.3:31001',
    '127.255.255.255',
    '[::1]',
    '[::1]:8377'
  ])('accepts %j (loopback literals and localhost)', (host) => {
    expect(policy.allowsHost(host)).toBe(true)
  })

  it.each([
    '127.0.0.1.nip.io',
    '127.0.0.1.nip.io:8377',
    '127.evil.com',
    '127.evil.com:8377',
    '127.0.0.1:31001@evil.com',
    '127.0.0.1@evil.com',
    'localhost.',
    'localhost.:8377',
    'localhost.evil.com',
    '0.0.0.0',
    '0.0.0.0:8377',
    '',
    ':8377',
    '127.1',
    '0177.0.0.1',
    '2130706433',
    '128.0.0.1',
    '192.168.1.10',
    'evil.example',
    '::1',
    '[::1',
    '[::1]x',
    '[::2]:8377',
    '[127.0.0.1]',
    '127.0.0.1:80:80',
    '127.0.0.1:',
    '127.0.0.1:abc'
  ])('refuses %j', (host) => {
    expect(policy.allowsHost(host)).toBe(false)
  })

  it('refuses a missing Host header', () => {
    expect(policy.allowsHost(undefined)).toBe(false)
  })

  it('accepts the host the user configured with --host, and nothing near it', () => {
    const configured = createHostPolicy('192.168.1.10')
    expect(configured.allowsHost('192.168.1.10:8377')).toBe(true)
    expect(configured.allowsHost('localhost:8377')).toBe(true)
    expect(configured.allowsHost('192.168.1.100:8377')).toBe(false)
    expect(configured.allowsHost('192.168.1.10.nip.io')).toBe(false)
    const named = createHostPolicy('Box.Lan')
    expect(named.allowsHost('box.lan:8377')).toBe(true)
    expect(named.allowsHost('box.lan.evil.com')).toBe(false)
    const v6 = createHostPolicy('fd00::5')
    expect(v6.allowsHost('[fd00::5]:8377')).toBe(true)
    expect(v6.ownOrigins(8377)).toContain('http://[fd00::5]:8377')
  })

  it('accepts only the origins of its own pages, on its own port', () => {
    for (const origin of ['http://127.0.0.1:8377', 'http://localhost:8377', 'http://[::1]:8377']) expect(policy.allowsOrigin(origin, 8377)).toBe(true)
    for (const origin of [
      'http://127.0.0.1:8378',
      'https://127.0.0.1:8377',
      'http://127.0.0.1.nip.io:8377',
      'http://127.evil.com:8377',
      'http://evil.example',
      'null',
      ''
    ]) {
      expect(policy.allowsOrigin(origin, 8377), origin).toBe(false)
    }
    expect(createHostPolicy('192.168.1.10').allowsOrigin('http://192.168.1.10:8377', 8377)).toBe(true)
  })
})
