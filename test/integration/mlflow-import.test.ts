import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readMlflowFileStore } from '../../src/main/import/mlflow-file-store'
import { importMlflowCommand } from '../../src/main/import/mlflow-import-command'
import { IMPORT_TAG_PREFIX, MlflowImporter, type MlflowImportReport } from '../../src/main/import/mlflow-importer'
import { parseMetricValue, type MlflowStoreSnapshot } from '../../src/main/import/mlflow-records'
import { readMlflowRestStore } from '../../src/main/import/mlflow-rest-store'
import { readMlflowPostgresStore, readMlflowSqliteStore } from '../../src/main/import/mlflow-sql-store'
import { copyMlflowSqliteToPostgres } from '../support/mlflow-store-copy'
import { createTestDatabase, makeDataDir, startTestCore, type TestCore } from '../support/test-env'

// Real stores written by the mlflow 3.6 client, with what MlflowClient read back from them
// (test/fixtures/mlflow-stores/README.txt). Each is imported into a fresh core and read back
// through the MLflow door; every value is compared with the client's.
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'mlflow-stores')
const builtCli = join(import.meta.dirname, '..', '..', 'out', 'main', 'cli.js')

interface Expected {
  experiments: { experiment_id: string; name: string; lifecycle_stage: string; tags: Record<string, string> }[]
  runs: {
    run_id: string
    experiment_id: string
    run_name: string
    status: string
    start_time: number
    end_time: number | null
    lifecycle_stage: string
    user_id: string
    parent_run_id: string | null
    params: Record<string, string>
    tags: Record<string, string>
    latest_metrics: Record<string, string>
    metric_history: Record<string, [string, number, number][]>
    artifacts: { path: string; is_dir: boolean; file_size: number | null }[]
    dataset_inputs: { dataset: Record<string, string>; tags: Record<string, string> }[]
    model_outputs: { model_id: string; step: number }[]
  }[]
  logged_models: {
    model_id: string
    experiment_id: string
    name: string
    source_run_id: string
    params: Record<string, string>
    tags: Record<string, string>
    metrics: { key: string; value: string; step: number; timestamp: number }[]
    artifacts: { path: string; is_dir: boolean; file_size: number | null }[]
  }[]
  registered_models: {
    name: string
    description: string
    tags: Record<string, string>
    aliases: Record<string, number>
    versions: { version: number; source: string; run_id: string; status: string; current_stage: string; description: string | null; aliases: string[]; tags: Record<string, string>; model_id: string | null }[]
  }[]
}

/** storeRoot: where the store keeps <experiment>/<run>/artifacts and <experiment>/models/<id>/artifacts. */
/** The SQLite store copied into PostgreSQL once (MLflow's tables, types as MLflow declares them). */
let postgresStore: Promise<{ url: string; drop: () => Promise<void> }> | undefined
function postgresCopy(): Promise<{ url: string; drop: () => Promise<void> }> {
  postgresStore ??= createTestDatabase().then(async (database) => {
    await copyMlflowSqliteToPostgres(join(fixtures, 'sqlite', 'mlflow.db'), database.url)
    return database
  })
  return postgresStore
}
/**
 * A running MLflow server for the REST source: a Hypercube serving the SQLite store's content
 * through its MLflow door (the API a real MLflow server speaks), with its token.
 */
let restServer: Promise<TestCore> | undefined
const restSnapshots: MlflowStoreSnapshot[] = []
async function readFromRestServer(): Promise<MlflowStoreSnapshot> {
  restServer ??= startTestCore({ http: true }).then(async (server) => {
    const report = await new MlflowImporter(server.core.services, server.core.mlflow).import(await readMlflowSqliteStore(join(fixtures, 'sqlite', 'mlflow.db')))
    if (report.problems.length > 0) throw new Error(report.problems.join('; '))
    return server
  })
  const http = (await restServer).core.http!
  const snapshot = await readMlflowRestStore(http.url, { token: http.token })
  restSnapshots.push(snapshot)
  return snapshot
}

