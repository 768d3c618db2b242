import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { readOrCreateApiToken } from '../http/api-token'
import { lockHolder } from '../instance-lock'
import type { ExportResult, ExportSelection } from './bundle-exporter'
import type { BundleImportReport, ConflictMode } from './bundle-importer'
import type { ProgressSink } from './progress'

/**
 * `hypercube export` and `hypercube import` on a data folder the app is running on: the app
 * holds the folder locked (a second core there would take its PostgreSQL away), so the bundle
 * goes through the running app's /v1 API instead (v1-bundles.ts) — the same exporter and
 * importer, on the app's own services, and the app's windows see the imported runs at once.
 */

export interface RunningApp {
  pid: number
  apiUrl: string
  token: string
}

/** The app running on `dataDir` with its API listening, if there is one. */
export function runningAppOn(dataDir: string): RunningApp | null {
  const holder = lockHolder(dataDir)
  if (!holder?.apiUrl) return null
  return { pid: holder.pid, apiUrl: holder.apiUrl, token: readOrCreateApiToken(dataDir) }
}

async function refusal(response: Response, what: string): Promise<Error> {
  const text = await response.text()
  let message = text
  try {
    const body = JSON.parse(text) as { message?: string; error?: { message?: string } }
    message = body.error?.message ?? body.message ?? text
  } catch {
    // Not JSON: the text as it came.
  }
  return new Error(`${what}: the running app answered HTTP ${response.status}: ${message}`)
}

/** Counts the bytes that pass, for a progress bar. */
function counting(total: number, progress: ProgressSink, detail: string): Transform {
  let done = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length
      progress.update(done, total, detail)
      callback(null, chunk)
    }
  })
}

export async function exportThroughApp(app: RunningApp, selection: ExportSelection, output: string, progress: ProgressSink): Promise<Omit<ExportResult, 'path'>> {
  progress.line(`The app (pid ${app.pid}) runs on this data folder: exporting through its API at ${app.apiUrl}`)
  const response = await fetch(`${app.apiUrl}/v1/bundles/export`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ experiment: selection.experiment, runs: selection.runs, model: selection.model, artifacts: selection.artifacts })
  })
  if (!response.ok || !response.body) throw await refusal(response, 'export')
  const result = JSON.parse(response.headers.get('hypercube-export-result') ?? '{}') as Omit<ExportResult, 'path'>
  const total = Number(response.headers.get('content-length') ?? result.bytes ?? 0)
  // Written beside the target and renamed when complete, as a local export is.
  const partial = `${output}.${process.pid}.part`
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), counting(total, progress, 'downloading the bundle'), createWriteStream(partial))
    renameSync(partial, output)
  } catch (error) {
    rmSync(partial, { force: true })
    throw error
  }
  return { ...result, bytes: statSync(output).size }
}

export async function importThroughApp(app: RunningApp, file: string, onConflict: ConflictMode, progress: ProgressSink): Promise<BundleImportReport> {
  progress.line(`The app (pid ${app.pid}) runs on this data folder: importing through its API at ${app.apiUrl}`)
  const size = statSync(file).size
  const body = Readable.toWeb(createReadStream(file).pipe(counting(size, progress, 'sending the bundle; the app checks every member before writing'))) as ReadableStream<Uint8Array>
  const response = await fetch(`${app.apiUrl}/v1/bundles/import?on_conflict=${onConflict}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body,
    duplex: 'half'
  } as RequestInit)
  if (!response.ok) throw await refusal(response, `import of ${basename(file)}`)
  // The app read a temporary copy: the report names the file the user gave.
  return { ...((await response.json()) as BundleImportReport), file }
}
