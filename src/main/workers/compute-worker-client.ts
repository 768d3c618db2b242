import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { DomainError } from '../../shared/errors'
import { builtEntry } from '../paths'
import type { JobInput, JobName, JobProgress, JobResult } from './compute-jobs'
import { fromWireError, type JobMessage, type JobRequest } from './compute-protocol'

/**
 * The compute worker's entry next to the running code: the built out/main/compute-worker.js,
 * or the TypeScript source when the core runs from source (tests, tsx scripts) — as the plugin
 * host's entry is found.
 */
export function computeWorkerScript(): string {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) return join(dirname(here), 'compute-worker.ts')
  return builtEntry('compute-worker')
}

function startThread(script: string): Worker {
  if (!script.endsWith('.ts')) return new Worker(script)
  // Node 20 ignores `--import tsx` in a worker's execArgv for the worker's own entry, so a
  // bootstrap registers tsx's hooks in the thread first, then imports the .ts entry.
  const require = createRequire(import.meta.url)
  const tsxApi = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(pathToFileURL(script).href)}) })`
  return new Worker(bootstrap, { eval: true })
}

interface PendingJob {
  job: JobName
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  onProgress?: (value: never) => void
}

export interface RunOptions<Name extends JobName> {
  onProgress?: (progress: JobProgress<Name>) => void
  /** Aborting stops the whole worker (a CPU loop can only be stopped by ending its thread). */
  signal?: AbortSignal
}

/**
 * One worker thread for CPU-heavy jobs (compute-jobs.ts), so the thread that answers the
 * window never parses, converts or hashes megabytes itself. `run` sends a job and resolves with
 * its result, streaming its progress; `dispose` terminates the thread, failing what is still
 * running. A worker serves one piece of work (a comparison, a hash) and is disposed after it,
 * so nothing outlives the work and cancelling one piece cannot disturb another.
 */
export class ComputeWorker {
  private readonly thread: Worker
  private readonly pending = new Map<number, PendingJob>()
  private nextId = 1
  private ended: Error | undefined
  private terminated: Promise<void> | undefined

  private constructor(script: string) {
    this.thread = startThread(script)
    this.thread.on('message', (message: JobMessage) => this.receive(message))
    this.thread.on('error', (error) => this.end(new Error(`the compute worker failed: ${error.message}`)))
    this.thread.on('exit', (code) => this.end(new Error(`the compute worker exited (code ${code})`)))
  }

  static start(script = computeWorkerScript()): ComputeWorker {
    return new ComputeWorker(script)
  }

  run<Name extends JobName>(job: Name, input: JobInput<Name>, options: RunOptions<Name> = {}): Promise<JobResult<Name>> {
    if (this.ended) return Promise.reject(this.ended)
    if (options.signal?.aborted) return Promise.reject(cancelled(job))
    const id = this.nextId++
    return new Promise<JobResult<Name>>((resolve, reject) => {
      const onAbort = (): void => void this.dispose(cancelled(job))
      options.signal?.addEventListener('abort', onAbort, { once: true })
      const settle = (): void => {
        this.pending.delete(id)
        options.signal?.removeEventListener('abort', onAbort)
      }
      this.pending.set(id, {
        job,
        resolve: (value) => {
          settle()
          resolve(value as JobResult<Name>)
        },
        reject: (error) => {
          settle()
          reject(error)
        },
        onProgress: options.onProgress as ((value: never) => void) | undefined
      })
      this.thread.postMessage({ id, job, input } satisfies JobRequest)
    })
  }

  /** Terminates the thread; jobs still running fail with `reason` (default: cancelled). */
  dispose(reason?: Error): Promise<void> {
    this.end(reason ?? new DomainError('unavailable', 'the computation was cancelled'))
    this.terminated ??= this.thread.terminate().then(() => undefined)
    return this.terminated
  }

  private receive(message: JobMessage): void {
    const job = this.pending.get(message.id)
    if (!job) return
    if (message.kind === 'progress') job.onProgress?.(message.value as never)
    else if (message.kind === 'result') job.resolve(message.value)
    else job.reject(fromWireError(message.error))
  }

  private end(reason: Error): void {
    this.ended ??= reason
    for (const job of [...this.pending.values()]) job.reject(reason)
  }
}

function cancelled(job: JobName): DomainError {
  return new DomainError('unavailable', `the ${job} computation was cancelled`)
}

/** Runs one job on a worker of its own, disposed when the job ends. */
export async function runComputeJob<Name extends JobName>(job: Name, input: JobInput<Name>, options: RunOptions<Name> = {}): Promise<JobResult<Name>> {
  const worker = ComputeWorker.start()
  try {
    return await worker.run(job, input, options)
  } finally {
    await worker.dispose()
  }
}
