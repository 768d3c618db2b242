import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { userInfo, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ensureBinariesReachable, locatePostgresBinaries, runtimeCopyDir, trustedRuntimeCopy, type ProcessIdentity } from '../../src/main/db/embedded-postgres'
import { createSilentLogger } from '../../src/main/logging'

const isRoot = process.getuid?.() === 0
const postgresUser = ((): ProcessIdentity | undefined => {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  return uid.status === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout), name: 'postgres' } : undefined
})()
const NOBODY = 65534

/**
 * As root, PostgreSQL runs as a non-root user, and when that user cannot reach the npm package
 * the binaries are copied to the temp folder, where anyone can plant a folder first. Root must
 * never run what another user put there.
 */
const skipReason =
  process.platform !== 'linux' ? `the copy is made only on Linux as root (this is ${process.platform})`
  : !isRoot ? 'not running as root: PostgreSQL then runs as this user from the npm package, with no copy'
  : !postgresUser ? 'no postgres OS user to run the server as'
  : null
describe.skipIf(skipReason !== null)(`the PostgreSQL runtime copy in the temp folder (root only: it is where root runs binaries)${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  const folders: string[] = []
  afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })))

  it('replaces a folder another user planted under the predictable name, and reuses its own copy', async () => {
    const real = await locatePostgresBinaries()
    // The package inside a folder the server's user cannot enter (as under /root).
    const hidden = mkdtempSync(join(tmpdir(), 'hypercube-hidden-'))
    folders.push(hidden)
    chmodSync(hidden, 0o700)
    const root = join(hidden, 'pg')
    cpSync(real.root, root, { recursive: true, verbatimSymlinks: true })
    const binaries = { root, postgres: join(root, 'bin', 'postgres'), initdb: join(root, 'bin', 'initdb'), pgCtl: join(root, 'bin', 'pg_ctl') }
    // A temp folder like /tmp: world-writable and sticky.
    const shared = mkdtempSync(join(tmpdir(), 'hypercube-shared-tmp-'))
    folders.push(shared)
    chmodSync(shared, 0o1777)

    // Another user plants the folder the copy would go to, with a "postgres" of their own.
    const target = runtimeCopyDir(binaries, shared)
    const marker = join(shared, 'planted-binary-ran')
    mkdirSync(join(target, 'bin'), { recursive: true })
    writeFileSync(join(target, 'bin', 'postgres'), `#!/bin/sh\ntouch ${marker}\necho "postgres (PostgreSQL) 18.4"\n`, { mode: 0o755 })
    for (const path of [target, join(target, 'bin'), join(target, 'bin', 'postgres')]) chownSync(path, NOBODY, NOBODY)
    expect(trustedRuntimeCopy(target)).toBe(false)

    const copied = ensureBinariesReachable(binaries, postgresUser!, createSilentLogger(), shared)
    expect(copied.root).toBe(target)
    expect(existsSync(marker)).toBe(false)
    expect(statSync(copied.postgres).uid).toBe(userInfo().uid)
    expect(trustedRuntimeCopy(target)).toBe(true)
    expect(spawnSync(copied.postgres, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/PostgreSQL\) \d+/)

    // Its own copy is used again as it is.
    const before = statSync(copied.postgres).mtimeMs
    expect(ensureBinariesReachable(binaries, postgresUser!, createSilentLogger(), shared).postgres).toBe(copied.postgres)
    expect(statSync(copied.postgres).mtimeMs).toBe(before)

    // A file inside made writable by others spoils the copy: it is replaced, not run.
    chmodSync(dirname(copied.postgres), 0o777)
    expect(trustedRuntimeCopy(target)).toBe(false)
    ensureBinariesReachable(binaries, postgresUser!, createSilentLogger(), shared)
    expect(trustedRuntimeCopy(target)).toBe(true)
  })
})
