import { readFileSync } from 'node:fs'
import { platform } from 'node:os'

/** Whether a process with this pid is running (a zombie counts as gone). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A process whose parent (a killed app) is gone may linger as a zombie where nothing reaps
  // orphans (some container inits): it has exited, whatever kill(pid, 0) says.
  if (platform() === 'linux') {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    } catch {
      return false
    }
  }
  return true
}
