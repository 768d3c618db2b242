import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, write, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import pino from 'pino'

export type Logger = pino.Logger

const MAX_LOG_BYTES = 10 * 1024 * 1024
/** Logs name experiments, paths and errors: their owner's only (data-folder.ts repairs old ones). */
export const LOG_FILE_MODE = 0o600
export const LOGS_FOLDER_MODE = 0o700
const KEPT_ROTATIONS = 5
/** How long an exit waits for a write already handed to the thread pool to land. */
const EXIT_WAIT_MS = 200

/** Shifts file → file.1 → … → file.5 (the oldest is dropped). The caller has closed `file`. */
function shiftRotations(file: string, kept: number): void {
  rmSync(`${file}.${kept}`, { force: true })
  for (let i = kept - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`)
    } catch {
      /* that rotation does not exist yet */
    }
  }
  renameSync(file, `${file}.1`)
}

/**
 * Rotates `file` if it has grown past the size limit: file → file.1 → … → file.5. For logs
 * other programs write (PostgreSQL's), checked when they are opened; Hypercube's own logs
 * also rotate while running (RotatingLogFile).
 */
export function rotateLogFile(file: string, maxBytes = MAX_LOG_BYTES, kept = KEPT_ROTATIONS): void {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    return
  }
  if (size >= maxBytes) shiftRotations(file, kept)
}

export interface RotatingLogFileOptions {
  /** Rotate once the file reaches this many bytes (default 10 MB). */
  maxBytes?: number
  /** Rotations kept beside the live file (default 5). */
  kept?: number
}

/** Every open log file by path: one writer per file in a process, one `exit` listener for all. */
const openLogFiles = new Map<string, RotatingLogFile>()
let exitHookInstalled = false

function flushAllOnExit(): void {
  for (const file of openLogFiles.values()) file.flushSync()
}

/**
 * An append-only log file written asynchronously and rotated while running.
 *
 * `write` only queues: lines written in one tick become one `fs.write` on the thread pool, and
 * one write is in flight at a time, so logging never waits for the disk. Between writes, once
 * the file has passed `maxBytes`, it is closed, shifted (file → file.1 …) and reopened — a few
 * renames every 10 MB. `flushSync` (called on `exit`, which Node also emits after an uncaught
 * exception, and by pino after `fatal`) waits briefly for the write in flight, then writes the
 * queue with blocking calls, so the last lines before a crash reach the disk in order.
 *
 * Not SonicBoom: its flushSync skips the buffer already in flight, so an exit at that moment
 * can drop or reorder those lines.
 */
export class RotatingLogFile {
  private fd: number
  /** Bytes in the live file, counting what is in flight. */
  private size: number
  private queue: string[] = []
  /** The file size once the write on the thread pool lands. */
  private inFlight: { end: number } | null = null
  private scheduled = false
  private waiters: Array<(error?: Error) => void> = []
  private closed = false
  private readonly maxBytes: number
  private readonly kept: number

  /**
   * The writer of `path` in this process: the one already open, else a new one. Two writers
   * of one file would each rotate it under the other.
   */
  static open(path: string, options: RotatingLogFileOptions = {}): RotatingLogFile {
    return openLogFiles.get(resolve(path)) ?? new RotatingLogFile(resolve(path), options)
  }

  private constructor(
    readonly path: string,
    options: RotatingLogFileOptions
  ) {
    this.maxBytes = options.maxBytes ?? MAX_LOG_BYTES
    this.kept = options.kept ?? KEPT_ROTATIONS
    rotateLogFile(path, this.maxBytes, this.kept)
    this.fd = openSync(path, 'a', LOG_FILE_MODE)
    this.size = fstatSync(this.fd).size
    openLogFiles.set(path, this)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on('exit', flushAllOnExit)
    }
  }

  /** Queues a chunk (pino hands over one JSON line at a time); never blocks. */
  write(chunk: string): boolean {
    if (this.closed) return false
    this.queue.push(chunk)
    if (!this.inFlight && !this.scheduled) {
      this.scheduled = true
      // A tick's lines go out together in one write.
      process.nextTick(() => this.writeNext())
    }
    return true
  }

  /** Calls back once everything written so far is on disk (pino's `logger.flush(cb)`). */
  flush(callback: (error?: Error) => void = () => undefined): void {
    if (!this.inFlight && !this.scheduled && this.queue.length === 0) {
      process.nextTick(callback)
      return
    }
    this.waiters.push(callback)
  }

  /** Blocks until every queued line is in the file: for exit and fatal paths only. */
  flushSync(): void {
    if (this.closed || this.fd < 0) return
    if (this.inFlight) {
      // That write is on the thread pool; its callback cannot run while we block. Its bytes
      // show in the file's size once it lands, which keeps the order of lines.
      const wake = new Int32Array(new SharedArrayBuffer(4))
      const deadline = Date.now() + EXIT_WAIT_MS
      try {
        while (this.sizeOnDisk() < this.inFlight.end && Date.now() < deadline) Atomics.wait(wake, 0, 0, 2)
      } catch {
        /* a thread that may not block: write the queue after it without waiting */
      }
    }
    if (this.queue.length === 0) return
    const text = this.queue.join('')
    this.queue = []
    try {
      const bytes = Buffer.from(text, 'utf8')
      let offset = 0
      while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset)
      this.size += bytes.length
    } catch {
      /* a full or gone disk: nothing more can be done on the way out */
    }
  }

  /** Writes what is queued, then closes the file. */
  close(): Promise<void> {
    return new Promise((done) => {
      this.flush(() => {
        if (!this.closed) {
          this.closed = true
          openLogFiles.delete(this.path)
          if (this.fd >= 0) closeSync(this.fd)
          this.fd = -1
        }
        done()
      })
    })
  }

  private sizeOnDisk(): number {
    try {
      return fstatSync(this.fd).size
    } catch {
      return Number.POSITIVE_INFINITY
    }
  }

  private writeNext(): void {
    this.scheduled = false
    if (this.inFlight || this.closed) return
    if (this.size >= this.maxBytes) this.rotate()
    if (this.queue.length === 0 || this.fd < 0) {
      if (this.fd < 0) this.queue = []
      this.settleWaiters()
      return
    }
    const bytes = Buffer.from(this.queue.join(''), 'utf8')
    this.queue = []
    this.inFlight = { end: this.size + bytes.length }
    this.size += bytes.length
    this.writeBytes(bytes, 0)
  }

  private writeBytes(bytes: Buffer, offset: number): void {
    write(this.fd, bytes, offset, bytes.length - offset, null, (error, written) => {
      if (!error && offset + written < bytes.length) {
        this.writeBytes(bytes, offset + written)
        return
      }
      if (error) this.report(error)
      this.inFlight = null
      this.writeNext()
    })
  }

  private rotate(): void {
    try {
      closeSync(this.fd)
      shiftRotations(this.path, this.kept)
    } catch (error) {
      this.report(error as Error)
    }
    try {
      this.fd = openSync(this.path, 'a', LOG_FILE_MODE)
      this.size = fstatSync(this.fd).size
    } catch (error) {
      // Without a file there is nowhere to log; keep the app running.
      this.fd = -1
      this.report(error as Error)
    }
  }

  private settleWaiters(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter()
  }

  private report(error: Error): void {
    // The log itself is what failed, so stderr is the only place left to say so.
    process.stderr?.write?.(`hypercube: cannot write ${this.path}: ${error.message}\n`)
  }
}

export function logsDir(dataDir: string): string {
  return join(dataDir, 'logs')
}

export interface FileLoggerOptions extends RotatingLogFileOptions {
  level?: string
}

/**
 * JSON-lines logger writing to `<dataDir>/logs/<name>.log` — `hypercube.log` for the main
 * process; another process (the API process) passes its own name, since a file has one
 * writer. Every layer logs through a child (`logger.child({ component: 'db' })`) so one folder
 * holds the story. Writes are asynchronous; the file rotates at 10 MB, 5 kept.
 */
export function createFileLogger(dataDir: string, name = 'hypercube', options: FileLoggerOptions = {}): Logger {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`log name ${JSON.stringify(name)} must be a plain file name`)
  const dir = logsDir(dataDir)
  mkdirSync(dir, { recursive: true, mode: LOGS_FOLDER_MODE })
  const file = RotatingLogFile.open(join(dir, `${name}.log`), options)
  return pino({ level: options.level ?? process.env.HYPERCUBE_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, file)
}

/** A logger that drops everything; for unit tests and library use. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' })
}
