import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * The model registry as mlflow's own end-to-end tests see it (../shared/mlflow/spec:
 * test_model_registry.py, and test_rest_tracking.py's test_create_model_version_*), over HTTP:
 * versions of runs the server never saw, MLflow's model-version source rules (its CVE fixes)
 * with its messages, the logged model's mlflow.modelVersions tag, and a version registered from
 * models:/m-… carrying the logged model's run and download location.
 */

let env: TestCore
let counter = 0
const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- MLflow answers are read field by field

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

async function call(method: Method, path: string, body: Json = {}): Promise<{ status: number; json: Json }> {
  const server = env.core.http!
  const query = method === 'GET' ? `?${new URLSearchParams(body as Record<string, string>).toString()}` : ''
  const response = await fetch(`${server.url}/api/2.0/mlflow/${path}${query}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(body)
  })
  return { status: response.status, json: (await response.json()) as Json }
}

async function ok(method: Method, path: string, body: Json = {}): Promise<Json> {
  const response = await call(method, path, body)
  expect(response.status, JSON.stringify(response.json)).toBe(200)
  return response.json
}

const createVersion = (body: Json) => call('POST', 'model-versions/create', body)

async function refusedSource(body: Json, status: number, message: string): Promise<void> {
  const response = await createVersion(body)
  expect(response.status, JSON.stringify(body)).toBe(status)
  expect(response.json.message).toContain(message)
}

/** An experiment (optionally with its artifact location) and a run in it. */
async function experimentWithRun(artifactLocation?: string): Promise<{ experimentId: string; runId: string; artifactUri: string }> {
  const experimentId = (await ok('POST', 'experiments/create', { name: unique('exp'), ...(artifactLocation ? { artifact_location: artifactLocation } : {}) }))
    .experiment_id as string
  const info = (await ok('POST', 'runs/create', { experiment_id: experimentId })).run.info
  return { experimentId, runId: info.run_id, artifactUri: info.artifact_uri }
}

/** An experiment whose artifacts are a local folder (file://), as mlflow's test server has. */
async function localExperimentWithRun(): Promise<{ experimentId: string; runId: string; artifactUri: string }> {
  const folder = join(env.dataDir, unique('local-artifacts'))
  mkdirSync(folder)
  return experimentWithRun(pathToFileURL(folder).href)
}

async function registeredModel(): Promise<string> {
  const name = unique('model')
  await ok('POST', 'registered-models/create', { name })
  return name
}

beforeAll(async () => {
  env = await startTestCore({ http: true })
})

afterAll(async () => {
  await env?.close()
})

describe('model versions of runs the server never saw (test_model_registry.py)', () => {
  it('stores run_id as given and answers it in create, get, search, latest versions, the registered model and by alias', async () => {
    const name = await registeredModel()
    // test_create_and_query_model_version_flow
    const created = await createVersion({ name, source: 'runs:/run_id/model', run_id: 'run_id_1', tags: [{ key: 'numeric value', value: '12345' }] })
    expect(created.status, JSON.stringify(created.json)).toBe(200)
    expect(created.json.model_version).toMatchObject({ name, version: '1', run_id: 'run_id_1', source: 'runs:/run_id/model' })
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/another_model', run_id: 'run_id_1' })
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/another_model', run_id: 'run_id_2' })

    expect((await ok('GET', 'model-versions/get', { name, version: '1' })).model_version.run_id).toBe('run_id_1')
    const byRun = await ok('GET', 'model-versions/search', { filter: "run_id = 'run_id_1'" })
    expect(byRun.model_versions.map((version: Json) => [version.version, version.run_id])).toEqual([
      ['2', 'run_id_1'],
      ['1', 'run_id_1']
    ])
    const bySource = await ok('GET', 'model-versions/search', { filter: "source_path = 'runs:/run_id/model'" })
    expect(bySource.model_versions.map((version: Json) => version.version)).toEqual(['1'])
    expect((await ok('GET', 'model-versions/get-download-uri', { name, version: '1' })).artifact_uri).toBe('runs:/run_id/model')

    // test_latest_models
    const latest = await ok('POST', 'registered-models/get-latest-versions', { name })
    expect(latest.model_versions.map((version: Json) => [version.version, version.run_id])).toEqual([['3', 'run_id_2']])
    expect((await ok('GET', 'registered-models/get', { name })).registered_model.latest_versions[0].run_id).toBe('run_id_2')

    // test_set_delete_registered_model_alias_and_get_model_version_by_alias_flow
    await ok('POST', 'registered-models/alias', { name, alias: 'test_alias', version: '1' })
    const byAlias = (await ok('GET', 'registered-models/alias', { name, alias: 'test_alias' })).model_version
    expect(byAlias).toMatchObject({ version: '1', run_id: 'run_id_1', aliases: ['test_alias'] })
    expect(byAlias).toEqual((await ok('GET', 'model-versions/get', { name, version: '1' })).model_version)
  })

  it('tags, stage and description of such a version; the registered model is updated by a new version and a stage, not a description (test_update_model_version_flow, test_set_delete_model_version_tag_flow)', async () => {
    const name = await registeredModel()
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/model', run_id: 'run_id_1' })
    const tags = async (): Promise<Record<string, string>> =>
      Object.fromEntries((((await ok('GET', 'model-versions/get', { name, version: '1' })).model_version.tags ?? []) as { key: string; value: string }[]).map((tag) => [tag.key, tag.value]))
    await ok('POST', 'model-versions/set-tag', { name, version: '1', key: 'key', value: 'value' })
    await ok('POST', 'model-versions/set-tag', { name, version: '1', key: 'numeric value', value: '12345' })
    await ok('POST', 'model-versions/set-tag', { name, version: '1', key: 'tag_key', value: '' })
    expect(await tags()).toEqual({ key: 'value', 'numeric value': '12345', tag_key: '' })
    await ok('DELETE', 'model-versions/delete-tag', { name, version: '1', key: 'key' })
    expect(await tags()).toEqual({ 'numeric value': '12345', tag_key: '' })

    const modelUpdated = async (): Promise<number> => (await ok('GET', 'registered-models/get', { name })).registered_model.last_updated_timestamp as number
    const afterCreate = await modelUpdated()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const staged = (await ok('POST', 'model-versions/transition-stage', { name, version: '1', stage: 'Staging', archive_existing_versions: false })).model_version
    expect(staged).toMatchObject({ current_stage: 'Staging', run_id: 'run_id_1' })
    const afterStage = await modelUpdated()
    expect(afterStage).toBeGreaterThan(afterCreate)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const described = (await ok('PATCH', 'model-versions/update', { name, version: '1', description: 'This is a test model' })).model_version
    expect(described).toMatchObject({ description: 'This is a test model', run_id: 'run_id_1' })
    expect(described.last_updated_timestamp).toBeGreaterThan(staged.last_updated_timestamp)
    expect(await modelUpdated()).toBe(afterStage)
  })

  it('answers the newest version of each stage asked for (test_latest_models)', async () => {
    const name = await registeredModel()
    const stages = ['Archived', 'Production', 'Archived', 'Production', 'Staging', 'Staging', 'None']
    for (const [index, stage] of stages.entries()) {
      const version = (await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/model', run_id: 'run_id' })).model_version
      expect(version.version).toBe(String(index + 1))
      if (stage !== 'None') await ok('POST', 'model-versions/transition-stage', { name, version: version.version, stage, archive_existing_versions: false })
    }
    const latest = async (body: Json): Promise<Record<string, string>> =>
      Object.fromEntries((((await ok('POST', 'registered-models/get-latest-versions', { name, ...body })).model_versions ?? []) as Json[]).map((version) => [version.current_stage, version.version]))
    expect(await latest({ stages: ['None'] })).toEqual({ None: '7' })
    expect(await latest({ stages: ['Staging'] })).toEqual({ Staging: '6' })
    expect(await latest({ stages: ['None', 'Staging'] })).toEqual({ None: '7', Staging: '6' })
    const all = { Production: '4', Staging: '6', Archived: '3', None: '7' }
    expect(await latest({})).toEqual(all)
    expect(await latest({ stages: [] })).toEqual(all)
  })

  it('copies a version (models:/name/version): same run_id, and the download URI of the version copied', async () => {
    // test_copy_model_version_flow: the client sends the copy as a version whose source is models:/<name>/1
    const name = await registeredModel()
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/model', run_id: 'run_id_1', description: 'dummy' })
    const copy = (await ok('POST', 'model-versions/create', { name, source: `models:/${name}/1`, run_id: 'run_id_1', description: 'dummy' })).model_version
    expect(copy).toMatchObject({ version: '2', source: `models:/${name}/1`, run_id: 'run_id_1', description: 'dummy' })
    expect((await ok('GET', 'model-versions/get-download-uri', { name, version: '2' })).artifact_uri).toBe('runs:/run_id/model')
  })

  it('names a version by an integer (test_get_model_version) and never reuses a deleted number (test_delete_model_version_flow)', async () => {
    const name = await registeredModel()
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/model', run_id: 'run_id_1' })
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/another_model', run_id: 'run_id_1' })
    await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id_2/a/b/c', run_id: 'run_id_2' })
    const bad = await call('GET', 'model-versions/get', { name, version: 'something not correct' })
    expect(bad).toEqual({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE', message: "Parameter 'version' must be an integer, got 'something not correct'." } })

    await ok('DELETE', 'model-versions/delete', { name, version: '1' })
    for (const [method, path, body] of [
      ['DELETE', 'model-versions/delete', { name, version: '1' }],
      ['PATCH', 'model-versions/update', { name, version: '1', description: 'Test model' }],
      ['POST', 'model-versions/transition-stage', { name, version: '1', stage: 'Staging' }]
    ] as const) {
      const gone = await call(method, path, body)
      expect(gone.status, path).toBe(404)
      expect(gone.json.message).toMatch(/Model Version .+ not found/)
    }
    await ok('DELETE', 'model-versions/delete', { name, version: '3' })
    expect((await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id_2/a/b/c', run_id: 'run_id_2' })).model_version.version).toBe('4')
    const listed = await ok('GET', 'model-versions/search', { filter: `name = '${name}'` })
    expect(listed.model_versions.map((version: Json) => version.version).sort()).toEqual(['2', '4'])
  })

  it('never reuses a number on the Hypercube side either (one rule, in register_ml_model_version)', async () => {
    const name = unique('numbered')
    const models = env.core.services.models
    await models.registerVersion({ modelName: name, artifactUri: '/m/1' })
    const second = await models.registerVersion({ modelName: name, artifactUri: '/m/2' })
    await models.deleteVersion(second.id)
    expect((await models.registerVersion({ modelName: name, artifactUri: '/m/3' })).version).toBe('3')
  })

  it('links Hypercube lineage only to a run that exists; /v1 shows a version without one', async () => {
    const name = await registeredModel()
    const { runId } = await experimentWithRun()
    const unknown = (await ok('POST', 'model-versions/create', { name, source: 'runs:/x/model', run_id: 'never-seen' })).model_version
    const known = (await ok('POST', 'model-versions/create', { name, source: `runs:/${runId}/model`, run_id: runId })).model_version
    expect(unknown.run_id).toBe('never-seen')
    expect(known.run_id).toBe(runId)

    const [first, second] = await env.core.services.models.listVersions(name)
    const byVersion = new Map([first!, second!].map((version) => [version.version, version]))
    expect(byVersion.get('1')!.sourceRunId).toBeNull()
    const run = await env.core.services.runs.findByUuid(runId)
    expect(byVersion.get('2')!.sourceRunId).toBe(run!.id)

    const server = env.core.http!
    const v1 = await fetch(`${server.url}/v1/ml/models/versions/${byVersion.get('1')!.id}`, { headers: { authorization: `Bearer ${server.token}` } })
    expect(v1.status).toBe(200)
    expect(await v1.json()).toMatchObject({ model_name: name, version: '1', source_run_id: null, artifact_uri: 'runs:/x/model' })
  })
})

describe('model-version search order and paging (test_search_model_versions_*)', () => {
  type Listed = { name: string; version: string; last_updated_timestamp: number }

  /** Every page of a search, following next_page_token. */
  async function allPages(query: Json): Promise<Listed[]> {
    const listed: Listed[] = []
    let token: string | undefined
    do {
      const page = await ok('GET', 'model-versions/search', { ...query, ...(token ? { page_token: token } : {}) })
      listed.push(...((page.model_versions ?? []) as Listed[]))
      token = page.next_page_token as string | undefined
    } while (token)
    return listed
  }

  it('defaults to the newest update first, then name, then version newest first; orders by name or version_number with the others as tie-breakers', async () => {
    const prefix = unique('SearchMV').replace(/-/g, '')
    const names = Array.from({ length: 6 }, (_, index) => `${prefix}${String(index).padStart(3, '0')}`)
    for (const name of names) await ok('POST', 'registered-models/create', { name })
    const created: Listed[] = []
    for (const name of [...names, ...names.slice(0, 3)]) {
      created.push((await ok('POST', 'model-versions/create', { name, source: 'runs:/run_id/model', run_id: 'run_id' })).model_version as Listed)
    }
    const ids = (listed: Listed[]): string[] => listed.map((version) => `${version.name}/${version.version}`)
    const filter = `name LIKE '${prefix}%'`
    const newestFirst = [...created].sort(
      (a, b) => b.last_updated_timestamp - a.last_updated_timestamp || a.name.localeCompare(b.name) || Number(b.version) - Number(a.version)
    )
    expect(ids(await allPages({ filter }))).toEqual(ids(newestFirst))
    for (const maxResults of ['1', '4', '100']) expect(ids(await allPages({ filter, max_results: maxResults }))).toEqual(ids(newestFirst))

    const byNameDesc = [...created].sort((a, b) => b.name.localeCompare(a.name) || Number(b.version) - Number(a.version))
    expect(ids(await allPages({ filter, order_by: 'name DESC' }))).toEqual(ids(byNameDesc))
    const byVersionDesc = [...created].sort((a, b) => Number(b.version) - Number(a.version) || a.name.localeCompare(b.name))
    expect(ids(await allPages({ filter, order_by: 'version_number DESC' }))).toEqual(ids(byVersionDesc))

    // test_search_model_versions_filter_string: LIKE is case-sensitive, ILIKE is not
    const ilike = await allPages({ filter: `name ILIKE '${prefix.toLowerCase()}%00%'` })
    expect(ids(ilike)).toEqual(ids(newestFirst.filter((version) => version.name.slice(prefix.length).includes('00'))))
    expect(await allPages({ filter: `name LIKE '${prefix.toLowerCase()}%00%'` })).toEqual([])
    expect(ids(await allPages({ filter: `name = '${names[3]!}'` }))).toEqual([`${names[3]!}/1`])
  })
})

describe('model-version sources (test_rest_tracking.py)', () => {
  it('a local path is accepted only inside the artifact folder of the run named by run_id (test_create_model_version_with_path_source)', async () => {
    const name = await registeredModel()
    const { runId, artifactUri } = await localExperimentWithRun()
    expect(artifactUri.startsWith('file://')).toBe(true)
    const path = artifactUri.slice('file://'.length)
    expect((await createVersion({ name, source: path, run_id: runId })).status).toBe(200)
    await refusedSource({ name, source: path }, 400, 'To use a local path as a model version')
    await refusedSource({ name, source: '/tmp', run_id: runId }, 400, 'To use a local path as a model version')
  })

  it('a file: URI likewise; a file: URI naming another host is not a valid remote uri (test_create_model_version_with_file_uri)', async () => {
    const name = await registeredModel()
    const { runId, artifactUri } = await localExperimentWithRun()
    for (const source of [artifactUri, `${artifactUri}/model`, `${artifactUri}/.`, `${artifactUri}/model/..`]) {
      const response = await createVersion({ name, source, run_id: runId })
      expect(response.status, source).toBe(200)
    }
    await refusedSource({ name, source: artifactUri }, 400, 'To use a local path as a model version')
    await refusedSource({ name, source: 'file:///tmp' }, 400, 'To use a local path as a model version')
    const remote = await createVersion({ name, source: 'file://123.456.789.123/path/to/source', run_id: runId })
    // MLflow answers 500 here; Hypercube never answers a client's mistake with a 5xx (the client
    // would retry it), so: 400 with MLflow's message.
    expect(remote.status).toBe(400)
    expect(remote.json).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('is not a valid remote uri') })
  })

  it('a local path is refused when the run keeps its artifacts in the server (mlflow-artifacts:), or the run is unknown', async () => {
    const name = await registeredModel()
    const { runId, artifactUri } = await experimentWithRun()
    expect(artifactUri.startsWith('mlflow-artifacts:')).toBe(true)
    await refusedSource({ name, source: join(env.dataDir, 'artifacts'), run_id: runId }, 400, 'To use a local path as a model version')
    await refusedSource({ name, source: '/tmp/model', run_id: 'run_id_1' }, 404, 'Run with id=run_id_1 not found')
  })

  it('a non-local source must be an absolute path without relative references (test_create_model_version_with_non_local_source)', async () => {
    const name = await registeredModel()
    const { experimentId, runId, artifactUri } = await localExperimentWithRun()
    expect((await createVersion({ name, source: artifactUri.slice('file://'.length), run_id: runId })).status).toBe(200)
    for (const source of [
      'mlflow-artifacts:/models',
      'mlflow-artifacts:/models/',
      'mlflow-artifacts:/models///',
      'mlflow-artifacts:/models/foo///bar',
      'mlflow-artifacts://host:9000/models',
      'mlflow-artifacts://host:9000/models/artifact/..../'
    ]) {
      const response = await createVersion({ name, source, run_id: runId })
      expect(response.status, `${source}: ${JSON.stringify(response.json)}`).toBe(200)
    }
    for (const source of [
      'mlflow-artifacts://host:9000/models/../../../',
      'http://host:9000/models/../../../',
      'https://host/api/2.0/mlflow-artifacts/artifacts/../../../',
      's3a://my_bucket/api/2.0/mlflow-artifacts/artifacts/../../../',
      'ftp://host:8888/api/2.0/mlflow-artifacts/artifacts/../../../',
      'mlflow-artifacts://host:9000/models/..%2f..%2fartifacts',
      'mlflow-artifacts://host:9000/models/artifact%00'
    ]) {
      await refusedSource({ name, source, run_id: runId }, 400, 'If supplying a source as an http, https,')
    }
    const dbfs = `dbfs:/${runId}/artifacts/a%3f/../../../../../../../../../../`
    await refusedSource({ name, source: dbfs, run_id: runId }, 400, 'Invalid model version source')
    const refusal = await createVersion({ name, source: dbfs, run_id: runId })
    expect(refusal.json.error_code).toBe('INVALID_PARAMETER_VALUE')
    expect(refusal.json.message).toBe(
      `Invalid model version source: '${dbfs}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`
    )

    const model = (await ok('POST', 'logged-models', { experiment_id: experimentId })).model.info
    expect((await createVersion({ name, source: model.artifact_uri, model_id: model.model_id })).status).toBe(200)
    expect((await createVersion({ name, source: `models:/${model.model_id}`, model_id: model.model_id })).status).toBe(200)
    await refusedSource({ name, source: 'file:///path/to/model', model_id: model.model_id }, 400, 'To use a local path as a model version source, the model_id request parameter')
  })

  it('prompts (mlflow.prompt.is_prompt) are not checked as model sources', async () => {
    const name = await registeredModel()
    const response = await createVersion({ name, source: '/anything/at/all', tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] })
    expect(response.status, JSON.stringify(response.json)).toBe(200)
  })
})

