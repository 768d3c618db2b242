import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * mlflow's own tracking tests run their server with a default artifact root, a local folder
 * (initialize_backend_stores(…, default_artifact_root=tmp_path.as_uri())): test_artifacts and
 * test_create_model_version_with_file_uri / _with_path_source depend on it. `hypercube serve
 * --default-artifact-root` is that option (the CLI's own test: serve-cli.test.ts).
 */

let env: TestCore
let root: string

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- MLflow answers are read field by field

async function call(method: 'GET' | 'POST', endpoint: string, body: Json = {}): Promise<{ status: number; json: Json }> {
  const server = env.core.http!
  const query = method === 'GET' ? `?${new URLSearchParams(body as Record<string, string>).toString()}` : ''
  const response = await fetch(`${server.url}/api/2.0/mlflow/${endpoint}${query}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(body)
  })
  return { status: response.status, json: (await response.json()) as Json }
}

async function ok(method: 'GET' | 'POST', endpoint: string, body: Json = {}): Promise<Json> {
  const answer = await call(method, endpoint, body)
  expect(answer.status, JSON.stringify(answer.json)).toBe(200)
  return answer.json
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'hypercube-artifact-root-'))
  env = await startTestCore({ http: true, mlflowDefaultArtifactRoot: pathToFileURL(root).href })
})

afterEach(async () => {
  await env?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('a default artifact root (serve --default-artifact-root)', () => {
  it('test_artifacts: an experiment keeps its artifacts at <root>/<experiment id>, its runs below it; Default at <root>/0', async () => {
    const experimentId = (await ok('POST', 'experiments/create', { name: 'Art In Fact' })).experiment_id as string
    const experiment = (await ok('GET', 'experiments/get', { experiment_id: experimentId })).experiment
    expect(experiment.artifact_location).toBe(`${pathToFileURL(root).href}/${experimentId}`)
    expect(new URL(experiment.artifact_location as string).pathname.split('/').at(-1)).toBe(experimentId)
    const run = (await ok('POST', 'runs/create', { experiment_id: experimentId })).run.info
    expect(run.artifact_uri).toBe(`${experiment.artifact_location}/${run.run_id}/artifacts`)

    expect((await ok('GET', 'experiments/get', { experiment_id: '0' })).experiment.artifact_location).toBe(`${pathToFileURL(root).href}/0`)
    // A location the client names still wins over the root.
    const explicit = (await ok('POST', 'experiments/create', { name: 'explicit', artifact_location: 's3://bucket/explicit' })).experiment_id as string
    expect((await ok('GET', 'experiments/get', { experiment_id: explicit })).experiment.artifact_location).toBe('s3://bucket/explicit')
  })

  it('test_create_model_version_with_file_uri and _with_path_source: the run’s own file: artifact folder is a valid source, only with its run_id', async () => {
    await ok('POST', 'registered-models/create', { name: 'test' })
    const experimentId = (await ok('POST', 'experiments/create', { name: 'test' })).experiment_id as string
    const { run_id: runId, artifact_uri: artifactUri } = (await ok('POST', 'runs/create', { experiment_id: experimentId })).run.info as { run_id: string; artifact_uri: string }
    expect(artifactUri.startsWith('file://')).toBe(true)
    for (const source of [artifactUri, `${artifactUri}/model`, `${artifactUri}/.`, `${artifactUri}/model/..`, artifactUri.slice('file://'.length)]) {
      const answer = await call('POST', 'model-versions/create', { name: 'test', source, run_id: runId })
      expect(answer.status, `${source}: ${JSON.stringify(answer.json)}`).toBe(200)
    }
    for (const body of [{ source: artifactUri }, { source: artifactUri.slice('file://'.length) }, { source: '/tmp', run_id: runId }]) {
      const answer = await call('POST', 'model-versions/create', { name: 'test', ...body })
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.json.message).toContain('To use a local path as a model version')
    }
  })
})
