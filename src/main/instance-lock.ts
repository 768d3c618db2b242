import { closeSync, constants, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DomainError } from '../shared/errors'
import { processIsAlive } from './process/process-alive'

/** What the lock file says about the app that holds the data folder. */
export interface LockRecord {
  pid: number
  startedAt: string
  /** The HTTP API's URL once it listens, so a refused second instance can say where. */
  apiUrl: string | null
}

export function instanceLockFile(dataDir: string): string {
  return join(dataDir, 'hypercube.lock')
}

/**
 * One app per data folder. A second app on the same folder would find the first one's
 * PostgreSQL, take it over and leave the first answering errors; so the folder is locked for
 * the app's lifetime by a file created exclusively (O_EXCL), holding the owner's pid. A lock
 * whose process is gone (a crash, kill -9) is stale and taken over.
 */
export class InstanceLock {
  private constructor(
    private readonly file: string,
    private record: LockRecord
  ) {}

  static acquire(dataDir: string): InstanceLock {
    const file = instanceLockFile(dataDir)
    const record: LockRecord = { pid: process.pid, startedAt: new Date().toISOString(), apiUrl: null }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)
        try {
          writeSync(fd, `${JSON.stringify(record)}\n`)
        } finally {
          closeSync(fd)
        }
        return new InstanceLock(file, record)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const holder = readLock(file)
      if (holder && holder.pid !== process.pid && processIsAlive(holder.pid)) {
        const where = holder.apiUrl ? `, API at ${holder.apiUrl}` : ''
        throw new DomainError(
          'conflict',
          `another Hypercube (pid ${holder.pid}${where}, started ${holder.startedAt}) is using the data folder ${dataDir}; close it first, or use another --data-dir`,
          'dataDir'
        )
      }
      // Stale (its process is gone) or unreadable (cut off while being written): take it over.
      rmSync(file, { force: true })
    }
    throw new DomainError('conflict', `could not lock the data folder ${dataDir} (${file} keeps reappearing)`, 'dataDir')
  }

  /** Records where the API listens, for the message a second instance gets. */
  setApiUrl(apiUrl: string | null): void {
    this.record = { ...this.record, apiUrl }
    writeFileSync(this.file, `${JSON.stringify(this.record)}\n`, { mode: 0o600 })
  }

  /** Removes the lock if it is still ours. */
  release(): void {
    if (readLock(this.file)?.pid === this.record.pid) rmSync(this.file, { force: true })
  }
}

/**
 * The app running on a data folder, if there is one: a live process holds its lock (this one,
 * too, when a core of its own holds it — a lock is removed when its core closes).
 */
export function lockHolder(dataDir: string): LockRecord | undefined {
  const holder = readLock(instanceLockFile(dataDir))
  return holder && processIsAlive(holder.pid) ? holder : undefined
}

function readLock(file: string): LockRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockRecord>
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined
    return { pid: parsed.pid, startedAt: String(parsed.startedAt ?? 'at an unknown time'), apiUrl: typeof parsed.apiUrl === 'string' ? parsed.apiUrl : null }
  } catch {
    return undefined
  }
}
