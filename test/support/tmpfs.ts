import { spawnSync } from 'node:child_process'
import { makeDataDir } from './test-env'

/**
 * Why a tmpfs cannot be mounted here, or null when it can: Linux, as root, and mount allowed
 * (a container may refuse it). Tests that fill a small tmpfs to reach a real full disk skip with
 * this reason in their title.
 */
export function tmpfsProblem(): string | null {
  if (process.platform !== 'linux') return `tmpfs mounts are Linux-only (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root'
  const probe = makeDataDir('hypercube-tmpfs-probe-')
  try {
    const result = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe.dir], { encoding: 'utf8' })
    if (result.status !== 0) return `mount -t tmpfs is refused here: ${(result.stderr || result.error?.message || '').trim()}`
    spawnSync('umount', [probe.dir])
    return null
  } finally {
    probe.remove()
  }
}
