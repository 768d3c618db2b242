import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import {
  modelIdOfSource,
  type MlflowImportExperiment,
  type MlflowImportLoggedModel,
  type MlflowImportRegisteredModel,
  type MlflowImportRun,
  type MlflowMetricPoint,
  type MlflowRunStatus,
  type MlflowStoreSnapshot
} from './mlflow-records'

/**
 * Reads a running MLflow tracking server over its REST API, as the mlflow client does:
 * experiments and runs of every lifecycle stage, every metric's full history (paged), params,
 * tags, dataset inputs, logged models, registered models with versions, stages and aliases; and
 * the artifacts its server proxies (`mlflow-artifacts:/…` URIs), downloaded into a temporary
 * folder the snapshot's dispose() removes. Credentials as the mlflow client takes them:
 * MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME/PASSWORD (basic).
 *
 * Values arrive as MLflow's protobuf JSON writes them: int64 fields (steps, timestamps) as
 * decimal strings, NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity".
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- MLflow's JSON is read field by field below
type Json = any

/** Page sizes every MLflow server accepts (its caps are higher for some lists, never lower). */
const PAGE = 1_000
const HISTORY_PAGE = 25_000

export interface MlflowRestOptions {
  token?: string
  username?: string
  password?: string
}

export function restCredentialsFromEnvironment(env: NodeJS.ProcessEnv = process.env): MlflowRestOptions {
  return { token: env.MLFLOW_TRACKING_TOKEN, username: env.MLFLOW_TRACKING_USERNAME, password: env.MLFLOW_TRACKING_PASSWORD }
}

class MlflowRestClient {
  private readonly headers: Record<string, string> = {}