describe('versions of logged models (MLflow 3)', () => {
  it('list themselves in the logged model tag mlflow.modelVersions (test_create_model_version_model_id)', async () => {
    const name = await registeredModel()
    const { experimentId } = await experimentWithRun()
    const model = (await ok('POST', 'logged-models', { experiment_id: experimentId })).model.info
    await ok('POST', 'model-versions/create', { name, source: model.artifact_uri, model_id: model.model_id })
    const tagsOf = async (): Promise<Record<string, string>> =>
      Object.fromEntries(((await ok('GET', `logged-models/${model.model_id as string}`)).model.info.tags as { key: string; value: string }[]).map((tag) => [tag.key, tag.value]))
    expect((await tagsOf())['mlflow.modelVersions']).toBe(`[{"name": "${name}", "version": 1}]`)
    await ok('POST', 'model-versions/create', { name, source: model.artifact_uri, model_id: model.model_id })
    expect((await tagsOf())['mlflow.modelVersions']).toBe(`[{"name": "${name}", "version": 1}, {"name": "${name}", "version": 2}]`)
  })

  it('a version of an unknown logged model is refused before anything is written', async () => {
    const name = await registeredModel()
    const missing = 'm-0123456789abcdef0123456789abcdef'
    await refusedSource({ name, source: 'mlflow-artifacts:/1/models/x/artifacts', model_id: missing }, 404, `Logged model with ID '${missing}' not found.`)
    expect((await call('GET', 'model-versions/get', { name, version: '1' })).status).toBe(404)
  })

  it('a models:/ source naming nothing is refused with MLflow\'s words as a 400, not MLflow\'s 500 (the client would retry a 5xx in vain)', async () => {
    const name = await registeredModel()
    await refusedSource({ name, source: 'models:/m-0123456789abcdef0123456789abcdef' }, 400, "Unable to fetch model from model URI source artifact location 'models:/m-0123456789abcdef0123456789abcdef'.Error: Logged model with ID 'm-0123456789abcdef0123456789abcdef' not found.")
    await refusedSource({ name, source: 'models:/no-such-model/3' }, 400, "Unable to fetch model from model URI source artifact location 'models:/no-such-model/3'.Error: Model Version (name=no-such-model, version=3) not found")
    expect((await call('GET', 'model-versions/get', { name, version: '1' })).status).toBe(404)
  })

  it('registered from models:/m-…, a version carries the logged model run and downloads from its artifact location (register_model)', async () => {
    const name = await registeredModel()
    const { experimentId, runId } = await experimentWithRun()
    const model = (await ok('POST', 'logged-models', { experiment_id: experimentId, source_run_id: runId })).model.info
    const version = (await ok('POST', 'model-versions/create', { name, source: `models:/${model.model_id as string}` })).model_version
    expect(version).toMatchObject({ source: `models:/${model.model_id as string}`, run_id: runId })
    expect((await ok('GET', 'model-versions/get', { name, version: version.version })).model_version.run_id).toBe(runId)
    expect((await ok('GET', 'model-versions/get-download-uri', { name, version: version.version })).artifact_uri).toBe(model.artifact_uri)
  })
})
