// Private copies of verified plugin binaries: what plugin hosts actually load.
//
// The registry verifies a binary's BLAKE3 in main; if the host then opened the plugin's own
// file by path, whoever can write to the plugin folder could swap it in between (a
// time-of-check gap). So main reads the file once, hashes those bytes, writes the same bytes
// into a folder only this user can enter, and the host loads that copy, after checking that
// its SHA-256 is still the one main computed (node:crypto has SHA-256 but no BLAKE3, and the
// host keeps to Node's own modules).
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { chmod, lstat, mkdir, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The folder's mode: its owner only (README, "Security"). */
export const RUNTIME_FOLDER_MODE = 0o700
/** A copy's mode: read and write for its owner; dlopen needs no execute bit. */
export const RUNTIME_COPY_MODE = 0o600

export interface RuntimeCopy {
  path: string
  /** SHA-256 (hex) of the bytes written: the host checks it before loading. */
  sha256: string
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export class PluginRuntimeCopies {
  private constructor(readonly dir: string) {}

  /**
   * `dir` (the app's `<dataDir>/plugins-runtime`) is emptied and made afresh: one app runs per
   * data folder, so nothing in it belongs to a running host, and whatever was planted there (a
   * link, someone else's file) goes. Without `dir` (plugin:check, tests) a fresh mkdtemp folder.
   */
  static async open(dir?: string | null): Promise<PluginRuntimeCopies> {
    if (!dir) return new PluginRuntimeCopies(mkdtempSync(join(tmpdir(), 'hypercube-plugins-runtime-')))
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true, mode: RUNTIME_FOLDER_MODE })
    const info = await lstat(dir)
    if (!info.isDirectory()) throw new Error(`${dir} is not a folder`)
    // mkdir's mode is masked by the umask; the folder must be private whatever the umask is.
    if (process.platform !== 'win32') await chmod(dir, RUNTIME_FOLDER_MODE)
    return new PluginRuntimeCopies(dir)
  }

  /**
   * Writes `bytes` to a new file of its own (never over a file a running host has mapped: on
   * Windows that fails, elsewhere it could crash that host). 'wx' refuses to follow or reuse
   * anything already at the name.
   */
  async write(pluginName: string, blake3: string, bytes: Uint8Array): Promise<RuntimeCopy> {
    const path = join(this.dir, `${pluginName}-${blake3.slice(0, 16)}-${randomBytes(6).toString('hex')}.node`)
    await writeFile(path, bytes, { flag: 'wx', mode: RUNTIME_COPY_MODE })
    return { path, sha256: sha256Hex(bytes) }
  }

  /** Removes a copy once its host has gone (best effort: a leftover is removed at the next start). */
  async remove(copy: RuntimeCopy): Promise<void> {
    await unlink(copy.path).catch(() => undefined)
  }

  /** After every host has stopped: the folder goes (open makes it afresh). */
  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined)
  }
}
