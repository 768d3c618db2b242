import { open } from 'node:fs/promises'
import { familySync, GLIBC, MUSL } from 'detect-libc'
import type { PlatformKey, PluginErrorCode } from '../../shared/plugins'

export type LinuxLibc = 'glibc' | 'musl' | 'unknown-libc'

let cachedLibc: LinuxLibc | undefined

/**
 * Which C library a Linux process runs on: a .node linked to one does not load on the other.
 * detect-libc reads it from the system (Node's report, then the dynamic loader and ldd) rather
 * than guessing from a missing field, so a glibc system whose report lacks the field is not
 * taken for musl. When neither is found the key says so ('unknown-libc'): no prebuilt binary
 * matches it, and a plugin built here (recorded under the same key) still loads.
 */
export function detectLinuxLibc(detect: () => string | null = familySync): LinuxLibc {
  const family = detect()
  if (family === GLIBC) return 'glibc'
  if (family === MUSL) return 'musl'
  return 'unknown-libc'
}

export function linuxLibc(): LinuxLibc {
  cachedLibc ??= detectLinuxLibc()
  return cachedLibc
}

/** This process's platform key, e.g. `linux-x64-glibc`, `win32-x64`, `darwin-arm64`. */
export function currentPlatformKey(): PlatformKey {
  const base = `${process.platform}-${process.arch}`
  return process.platform === 'linux' ? `${base}-${linuxLibc()}` : base
}

export type BinaryFormat = 'elf' | 'pe' | 'macho'

export interface BinarySniff {
  format: BinaryFormat | 'unknown'
  /** Node-style arch name when recognised (x64, arm64, ia32, arm), else the raw machine id. */
  arch: string | null
}

const ELF_MACHINES: Record<number, string> = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm', 0xf3: 'riscv64' }
const PE_MACHINES: Record<number, string> = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' }
const MACHO_CPUS: Record<number, string> = { 0x01000007: 'x64', 0x0100000c: 'arm64', 7: 'ia32' }

/**
 * Reads a binary's header to tell what it was built for, so that a plugin built for another
 * OS or CPU gets a precise error instead of dlopen's generic one.
 */
export function sniffBinaryHeader(header: Uint8Array): BinarySniff {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength)
  if (header.length >= 20 && header[0] === 0x7f && header[1] === 0x45 && header[2] === 0x4c && header[3] === 0x46) {
    const littleEndian = header[5] === 1
    const machine = view.getUint16(18, littleEndian)
    return { format: 'elf', arch: ELF_MACHINES[machine] ?? `elf-machine-${machine}` }
  }
  if (header.length >= 64 && header[0] === 0x4d && header[1] === 0x5a) {
    const peOffset = view.getUint32(0x3c, true)
    if (peOffset + 6 <= header.length && view.getUint32(peOffset, true) === 0x00004550) {
      const machine = view.getUint16(peOffset + 4, true)
      return { format: 'pe', arch: PE_MACHINES[machine] ?? `pe-machine-${machine}` }
    }
    return { format: 'pe', arch: null }
  }
  if (header.length >= 8) {
    const magicLE = view.getUint32(0, true)
    if (magicLE === 0xfeedfacf || magicLE === 0xfeedface) {
      const cpu = view.getUint32(4, true)
      return { format: 'macho', arch: MACHO_CPUS[cpu] ?? `macho-cpu-${cpu}` }
    }
    // Universal ("fat") binaries hold several architectures: let dlopen pick.
    if (view.getUint32(0, false) === 0xcafebabe) return { format: 'macho', arch: null }
  }
  return { format: 'unknown', arch: null }
}

export function expectedBinaryFormat(platform: NodeJS.Platform = process.platform): BinaryFormat {
  if (platform === 'win32') return 'pe'
  if (platform === 'darwin') return 'macho'
  return 'elf'
}

const FORMAT_NAMES: Record<BinaryFormat, string> = {
  elf: 'an ELF shared object (Linux)',
  pe: 'a PE DLL (Windows)',
  macho: 'a Mach-O dylib (macOS)'
}

export interface BinaryCompatibilityProblem {
  code: Extract<PluginErrorCode, 'wrong_platform' | 'wrong_arch' | 'not_a_library'>
  message: string
}

/** Checks a binary's header against this process's OS and CPU; null when it may load. */
export async function checkBinaryCompatibility(binaryPath: string): Promise<BinaryCompatibilityProblem | null> {
  const file = await open(binaryPath, 'r')
  let header: Uint8Array
  try {
    const buffer = new Uint8Array(4096)
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0)
    header = buffer.subarray(0, bytesRead)
  } finally {
    await file.close()
  }
  return checkBinaryHeader(header, binaryPath)
}

/** The same check on bytes already read (the verified bytes the host will load a copy of). */
export function checkBinaryHeader(header: Uint8Array, binaryPath: string): BinaryCompatibilityProblem | null {
  const sniff = sniffBinaryHeader(header)
  if (sniff.format === 'unknown') {
    return {
      code: 'not_a_library',
      message: `${binaryPath} is not a loadable library (no ELF, PE or Mach-O header)`
    }
  }
  const expected = expectedBinaryFormat()
  if (sniff.format !== expected) {
    return {
      code: 'wrong_platform',
      message: `${binaryPath} is ${FORMAT_NAMES[sniff.format]}, but this is ${process.platform}, which needs ${FORMAT_NAMES[expected]}`
    }
  }
  if (sniff.arch !== null && sniff.arch !== process.arch) {
    return {
      code: 'wrong_arch',
      message: `${binaryPath} is built for ${sniff.arch}, but this process runs on ${process.arch}`
    }
  }
  return null
}
