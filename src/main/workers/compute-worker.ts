import { parentPort } from 'node:worker_threads'
import { computeJobs, type JobName } from './compute-jobs'
import { toWireError, type JobMessage, type JobRequest } from './compute-protocol'

/**
 * The compute worker thread (an electron-vite entry: out/main/compute-worker.js). It runs the
 * jobs of compute-jobs.ts for the ComputeWorker that started it, reporting progress and
 * transferring result buffers. Several jobs may run at once; each answers under its id.
 */

const port = parentPort
if (!port) throw new Error('compute-worker.ts runs as a worker thread (see ComputeWorker)')

const post = (message: JobMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer)

port.on('message', (request: JobRequest) => {
  void (async () => {
    try {
      if (!Object.hasOwn(computeJobs, request.job)) throw new Error(`unknown compute job ${JSON.stringify(request.job)}`)
      const run = computeJobs[request.job as JobName] as (input: unknown, progress: (value: unknown) => void) => Promise<{ result: unknown; transfer?: ArrayBuffer[] }>
      const { result, transfer } = await run(request.input, (value) => post({ id: request.id, kind: 'progress', value }))
      post({ id: request.id, kind: 'result', value: result }, transfer)
    } catch (error) {
      post({ id: request.id, kind: 'error', error: toWireError(error) })
    }
  })()
})
