import { appendFileSync, readFileSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApiTestCore } from '../support/api-env'
import type { TestCore } from '../support/test-env'
import { mlflowCorpus, parseMlflowEndpoints, v1Corpus, type BadRequest, type KnownIds } from './support/bad-input-corpus'

/**
 * Every route of both APIs against a generated corpus of bad input: the answer is a 4xx in the
 * API's one error shape, never a 5xx, never a dropped connection; and the app still serves
 * afterwards. (The corpus: test/faults/support/bad-input-corpus.ts.) The assertion shows the
 * first 40 problems; HYPERCUBE_CORPUS_REPORT=<file> appends every one to that file.
 */

interface Answer {
  status: number
  text: string
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 })

function send(baseUrl: string, token: string, bad: BadRequest): Promise<Answer | { failed: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (bad.body !== undefined) {
    headers['content-type'] = bad.contentType ?? 'application/json'
    headers['content-length'] = String(Buffer.byteLength(bad.body))
  }
  return new Promise((resolve) => {
    const request = httpRequest(`${baseUrl}${bad.url}`, { method: bad.method, headers, agent, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      response.on('error', (error) => resolve({ failed: `response broke: ${error.message}` }))
    })
    request.on('timeout', () => request.destroy(new Error('no answer within 30 s')))
    request.on('error', (error) => resolve({ failed: `no answer: ${error.message}` }))
    if (bad.body !== undefined) request.write(bad.body)
    request.end()
  })
}

/** What is wrong with an answer to a bad request, or null when it is a proper refusal (or a success). */
function problemWith(answer: Answer, shape: 'v1' | 'mlflow'): string | null {
  if (answer.status >= 500) return `${answer.status} ${answer.text.slice(0, 160)}`
  if (answer.status < 400) return null
  let body: unknown
  try {
    body = JSON.parse(answer.text)
  } catch {
    return `${answer.status} with a body that is not JSON: ${answer.text.slice(0, 80)}`
  }
  const record = body as { error?: { code?: unknown; message?: unknown }; error_code?: unknown; message?: unknown }
  const wellShaped =
    shape === 'v1'
      ? typeof record.error?.code === 'string' && typeof record.error.message === 'string'
      : typeof record.error_code === 'string' && typeof record.message === 'string'
  return wellShaped ? null : `${answer.status} not in the ${shape} error shape: ${answer.text.slice(0, 120)}`
}

