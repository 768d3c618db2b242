import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { classifyLoadError } from '../../src/main/plugins/host-protocol'
import { readManifest, resolveBinary } from '../../src/main/plugins/manifest'
import { currentPlatformKey, detectLinuxLibc, sniffBinaryHeader } from '../../src/main/plugins/platform'
import { pluginHostEnvironment } from '../../src/main/plugins/host-spawner'

describe('platform keys and binary headers', () => {
  it('names this platform, with the C library on Linux', () => {
    const key = currentPlatformKey()
    expect(key.startsWith(`${process.platform}-${process.arch}`)).toBe(true)
    if (process.platform === 'linux') expect(key).toMatch(/-(glibc|musl)$/)
  })

  it('takes the C library from detect-libc and never guesses musl when it cannot tell', () => {
    expect(detectLinuxLibc(() => 'glibc')).toBe('glibc')
    expect(detectLinuxLibc(() => 'musl')).toBe('musl')
    // Before, a process report without a glibc field meant "musl".
    expect(detectLinuxLibc(() => null)).toBe('unknown-libc')
    if (process.platform === 'linux') expect(detectLinuxLibc()).toBe('glibc') // Debian, here and in CI
  })

  it('recognises ELF, PE and Mach-O headers and their CPUs', () => {
    const elf = new Uint8Array(64)
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1])
    elf[18] = 0xb7
    expect(sniffBinaryHeader(elf)).toEqual({ format: 'elf', arch: 'arm64' })
    const pe = new Uint8Array(256)
    pe.set([0x4d, 0x5a])
    new DataView(pe.buffer).setUint32(0x3c, 0x80, true)
    pe.set([0x50, 0x45, 0, 0, 0x64, 0x86], 0x80)
    expect(sniffBinaryHeader(pe)).toEqual({ format: 'pe', arch: 'x64' })
    const macho = new Uint8Array([0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01])
    expect(sniffBinaryHeader(macho)).toEqual({ format: 'macho', arch: 'arm64' })
    expect(sniffBinaryHeader(new TextEncoder().encode('hello, world'))).toEqual({ format: 'unknown', arch: null })
  })

  it('classifies dlopen messages', () => {
    expect(classifyLoadError('/x/a.node: invalid ELF header').code).toBe('not_a_library')
    expect(classifyLoadError('/x/a.node: wrong ELF class: ELFCLASS32').code).toBe('wrong_arch')
    expect(classifyLoadError('libfoo.so.1: cannot open shared object file: No such file or directory').code).toBe('load_failed')
    expect(classifyLoadError('Module did not self-register: /x/a.node.').code).toBe('not_a_library')
  })

  it("puts the plugin's folder on the library search path", () => {
    const env = pluginHostEnvironment('/plugins/p', { LD_LIBRARY_PATH: '/usr/lib', PATH: '/bin', DYLD_LIBRARY_PATH: '/lib' })
    if (process.platform === 'linux') expect(env.LD_LIBRARY_PATH).toBe('/plugins/p:/usr/lib')
    if (process.platform === 'darwin') expect(env.DYLD_LIBRARY_PATH).toBe('/plugins/p:/lib')
  })

  it("gives a host none of the app's secrets, only what finding programs and libraries needs", () => {
    const env = pluginHostEnvironment('/plugins/p', {
      PATH: '/bin',
      HOME: '/home/me',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      HYPERCUBE_DATABASE_URL: 'postgres://u:secret@db/h',
      HYPERCUBE_DATA_DIR: '/data',
      GITHUB_TOKEN: 'ghp_x',
      AWS_SECRET_ACCESS_KEY: 'x',
      NODE_OPTIONS: '--require /tmp/evil.js'
    })
    expect(Object.keys(env).filter((name) => name.startsWith('HYPERCUBE_'))).toEqual([])
    for (const name of ['GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'NODE_OPTIONS']) expect(env[name]).toBeUndefined()
    if (process.platform !== 'win32') expect(env).toMatchObject({ PATH: '/bin', HOME: '/home/me', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' })
  })
})

describe('manifests', () => {
  it('rejects an invalid manifest naming the field, and lists platforms it does support', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hypercube-manifest-'))
    try {
      await writeFile(join(dir, 'plugin.json'), JSON.stringify({ name: 'Bad Name', version: '1', kind: 'geometric_operation', pluginApiVersion: 1, napiVersion: 8 }))
      await expect(readManifest(dir)).rejects.toMatchObject({ code: 'manifest_invalid', message: expect.stringMatching(/name: must be lowercase/) })
      await writeFile(join(dir, 'plugin.json'), JSON.stringify({ name: 'ok', version: '1', kind: 'geometric_operation', pluginApiVersion: 1, napiVersion: 8, binaries: { 'darwin-arm64': { path: '../escape.node', blake3: 'a'.repeat(64) } } }))
      await expect(readManifest(dir)).rejects.toMatchObject({ code: 'manifest_invalid', message: expect.stringMatching(/relative path inside the plugin folder/) })
      await writeFile(join(dir, 'plugin.json'), JSON.stringify({ name: 'ok', version: '1', kind: 'geometric_operation', pluginApiVersion: 1, napiVersion: 8, binaries: { 'sunos-sparc': { path: 'x.node', blake3: 'a'.repeat(64) } } }))
      const { manifest } = await readManifest(dir)
      await expect(resolveBinary(dir, manifest, 'linux-x64-glibc')).rejects.toMatchObject({ code: 'unsupported_platform', message: expect.stringMatching(/lists sunos-sparc/) })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