  constructor(
    private readonly base: string,
    credentials: MlflowRestOptions
  ) {
    if (credentials.token) this.headers.authorization = `Bearer ${credentials.token}`
    else if (credentials.username !== undefined) this.headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`
  }

  private async send(method: 'GET' | 'POST', path: string, body?: Json): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.base.endsWith('/') ? this.base : `${this.base}/`)
    if (method === 'GET' && body) for (const [key, value] of Object.entries(body)) if (value !== undefined) url.searchParams.set(key, String(value))
    const response = await fetch(url, {
      method,
      headers: { ...this.headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined
    })
    if (!response.ok) {
      const text = await response.text().catch(() => '')
      throw new Error(`${method} ${url.pathname}: ${response.status} ${text.slice(0, 300)}`)
    }
    return response
  }

  async call(method: 'GET' | 'POST', path: string, body?: Json): Promise<Json> {
    return (await this.send(method, `api/2.0/mlflow/${path}`, body)).json()
  }

  /** Every item of a paged MLflow list. */
  async all(method: 'GET' | 'POST', path: string, body: Json, field: string): Promise<Json[]> {
    const items: Json[] = []
    let pageToken: string | undefined
    do {
      const page = await this.call(method, path, { ...body, page_token: pageToken })
      items.push(...(page[field] ?? []))
      pageToken = page.next_page_token || undefined
    } while (pageToken)
    return items
  }

  async listArtifacts(path: string): Promise<{ path: string; is_dir: boolean }[]> {
    const response = await this.send('GET', 'api/2.0/mlflow-artifacts/artifacts', { path })
    return ((await response.json()) as Json).files ?? []
  }

  async download(path: string, to: string): Promise<void> {
    const response = await this.send('GET', `api/2.0/mlflow-artifacts/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`)
    mkdirSync(dirname(to), { recursive: true })
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(to, { mode: 0o600 }))
  }
}

const toValue = (value: unknown): number => (value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : Number(value))
const toBig = (value: unknown): bigint => BigInt(value === undefined || value === null ? 0 : String(value))
const toNumber = (value: unknown): number | null => (value === undefined || value === null ? null : Number(value))
const keyValues = (list: Json[] | undefined, key = 'key', value = 'value'): Record<string, string> =>
  Object.fromEntries((list ?? []).map((entry: Json) => [String(entry[key]), String(entry[value] ?? '')]))

/** The server-relative path of a proxied artifact URI, or null for one this server does not serve. */
function proxiedPath(uri: string): string | null {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri)
  return match ? match[1]!.replace(/\/+$/, '') : null
}

export async function readMlflowRestStore(baseUrl: string, credentials: MlflowRestOptions = restCredentialsFromEnvironment()): Promise<MlflowStoreSnapshot> {
  const client = new MlflowRestClient(baseUrl, credentials)
  const downloads = mkdtempSync(join(tmpdir(), 'hypercube-mlflow-import-'))
  const dispose = async () => rmSync(downloads, { recursive: true, force: true })
  try {
    /** Downloads a proxied artifact folder; null when the URI is not one this server serves, or it is empty. */
    const downloadFolder = async (uri: string, folder: string): Promise<string | null> => {
      const root = proxiedPath(uri)
      if (root === null) return null
      const target = join(downloads, folder)
      let files = 0
      const walk = async (relative: string): Promise<void> => {
        for (const entry of await client.listArtifacts(relative === '' ? root : `${root}/${relative}`)) {
          const path = relative === '' ? entry.path : `${relative}/${entry.path}`
          if (entry.is_dir) await walk(path)
          else {
            await client.download(`${root}/${path}`, join(target, path))
            files++
          }
        }
      }
      await walk('')
      return files > 0 ? target : null
    }

    const experiments: MlflowImportExperiment[] = []
    for (const experiment of await client.all('POST', 'experiments/search', { max_results: PAGE, view_type: 'ALL' }, 'experiments')) {
      const experimentId = String(experiment.experiment_id)
      const runs: MlflowImportRun[] = []
      for (const run of await client.all('POST', 'runs/search', { experiment_ids: [experimentId], run_view_type: 'ALL', max_results: PAGE }, 'runs')) {
        const info = run.info
        const runId = String(info.run_id)
        const metrics: MlflowMetricPoint[] = []
        for (const { key } of run.data?.metrics ?? []) {
          const history = await client.all('GET', 'metrics/get-history', { run_id: runId, metric_key: key, max_results: HISTORY_PAGE }, 'metrics')
          for (const point of history) metrics.push({ key: String(point.key), value: toValue(point.value), timestampMs: Number(point.timestamp), step: toBig(point.step) })
        }
        const tags = keyValues(run.data?.tags)
        runs.push({
          runId,
          experimentId,
          name: info.run_name || tags['mlflow.runName'] || runId,
          status: (info.status ?? 'FINISHED') as MlflowRunStatus,
          startTime: toNumber(info.start_time),
          endTime: toNumber(info.end_time),
          deleted: info.lifecycle_stage === 'deleted',
          userId: info.user_id ?? null,
          artifactUri: info.artifact_uri ?? '',
          artifactDir: info.artifact_uri ? await downloadFolder(info.artifact_uri, `runs/${runId}`) : null,
          params: keyValues(run.data?.params),
          tags,
          metrics,
          datasetInputs: (run.inputs?.dataset_inputs ?? []).map((input: Json) => ({
            name: String(input.dataset.name),
            digest: String(input.dataset.digest),
            sourceType: String(input.dataset.source_type),
            source: String(input.dataset.source),
            schema: input.dataset.schema ?? null,
            profile: input.dataset.profile ?? null,
            tags: keyValues(input.tags)
          })),
          modelOutputs: (run.outputs?.model_outputs ?? []).map((output: Json) => ({ modelId: String(output.model_id), step: toBig(output.step) }))
        })
      }
      experiments.push({
        experimentId,
        name: String(experiment.name),
        deleted: experiment.lifecycle_stage === 'deleted',
        artifactLocation: experiment.artifact_location ?? '',
        creationTime: toNumber(experiment.creation_time),
        lastUpdateTime: toNumber(experiment.last_update_time),
        tags: keyValues(experiment.tags),
        runs
      })
    }

    const loggedModels: MlflowImportLoggedModel[] = []
    const experimentIds = experiments.map((experiment) => experiment.experimentId)
    if (experimentIds.length > 0) {
      for (const model of await client.all('POST', 'logged-models/search', { experiment_ids: experimentIds, max_results: 100 }, 'models')) {
        const info = model.info
        const modelId = String(info.model_id)
        loggedModels.push({
          modelId,
          experimentId: String(info.experiment_id),
          name: String(info.name),
          modelType: info.model_type ?? null,
          sourceRunId: info.source_run_id ?? null,
          status: info.status ?? 'LOGGED_MODEL_READY',
          tags: keyValues(info.tags),
          params: keyValues(model.data?.params),
          metrics: (model.data?.metrics ?? []).map((metric: Json) => ({
            key: String(metric.key),
            value: toValue(metric.value),
            timestampMs: Number(metric.timestamp),
            step: toBig(metric.step),
            runId: metric.run_id ?? null,
            datasetName: metric.dataset_name ?? null,
            datasetDigest: metric.dataset_digest ?? null
          })),
          artifactLocation: info.artifact_uri ?? '',
          artifactDir: info.artifact_uri ? await downloadFolder(info.artifact_uri, `models/${modelId}`) : null
        })
      }
    }

    const registeredModels: MlflowImportRegisteredModel[] = []
    for (const model of await client.all('GET', 'registered-models/search', { max_results: PAGE }, 'registered_models')) {
      const name = String(model.name)
      const versions = await client.all('GET', 'model-versions/search', { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: PAGE }, 'model_versions')
      registeredModels.push({
        name,
        description: model.description ?? null,
        tags: keyValues(model.tags),
        aliases: Object.fromEntries((model.aliases ?? []).map((alias: Json) => [String(alias.alias), Number(alias.version)])),
        versions: versions
          .map((version: Json) => ({
            version: Number(version.version),
            source: version.source ?? '',
            runId: version.run_id || null,
            status: version.status ?? 'READY',
            currentStage: version.current_stage ?? 'None',
            description: version.description ?? null,
            tags: keyValues(version.tags),
            modelId: version.model_id || modelIdOfSource(version.source ?? ''),
            runLink: version.run_link || null,
            creationTimestamp: toNumber(version.creation_timestamp)
          }))
          .sort((a: { version: number }, b: { version: number }) => a.version - b.version)
      })
    }
    return { kind: 'rest', location: baseUrl, experiments, loggedModels, registeredModels, dispose }
  } catch (error) {
    await dispose()
    throw error
  }
}