async function runCorpus(baseUrl: string, token: string, corpus: readonly BadRequest[], shape: 'v1' | 'mlflow'): Promise<{ problems: string[]; statuses: Map<number, number> }> {
  const problems: string[] = []
  const statuses = new Map<number, number>()
  for (let start = 0; start < corpus.length; start += 4) {
    const batch = corpus.slice(start, start + 4)
    const answers = await Promise.all(batch.map((bad) => send(baseUrl, token, bad)))
    answers.forEach((answer, index) => {
      const bad = batch[index]!
      if ('failed' in answer) {
        problems.push(`${bad.what} → ${answer.failed}`)
        return
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      const problem = problemWith(answer, shape)
      if (problem) problems.push(`${bad.what} → ${problem}`)
    })
  }
  if (process.env.HYPERCUBE_CORPUS_REPORT) appendFileSync(process.env.HYPERCUBE_CORPUS_REPORT, problems.map((problem) => `${problem}\n`).join(''))
  return { problems, statuses }
}

function summary(statuses: Map<number, number>): string {
  return [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ')
}

describe('a generated bad-input corpus against every route of both APIs', () => {
  let app: TestCore & { url: string; token: string; client: import('../../src/client/hypercube-client').HypercubeClient }
  let ids: KnownIds

  async function mlflow(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${app.url}/api/2.0/mlflow/${path}`, {
      method,
      headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200)
    return (await response.json()) as Record<string, unknown>
  }

  beforeAll(async () => {
    // With its plugins, as the app runs: the plugin routes then answer for a name, not for a missing feature.
    app = await startApiTestCore({ plugins: true })
    const { client } = app
    const experiment = await client.createExperiment({ name: 'corpus' })
    const run = await client.startRun({ experiment_id: experiment.experiment_id, run_name: 'corpus-run' })
    await client.logMetrics(run.run_id, { loss: 0.5 }, { step: 1 })
    const artifact = await client.registerArtifact(run.run_id, { path: 'model/weights.bin', uri: 'file:///tmp/weights.bin' })
    const version = await client.registerModelVersion({ model_name: 'corpus-model', artifact_uri: 'file:///tmp/model', source_run_id: run.run_id })
    await client.setAlias('corpus-model', 'champion', version.version_id)

    const mlflowExperiment = await mlflow('POST', 'experiments/create', { name: 'corpus-mlflow' })
    const mlflowRun = (await mlflow('POST', 'runs/create', { experiment_id: mlflowExperiment.experiment_id, run_name: 'r' })) as { run: { info: { run_id: string } } }
    await mlflow('POST', 'registered-models/create', { name: 'corpus-mlflow-model' })
    const loggedModel = (await mlflow('POST', 'logged-models', { experiment_id: mlflowExperiment.experiment_id, name: 'm', source_run_id: mlflowRun.run.info.run_id })) as {
      model: { info: { model_id: string } }
    }
    await mlflow('POST', 'model-versions/create', { name: 'corpus-mlflow-model', source: `models:/${loggedModel.model.info.model_id}`, run_id: mlflowRun.run.info.run_id })

    ids = {
      experimentId: experiment.experiment_id,
      runId: run.run_id,
      versionId: version.version_id,
      artifactId: artifact.artifact_id,
      modelName: 'corpus-model',
      alias: 'champion',
      mlflowExperimentId: String(mlflowExperiment.experiment_id),
      mlflowRunId: mlflowRun.run.info.run_id,
      mlflowModelName: 'corpus-mlflow-model',
      loggedModelId: loggedModel.model.info.model_id
    }
  })

  afterAll(async () => {
    agent.destroy()
    await app?.close()
  })

  it('/v1 (every operation of the OpenAPI document): no 5xx, every refusal in the one error shape', async () => {
    const document = (await (await fetch(`${app.url}/v1/openapi.json`, { headers: { authorization: `Bearer ${app.token}` } })).json()) as Parameters<typeof v1Corpus>[0]
    const operations = Object.values(document.paths).reduce((count, methods) => count + Object.keys(methods).length, 0)
    expect(operations).toBeGreaterThan(30)
    const corpus = v1Corpus(document, ids)
    const { problems, statuses } = await runCorpus(app.url, app.token, corpus, 'v1')
    console.log(`/v1: ${corpus.length} bad requests over ${operations} operations → ${summary(statuses)}`)
    expect(problems, problems.slice(0, 40).join('\n')).toEqual([])
    // Still serving, and serving what was there before.
    expect((await app.client.getRun(ids.runId)).run_name).toBe('corpus-run')
  }, 300_000)

  it('the MLflow door (every call of the mlflow client): no 5xx, every refusal in MLflow\'s error shape', async () => {
    const endpoints = parseMlflowEndpoints(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mlflow', 'endpoints.txt'), 'utf8'))
    expect(endpoints.length).toBeGreaterThan(100)
    // Calls the door does not serve (traces, datasets, scorers: MLflow's GenAI side) answer
    // ENDPOINT_NOT_FOUND to the plausible request; the rest get the whole corpus.
    const served: BadRequest[] = []
    const notServed: string[] = []
    for (const endpoint of mlflowCorpus(endpoints, ids)) {
      const answer = await send(app.url, app.token, endpoint.baseline)
      if (!('failed' in answer) && answer.status === 404 && (JSON.parse(answer.text) as { error_code?: string }).error_code === 'ENDPOINT_NOT_FOUND') notServed.push(endpoint.baseline.what)
      else served.push(endpoint.baseline, ...endpoint.requests)
    }
    const { problems, statuses } = await runCorpus(app.url, app.token, served, 'mlflow')
    console.log(`MLflow door: ${served.length} bad requests over ${endpoints.length - notServed.length} calls served (${notServed.length} not served) → ${summary(statuses)}`)
    expect(problems, problems.slice(0, 40).join('\n')).toEqual([])
    expect((await mlflow('GET', `runs/get?run_id=${ids.mlflowRunId}`, undefined)).run).toBeDefined()
  }, 300_000)
})