afterAll(async () => {
  if (postgresStore) await (await postgresStore).drop()
  for (const snapshot of restSnapshots) await snapshot.dispose?.()
  if (restServer) await (await restServer).close()
})

const stores: { kind: 'file' | 'sqlite' | 'postgresql' | 'rest'; read: () => Promise<MlflowStoreSnapshot>; expected: Expected; storeRoot: string }[] = [
  {
    kind: 'file',
    read: async () => readMlflowFileStore(join(fixtures, 'mlruns')),
    expected: JSON.parse(readFileSync(join(fixtures, 'expected-file.json'), 'utf8')) as Expected,
    storeRoot: join(fixtures, 'mlruns')
  },
  {
    kind: 'sqlite',
    read: async () => readMlflowSqliteStore(join(fixtures, 'sqlite', 'mlflow.db')),
    expected: JSON.parse(readFileSync(join(fixtures, 'expected-sqlite.json'), 'utf8')) as Expected,
    storeRoot: join(fixtures, 'sqlite', 'artifacts')
  },
  {
    // A database store keeps its artifacts elsewhere (here: a copy of the SQLite store's folder).
    kind: 'postgresql',
    read: async () => readMlflowPostgresStore((await postgresCopy()).url, join(fixtures, 'sqlite', 'artifacts')),
    expected: JSON.parse(readFileSync(join(fixtures, 'expected-sqlite.json'), 'utf8')) as Expected,
    storeRoot: join(fixtures, 'sqlite', 'artifacts')
  },
  {
    // A running server over REST: histories paged, artifacts downloaded through mlflow-artifacts.
    kind: 'rest',
    read: readFromRestServer,
    expected: JSON.parse(readFileSync(join(fixtures, 'expected-sqlite.json'), 'utf8')) as Expected,
    storeRoot: join(fixtures, 'sqlite', 'artifacts')
  }
]

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the door's JSON is read field by field below
type Json = any

function door(core: TestCore): (path: string, body?: unknown) => Promise<Json> {
  const http = core.core.http!
  return async (path, body) => {
    const response = await fetch(`${http.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${http.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`)
    return path.startsWith('/get-artifact') ? text : (JSON.parse(text) as Json)
  }
}

/** A value as the door spells it (number, or "NaN" / "Infinity" / "-Infinity") → a number. */
const doorValue = (value: number | string): number => (typeof value === 'number' ? value : parseMetricValue(value))

const withoutImportTags = (tags: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(tags).filter(([key]) => !key.startsWith(IMPORT_TAG_PREFIX)))
const tagMap = (list: { key: string; value: string }[] | undefined): Record<string, string> => Object.fromEntries((list ?? []).map(({ key, value }) => [key, value]))

/** Points as comparable text: Object.is-exact values (-0 and NaN kept), int64 steps as decimals. */
const pointText = (value: number, step: number | string, timestamp: number | string): string => `${Object.is(value, -0) ? '-0' : String(value)}@${String(step)}@${String(timestamp)}`

async function compareWithDoor(core: TestCore, expected: Expected, storeRoot: string): Promise<{ absorbed: number }> {
  const get = door(core)
  const experiments = (await get('/api/2.0/mlflow/experiments/search?max_results=1000&view_type=ALL')).experiments as Json[]
  const idByMlflowId = new Map<string, string>()
  for (const want of expected.experiments) {
    const got = experiments.find((experiment) => experiment.name === want.name)
    expect(got, want.name).toBeDefined()
    expect(got.lifecycle_stage).toBe(want.lifecycle_stage)
    expect(withoutImportTags(tagMap(got.tags))).toEqual(want.tags)
    idByMlflowId.set(want.experiment_id, got.experiment_id as string)
  }
  let absorbed = 0
  for (const want of expected.runs) {
    const search = await get('/api/2.0/mlflow/runs/search', { experiment_ids: [idByMlflowId.get(want.experiment_id)!], run_view_type: 'ALL', max_results: 1000 })
    expect((search.runs as Json[]).map((run) => run.info.run_id)).toContain(want.run_id)
    const { run } = await get(`/api/2.0/mlflow/runs/get?run_id=${want.run_id}`)
    expect(run.info).toMatchObject({ run_id: want.run_id, run_name: want.run_name, status: want.status, lifecycle_stage: want.lifecycle_stage, user_id: want.user_id })
    expect(Number(run.info.start_time)).toBe(want.start_time)
    if (want.end_time === null) expect(run.info.end_time ?? null).toBeNull()
    else expect(Number(run.info.end_time)).toBe(want.end_time)
    expect(tagMap(run.data.params)).toEqual(want.params)
    const tags = tagMap(run.data.tags)
    expect(withoutImportTags(tags)).toEqual(want.tags)
    expect(tags['mlflow.parentRunId'] ?? null).toBe(want.parent_run_id)
    const latest = Object.fromEntries((run.data.metrics as Json[] | undefined ?? []).map((metric) => [metric.key, doorValue(metric.value)]))
    expect(Object.keys(latest).sort()).toEqual(Object.keys(want.latest_metrics).sort())
    for (const [key, repr] of Object.entries(want.latest_metrics)) expect(Object.is(latest[key], parseMetricValue(repr)), `${want.run_name} ${key}: ${String(latest[key])} vs ${repr}`).toBe(true)
    for (const [key, history] of Object.entries(want.metric_history)) {
      const got = (await get(`/api/2.0/mlflow/metrics/get-history?run_id=${want.run_id}&metric_key=${encodeURIComponent(key)}&max_results=25000`)).metrics as Json[]
      const gotPoints = got.map((point) => pointText(doorValue(point.value), point.step, point.timestamp)).sort()
      const wantPoints = history.map(([repr, step, timestamp]) => pointText(parseMetricValue(repr), step, timestamp)).sort()
      // Hypercube stores a point MLflow holds twice, exactly alike, once (the report counts it);
      // points alike but for the value (dup_step_ts) are both kept.
      expect(gotPoints, `${want.run_name} ${key}`).toEqual([...new Set(wantPoints)])
      absorbed += wantPoints.length - new Set(wantPoints).size
    }
    expect((run.inputs?.dataset_inputs ?? []).map((input: Json) => ({ dataset: input.dataset, tags: tagMap(input.tags) }))).toEqual(want.dataset_inputs)
    expect((run.outputs?.model_outputs ?? []).map((output: Json) => ({ model_id: output.model_id, step: Number(output.step) }))).toEqual(want.model_outputs)
    const listed: { path: string; is_dir: boolean; file_size: number | null }[] = []
    const walk = async (path: string): Promise<void> => {
      const page = await get(`/api/2.0/mlflow/artifacts/list?run_id=${want.run_id}${path === '' ? '' : `&path=${encodeURIComponent(path)}`}`)
      for (const file of (page.files ?? []) as Json[]) {
        listed.push({ path: file.path, is_dir: file.is_dir, file_size: file.is_dir ? null : Number(file.file_size) })
        if (file.is_dir) await walk(file.path)
      }
    }
    await walk('')
    const sortByPath = <T extends { path: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.path < b.path ? -1 : 1))
    expect(sortByPath(listed)).toEqual(sortByPath(want.artifacts.map((file) => ({ ...file, file_size: file.is_dir ? null : file.file_size }))))
    if (want.artifacts.some((file) => file.path === 'config.json')) {
      const bytes = await get(`/get-artifact?run_id=${want.run_id}&path=config.json`)
      expect(bytes).toBe(readFileSync(join(storeRoot, want.experiment_id, want.run_id, 'artifacts', 'config.json'), 'utf8'))
    }
  }

  for (const want of expected.logged_models) {
    const { model } = await get(`/api/2.0/mlflow/logged-models/${want.model_id}`)
    expect(model.info).toMatchObject({ model_id: want.model_id, name: want.name, source_run_id: want.source_run_id })
    expect(tagMap(model.data?.params)).toEqual(want.params)
    expect(withoutImportTags(tagMap(model.info.tags))).toEqual(want.tags)
    expect((model.data?.metrics ?? []).map((metric: Json) => pointText(doorValue(metric.value), metric.step, metric.timestamp))).toEqual(
      want.metrics.map((metric) => pointText(parseMetricValue(metric.value), metric.step, metric.timestamp))
    )
    const files = ((await get(`/api/2.0/mlflow/logged-models/${want.model_id}/artifacts/directories`)).files ?? []) as Json[]
    // Sizes from the files themselves: the dump lists the logged model's MLmodel 6 bytes shorter
    // than the file the fixture holds (its artifact_path spells the store's absolute path).
    const modelRoot = join(storeRoot, want.experiment_id, 'models', want.model_id, 'artifacts')
    expect(files.map((file) => ({ path: file.path, is_dir: file.is_dir, file_size: file.is_dir ? null : Number(file.file_size) })).sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual(
      want.artifacts.map((file) => ({ ...file, file_size: file.is_dir ? null : statSync(join(modelRoot, file.path)).size }))
    )
  }

  for (const want of expected.registered_models) {
    const { registered_model: model } = await get(`/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(want.name)}`)
    expect(model.description).toBe(want.description)
    expect(tagMap(model.tags)).toEqual(want.tags)
    expect(Object.fromEntries((model.aliases ?? []).map((alias: Json) => [alias.alias, Number(alias.version)]))).toEqual(want.aliases)
    const versions = ((await get(`/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${want.name}'`)}`)).model_versions as Json[]).sort(
      (a, b) => Number(a.version) - Number(b.version)
    )
    expect(versions.map((version) => Number(version.version))).toEqual(want.versions.map((version) => version.version))
    for (const [i, wantVersion] of want.versions.entries()) {
      const got = versions[i]
      expect(got).toMatchObject({ run_id: wantVersion.run_id, status: wantVersion.status, current_stage: wantVersion.current_stage })
      // No description is "" in the door's JSON (proto3's unset string), None in the client's dump.
      expect(got.description || null).toBe(wantVersion.description ?? null)
      expect(tagMap(got.tags)).toEqual(wantVersion.tags)
      expect(got.aliases ?? []).toEqual(wantVersion.aliases)
      // A models:/ source is kept; a path into the old store now names the run's artifacts here.
      if (wantVersion.source.startsWith('models:/')) expect(got.source).toBe(wantVersion.source)
      else expect(got.source).toBe(`mlflow-artifacts:/${idByMlflowId.get(expected.runs.find((run) => run.run_id === wantVersion.run_id)!.experiment_id)}/${wantVersion.run_id}/artifacts/model_v1`)
      const modelId = wantVersion.model_id ?? (wantVersion.source.startsWith('models:/') ? wantVersion.source.slice('models:/'.length) : null)
      expect(got.model_id ?? null).toBe(modelId)
    }
    for (const [alias, version] of Object.entries(want.aliases)) {
      const { model_version: byAlias } = await get(`/api/2.0/mlflow/registered-models/alias?name=${encodeURIComponent(want.name)}&alias=${alias}`)
      expect(Number(byAlias.version)).toBe(version)
    }
  }
  return { absorbed }
}

async function counts(core: TestCore): Promise<unknown> {
  return (await core.core.status()).counts
}

describe.each(stores)('MLflow $kind store import', ({ read, expected, storeRoot }) => {
  let core: TestCore
  let report: MlflowImportReport

  beforeAll(async () => {
    core = await startTestCore({ http: true })
    report = await new MlflowImporter(core.core.services, core.core.mlflow).import(await read())
  })
  afterAll(async () => {
    await core?.close()
  })

  it('imports every experiment, run, point, param, tag, artifact and registry entry', async () => {
    expect(report.problems).toEqual([])
    expect(report.imported.runs).toBe(expected.runs.length)
    expect(report.imported.modelVersions).toBe(expected.registered_models.reduce((n, model) => n + model.versions.length, 0))
    expect(report.keptAsTags[`${IMPORT_TAG_PREFIX}artifact_uri`]).toBe(expected.runs.length)
  })

  it('reads back through the MLflow door with every value equal', async () => {
    const { absorbed } = await compareWithDoor(core, expected, storeRoot)
    expect(report.duplicatePointsAbsorbed).toBe(absorbed)
  })

  it('a second import skips everything and changes nothing', async () => {
    const before = await counts(core)
    const again = await new MlflowImporter(core.core.services, core.core.mlflow).import(await read())
    expect(again.imported).toEqual({ experiments: 0, runs: 0, points: 0, params: 0, tags: 0, artifacts: 0, datasetInputs: 0, loggedModels: 0, registeredModels: 0, modelVersions: 0, aliases: 0 })
    expect(again.skipped.runs.length).toBe(expected.runs.length)
    expect(again.skipped.experiments.length).toBe(expected.experiments.length)
    expect(again.skipped.registeredModels).toEqual(expected.registered_models.map((model) => model.name))
    expect(await counts(core)).toEqual(before)
    await compareWithDoor(core, expected, storeRoot)
  })
})

describe('MLflow import, dry run and CLI', () => {
  it('a run keeps the id it is given, and a taken id is refused; a logged model too', async () => {
    const core = await startTestCore({ http: false })
    try {
      const { runs, experiments, models } = core.core.services
      const experiment = await experiments.create({ name: 'given-ids' })
      const uuid = '0123456789abcdef0123456789abcdef'
      const run = await runs.startWithUuid({ experimentId: experiment.id, name: 'kept', uuid, startedAt: 1_700_000_000_000, userId: 'ana' })
      expect(run.uuid).toBe(uuid)
      expect((await runs.findByUuid(uuid))?.id).toBe(run.id)
      await expect(runs.startWithUuid({ experimentId: experiment.id, uuid })).rejects.toMatchObject({ code: 'conflict' })
      await expect(runs.startWithUuid({ experimentId: experiment.id, uuid: 'not-hex' })).rejects.toMatchObject({ code: 'invalid_argument' })
      const modelId = 'm-0123456789abcdef0123456789abcdef'
      expect(await models.createLoggedModel({ experimentId: experiment.id, name: 'm', modelId })).toBe(modelId)
      expect(await core.core.mlflow.loggedModelExperiment(modelId)).toBe(experiment.id)
    } finally {
      await core.close()
    }
  })

  it('a run that fails half-way is left out whole, and the next import brings it in', async () => {
    const core = await startTestCore({ http: false })
    try {
      const snapshot = readMlflowFileStore(join(fixtures, 'mlruns'))
      const broken = snapshot.experiments.flatMap((experiment) => experiment.runs).find((run) => run.name === 'baseline')!
      const goodParams = broken.params
      // Refused by the run rules after the run, before its points and artifacts, are written.
      broken.params = { ...goodParams, bad: 'no\u0000nul' }
      const first = await new MlflowImporter(core.core.services, core.core.mlflow).import(snapshot)
      // Version 1 is the baseline run's model: it waits for its run, and version 2 for its number.
      expect(first.problems).toEqual([
        expect.stringContaining(`run ${broken.runId} (baseline): not imported`),
        expect.stringContaining('demo-model version 1: not imported'),
        'demo-model version 2: not imported, as version 1 before it was not (it would have taken its number)'
      ])
      expect(first.imported.runs).toBe(7)
      expect(await core.core.services.runs.findByUuid(broken.runId)).toBeUndefined()
      broken.params = goodParams
      const second = await new MlflowImporter(core.core.services, core.core.mlflow).import(snapshot)
      expect(second.problems).toEqual([])
      expect(second.imported.runs).toBe(1)
      expect(second.imported.points).toBe(1001)
      expect(second.skipped.runs.length).toBe(7)
      expect(second.imported).toMatchObject({ modelVersions: 2, aliases: 1, registeredModels: 0 })
      expect((await core.core.mlflow.getModelVersionByAlias({ name: 'demo-model', alias: 'champion' })) as unknown).toMatchObject({ model_version: { version: '2' } })
      expect((await core.core.services.runs.findByUuid(broken.runId))?.name).toBe('baseline')
    } finally {
      await core.close()
    }
  })

  it('--dry-run reports what would be imported and writes nothing', async () => {
    const core = await startTestCore({ http: false })
    try {
      const before = await counts(core)
      const report = await new MlflowImporter(core.core.services, core.core.mlflow).import(readMlflowFileStore(join(fixtures, 'mlruns')), { dryRun: true })
      expect(report.imported.runs).toBe(8)
      expect(report.imported.modelVersions).toBe(2)
      expect(await counts(core)).toEqual(before)
      expect(await core.core.services.runs.findByUuid(stores[0]!.expected.runs[0]!.run_id)).toBeUndefined()
    } finally {
      await core.close()
    }
  })

  it('on a terminal, shows a progress bar with the ETA that reaches 100 %, then the report', async () => {
    const data = makeDataDir()
    const database = await createTestDatabase()
    let output = ''
    try {
      const code = await importMlflowCommand({ source: join(fixtures, 'mlruns'), dataDir: data.dir, databaseUrl: database.url, dryRun: false, tty: true, out: (text) => (output += text) })
      expect(code).toBe(0)
      const frames = output.split('\r\u001b[K').filter((frame) => frame.startsWith('['))
      expect(frames.length).toBeGreaterThan(3)
      expect(frames[0]).toMatch(/^\[#*-+\] +\d+% {2}ETA \d+:\d\d {2}.+: run /)
      expect(frames.at(-1)).toMatch(/^\[#{24}\] 100% {2}ETA 0:00 {2}/)
      // Percentages only grow, and the report follows the cleared bar.
      const percents = frames.map((frame) => Number(/(\d+)%/.exec(frame)![1]))
      expect(percents).toEqual([...percents].sort((a, b) => a - b))
      expect(output.split('\r\u001b[K').at(-1)).toMatch(/^Imported from .*mlruns:\n/)
    } finally {
      await database.drop()
      data.remove()
    }
  })

  it('`hypercube import-mlflow` imports a store and prints the report', async () => {
    if (!existsSync(builtCli)) throw new Error('out/main/cli.js is missing: run `npm run build` first (npm test does)')
    const data = makeDataDir()
    const database = await createTestDatabase()
    const run = async (args: string[]): Promise<{ code: number | null; output: string }> => {
      const child = spawn(process.execPath, [builtCli, 'import-mlflow', ...args, '--data-dir', data.dir, '--database-url', database.url])
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      return { code, output }
    }
    try {
      const first = await run([`sqlite:///${join(fixtures, 'sqlite', 'mlflow.db')}`, '--experiments', 'fixture-a/hpo'])
      expect(first.output).toMatch(/^Imported from .*mlflow\.db:$/m)
      expect(first.output).toMatch(/^ {2}experiments +1$/m)
      expect(first.output).toMatch(/^ {2}runs +3$/m)
      expect(first.output).toMatch(/^ {2}metric points +22$/m)
      expect(first.output).toMatch(/^Kept as tags:$/m)
      expect(first.code).toBe(0)
      const second = await run([join(fixtures, 'sqlite', 'mlflow.db'), '--experiments', 'fixture-a/hpo'])
      expect(second.output).toMatch(/^ {2}runs +0$/m)
      expect(second.output).toMatch(/^Skipped \(already here\): 1 experiments, 3 runs/m)
      expect(second.code).toBe(0)
      // The same store in PostgreSQL, its artifacts in a folder of their own.
      const fromPostgres = await run([(await postgresCopy()).url, '--artifacts', join(fixtures, 'sqlite', 'artifacts'), '--experiments', 'fixture-a/classification'])
      expect(fromPostgres.output).toMatch(/^Read postgresql store postgresql:\/\/[^@]*$/m)
      expect(fromPostgres.output).toMatch(/^ {2}runs +[1-9]\d*$/m)
      expect(fromPostgres.output).toMatch(/^ {2}artifacts +[1-9]\d*$/m)
      expect(fromPostgres.code).toBe(0)
    } finally {
      await database.drop()
      data.remove()
    }
  })
})
