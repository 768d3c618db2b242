import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricPoint } from '../../src/shared/domain'
import type { CoreServices } from '../../src/main/core'
import { BundleExporter } from '../../src/main/bundle/bundle-exporter'
import { BundleImporter, COPY_OF_TAG, type BundleImportReport } from '../../src/main/bundle/bundle-importer'
import { BundleError } from '../../src/main/bundle/bundle-format'
import { rewriteBundle } from '../support/bundle-files'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * Review bundles (issue 15 part 1): an experiment with runs, metric points that are hard to keep
 * exact, checkpoints, artifacts and a model with versions, approvals and deployments is exported
 * from one database and imported into another, and every value is compared.
 */

const T0 = 1_700_000_000_000
const BIG_STEP = 2n ** 62n + 7n // past 2^53: a double would lose it
const exact = (value: number): string => (Object.is(value, -0) ? '-0' : String(value))
const pointKey = (p: MetricPoint): string => `${p.key}|${p.kind}|${p.step}|${exact(p.value)}|${p.timestamp}|${p.epoch}`

let source: TestCore
let work: string
let bundle: string
let runUuids: string[]

async function seed(services: CoreServices): Promise<string[]> {
  const experiment = await services.experiments.create({ name: 'bundle-src', description: 'the sweep to review', tags: { team: 'vision' }, hyperparameters: { optimizer: 'adam' } })
  const a = await services.runs.start({
    experimentId: experiment.id,
    name: 'a-exact',
    hyperparameters: { lr: 0.001, layers: 3, nested: { dropout: 0.5 } },
    randomSeed: (2n ** 60n + 1n).toString(),
    gitCommit: 'abcdef1234567',
    tags: { 'mlflow.note.content': '# Notes\nsee **this**', owner: 'ana' },
    startedAt: T0
  })
  // Values that are hard to keep exact, int64 steps on both sides of 2^53, epochs and kinds.
  const awkward: MetricPoint[] = [
    { key: 'loss', value: Number.NaN, step: -5n, epoch: null, timestamp: T0, kind: 'train' },
    { key: 'loss', value: Number.POSITIVE_INFINITY, step: 0n, epoch: 0, timestamp: T0 + 1, kind: 'train' },
    { key: 'loss', value: Number.NEGATIVE_INFINITY, step: 1n, epoch: 0, timestamp: T0 + 2, kind: 'train' },
    { key: 'loss', value: -0, step: 2n, epoch: 1, timestamp: T0 + 3, kind: 'train' },
    { key: 'loss', value: 5e-324, step: 3n, epoch: 1, timestamp: T0 + 4, kind: 'train' },
    { key: 'loss', value: 0.1 + 0.2, step: BIG_STEP, epoch: 2, timestamp: T0 + 5, kind: 'train' },
    { key: 'val/acc', value: 0.5, step: 9_007_199_254_740_993n, epoch: null, timestamp: T0 + 6, kind: 'validation' },
    { key: 'val/acc', value: 0.75, step: 9_007_199_254_740_994n, epoch: null, timestamp: T0 + 7, kind: 'validation' }
  ]
  await services.runs.logValidatedMetrics(a.id, awkward)
  // A long series, written in several batches, so the export crosses its reading windows.
  for (let batch = 0; batch < 3; batch++) {
    const points: MetricPoint[] = []
    for (let i = 0; i < 4_000; i++) {
      const step = BigInt(batch * 4_000 + i)
      points.push({ key: 'lr_trace', value: Math.sin(Number(step) / 100) * 1e-3, step, epoch: Number(step / 1000n), timestamp: T0 + Number(step) * 10, kind: 'system' })
    }
    await services.runs.logValidatedMetrics(a.id, points)
  }
  // Two points at one step that differ only in value are both kept.
  await services.runs.logValidatedMetrics(a.id, [
    { key: 'dup', value: 1, step: 7n, epoch: null, timestamp: T0, kind: 'test' },
    { key: 'dup', value: 2, step: 7n, epoch: null, timestamp: T0, kind: 'test' }
  ])
  await services.runs.saveCheckpoint({ runId: a.id, path: 'ckpt/epoch-1.pt', step: '9007199254740993', epoch: 1, metricsSnapshot: { loss: 0.3 }, isBest: true, sizeBytes: 1234, blake3: 'a'.repeat(64) })
  await services.runs.saveCheckpoint({ runId: a.id, path: 'ckpt/epoch-0.pt', step: 10, epoch: 0, metricsSnapshot: {}, isBest: false })
  await services.artifacts.putFile(a.id, 'config.json', Buffer.from('{"lr": 0.001}\n'), { kind: 'config', metadata: { format: 'json' } })
  await services.artifacts.putFile(a.id, 'model/weights.bin', Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)), { kind: 'model' })
  await services.artifacts.register({ runId: a.id, path: 'dataset', uri: 's3://bucket/data/train.parquet', kind: 'dataset', sizeBytes: 1_000_000, blake3: 'b'.repeat(64), metadata: { rows: 10 } })
  await services.runs.complete({
    runId: a.id,
    status: 'completed',
    finalMetrics: { accuracy: 0.93, loss: 0.12 },
    resources: { gpuHours: 1.5, cpuHours: 12.25, peakMemoryBytes: 17_179_869_184 },
    logs: 'epoch 0 ok\nepoch 1 ok\n'
  })

  const b = await services.runs.start({ experimentId: experiment.id, name: 'b-failed', hyperparameters: { lr: 0.1 }, startedAt: T0 + 1000 })
  await services.runs.logValidatedMetrics(b.id, [{ key: 'loss', value: 9.5, step: 0n, epoch: null, timestamp: T0 + 1000, kind: 'train' }])
  await services.runs.complete({ runId: b.id, status: 'failed', errorMessage: 'CUDA out of memory', stackTrace: 'Traceback…\n  File "train.py", line 3' })
  const c = await services.runs.start({ experimentId: experiment.id, name: 'c-running', startedAt: T0 + 2000 })
  const d = await services.runs.start({ experimentId: experiment.id, name: 'd-pending', status: 'pending' })

  // A model with lineage, approvals, a rejection, a deprecation, a canary, a promotion and a rollback.
  const v1 = await services.models.registerVersion({ modelName: 'bundle-model', version: '1', artifactUri: 'runs:/a/model', sourceRunId: a.id, performanceMetrics: { accuracy: 0.9 }, artifactBlake3: 'c'.repeat(64), artifactSizeBytes: 70_000, description: 'first', tags: { stage: 'dev' }, createdBy: 'ana' })
  const v2 = await services.models.registerVersion({ modelName: 'bundle-model', version: '2', artifactUri: 'runs:/a/model2', sourceRunId: a.id, parentVersionId: v1.id, performanceMetrics: { accuracy: 0.93 }, createdBy: 'ana' })
  const v3 = await services.models.registerVersion({ modelName: 'bundle-model', version: '3', artifactUri: 'runs:/b/model', sourceRunId: b.id, parentVersionId: v2.id })
  await services.models.approve({ versionId: v1.id, notes: 'good enough', actor: 'lead' })
  await services.models.deploy({ modelName: 'bundle-model', versionId: v1.id, target: 'production', strategy: 'blue-green', sla: { latencyP99Ms: 150, throughputRps: null, availabilityPercent: 99.9 }, actor: 'ops' })
  await services.models.approve({ versionId: v2.id, notes: 'better', actor: 'lead' })
  await services.models.deploy({ modelName: 'bundle-model', versionId: v2.id, target: 'production', strategy: 'canary', canaryTrafficPercent: 10, actor: 'ops' })
  await services.models.promoteCanary({ modelName: 'bundle-model', target: 'production', actor: 'ops', notes: 'looks fine' })
  await services.models.deploy({ modelName: 'bundle-model', versionId: v1.id, target: 'staging', actor: 'ops' })
  await services.models.deploy({ modelName: 'bundle-model', versionId: v2.id, target: 'staging', actor: 'ops' })
  await services.models.rollback({ modelName: 'bundle-model', target: 'staging', actor: 'ops', notes: 'regression' })
  await services.models.reject({ versionId: v3.id, notes: 'overfits', actor: 'lead' })
  await services.models.setAlias({ modelName: 'bundle-model', alias: 'champion', versionId: v2.id })
  const v4 = await services.models.registerVersion({ modelName: 'bundle-model', version: '4', artifactUri: 'runs:/a/model4', sourceRunId: a.id, parentVersionId: v2.id })
  await services.models.approve({ versionId: v4.id, notes: 'ok for now', actor: 'lead' })
  await services.models.deprecate({ versionId: v4.id, notes: 'superseded', actor: 'auditor' })
  return [a.uuid, b.uuid, c.uuid, d.uuid]
}

/** Everything the bundle carries, as the services read it, without ids and the times the services set. */
async function snapshot(services: CoreServices, uuids: readonly string[]): Promise<unknown> {
  const experiment = (await services.experiments.findByName('bundle-src'))!
  const runs = []
  for (const uuid of uuids) {
    const found = await services.runs.findByUuid(uuid)
    if (!found) {
      runs.push({ uuid, missing: true })
      continue
    }
    const run = await services.runs.getWithMetrics(found.id)
    const metrics: Record<string, string[]> = {}
    for (const summary of run.metrics) {
      metrics[summary.key] = (await services.runs.metricHistory({ runId: run.id, key: summary.key, limit: 1_000_000 })).map(pointKey)
    }
    const files = (await services.artifacts.listFiles(run.id, '', true)).filter((file) => !file.isDirectory)
    const bytes: Record<string, string> = {}
    for (const file of files) {
      const opened = await services.artifacts.openFile(run.id, file.path)
      const chunks: Buffer[] = []
      for await (const chunk of opened.stream) chunks.push(chunk as Buffer)
      bytes[file.path] = Buffer.concat(chunks).toString('base64')
    }
    runs.push({
      uuid: run.uuid,
      experiment: run.experimentId === experiment.id,
      name: run.name,
      status: run.status,
      hyperparameters: run.hyperparameters,
      tags: run.tags,
      finalMetrics: run.finalMetrics,
      randomSeed: run.randomSeed,
      gitCommit: run.gitCommit,
      resources: run.resources,
      logs: run.logs,
      errorMessage: run.errorMessage,
      stackTrace: run.stackTrace,
      startedAt: run.startedAt,
      completedAt: run.completedAt,
      summaries: run.metrics.map((m) => ({ ...m, lastValue: exact(m.lastValue) })),
      metrics,
      checkpoints: (await services.runs.listCheckpoints(run.id)).map(({ id: _id, runId: _run, createdAt: _at, ...rest }) => rest),
      artifacts: (await services.artifacts.list(run.id)).map(({ id: _id, runId: _run, createdAt: _at, verifiedAt: _v, ...rest }) => rest).sort((x, y) => (x.path < y.path ? -1 : 1)),
      bytes
    })
  }
  const versions = await services.models.listVersions('bundle-model')
  const numberOf = (id: number | null): string | null => (id === null ? null : (versions.find((v) => v.id === id)?.version ?? `?${id}`))
  const runUuid = async (id: number | null): Promise<string | null> => (id === null ? null : (await services.runs.get(id)).uuid)
  return {
    experiment: { name: experiment.name, description: experiment.description, tags: experiment.tags, hyperparameters: experiment.hyperparameters, status: experiment.status },
    runs,
    versions: await Promise.all(
      versions.map(async (v) => ({
        version: v.version,
        parent: numberOf(v.parentVersionId),
        sourceRun: await runUuid(v.sourceRunId),
        artifactUri: v.artifactUri,
        artifactSizeBytes: v.artifactSizeBytes,
        artifactBlake3: v.artifactBlake3,
        performanceMetrics: v.performanceMetrics,
        description: v.description,
        tags: v.tags,
        approvalStatus: v.approvalStatus,
        approvalNotes: v.approvalNotes,
        reviewedBy: v.reviewedBy,
        deprecatedBy: v.deprecatedBy,
        deprecationNotes: v.deprecationNotes,
        isDeployed: v.isDeployed,
        deploymentTarget: v.deploymentTarget,
        aliases: v.aliases,
        createdBy: v.createdBy
      }))
    ),
    deployments: (await services.models.listDeployments('bundle-model')).map((d) => ({
      target: d.target,
      current: numberOf(d.currentVersionId),
      previous: numberOf(d.previousVersionId),
      strategy: d.strategy,
      canary: d.canaryTrafficPercent,
      sla: d.sla,
      healthUrl: d.health.url,
      deployedBy: d.deployedBy
    })),
    history: (await services.models.deploymentHistory({ modelName: 'bundle-model' })).map((e) => ({
      target: e.target,
      action: e.action,
      from: numberOf(e.fromVersionId),
      to: numberOf(e.toVersionId),
      strategy: e.strategy,
      canary: e.canaryTrafficPercent,
      actor: e.actor,
      notes: e.notes
    }))
  }
}

async function counts(core: TestCore): Promise<unknown> {
  const status = await core.core.status()
  return { ...status.counts, models: (await core.core.services.models.listModels()).length }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hypercube-bundle-'))
  source = await startTestCore({ http: false })
  runUuids = await seed(source.core.services)
  bundle = join(work, 'review.hcube')
  // Small windows, batches and history pages: the export crosses every edge with few points.
  const exporter = new BundleExporter(source.core.services, source.core.mlflow, { windowPoints: 1_000, batchRows: 700, historyLimit: 2_500 })
  const plan = await exporter.plan({ experiment: 'bundle-src', artifacts: true })
  expect(plan.totals).toMatchObject({ runs: 4, artifactFiles: 2 })
  const result = await exporter.write(plan, bundle)
  expect(result.points).toBe(8 + 12_000 + 2 + 1)
}, 120_000)

afterAll(async () => {
  await source?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('review bundles', () => {
  it('round-trips an experiment, its runs, every metric point exactly, checkpoints, artifacts and a model with its versions, approvals and deployments', async () => {
    const target = await startTestCore({ http: false })
    try {
      const report = await new BundleImporter(target.core.services).import(bundle)
      expect(report.problems).toEqual([])
      expect(report.runs.imported.sort()).toEqual([...runUuids].sort())
      expect(report.points).toBe(12_011)
      expect(report.artifacts).toEqual({ files: 2, bytes: 70_000 + 14, byUri: 1, notInBundle: 0 })
      const want = await snapshot(source.core.services, runUuids)
      const got = await snapshot(target.core.services, runUuids)
      expect(got).toEqual(want)
      // The awkward values themselves, not only their equality.
      const a = (await target.core.services.runs.findByUuid(runUuids[0]!))!
      const loss = await target.core.services.runs.metricHistory({ runId: a.id, key: 'loss' })
      expect(loss.map((p) => [exact(p.value), p.step])).toEqual([
        ['NaN', -5n],
        ['Infinity', 0n],
        ['-Infinity', 1n],
        ['-0', 2n],
        ['5e-324', 3n],
        ['0.30000000000000004', BIG_STEP]
      ])
      expect((await target.core.services.runs.get(a.id)).randomSeed).toBe(2n ** 60n + 1n)
    } finally {
      await target.close()
    }
  }, 120_000)

  it('importing twice does not duplicate; keep-both and replace do what they say', async () => {
    const target = await startTestCore({ http: false })
    const importer = new BundleImporter(target.core.services)
    try {
      await importer.import(bundle)
      const once = await counts(target)
      const again = await importer.import(bundle)
      expect(again.runs.skipped.sort()).toEqual([...runUuids].sort())
      expect(again.runs.imported).toEqual([])
      expect(again.versions.skipped).toEqual(['bundle-model/1', 'bundle-model/2', 'bundle-model/3', 'bundle-model/4'])
      expect(await counts(target)).toEqual(once)

      const a = (await target.core.services.runs.findByUuid(runUuids[0]!))!
      const replaced: BundleImportReport = await importer.import(bundle, { onConflict: 'replace' })
      expect(replaced.runs.replaced.sort()).toEqual([...runUuids].sort())
      const aAfter = (await target.core.services.runs.findByUuid(runUuids[0]!))!
      expect(aAfter.id).not.toBe(a.id)
      expect(await counts(target)).toMatchObject({ runs: (once as { runs: number }).runs })
      expect(await snapshot(target.core.services, runUuids)).toMatchObject({ runs: (await snapshot(source.core.services, runUuids) as { runs: unknown[] }).runs })

      const both = await importer.import(bundle, { onConflict: 'keep-both' })
      expect(both.runs.copied.map((copy) => copy.from).sort()).toEqual([...runUuids].sort())
      const copyOfA = both.runs.copied.find((copy) => copy.from === runUuids[0])!.to
      const copy = (await target.core.services.runs.findByUuid(copyOfA))!
      expect(copy.tags[COPY_OF_TAG]).toBe(runUuids[0])
      expect((await target.core.services.runs.metricHistory({ runId: copy.id, key: 'loss' })).map(pointKey)).toEqual(
        (await source.core.services.runs.metricHistory({ runId: (await source.core.services.runs.findByUuid(runUuids[0]!))!.id, key: 'loss' })).map(pointKey)
      )
      expect(await counts(target)).toMatchObject({ runs: (once as { runs: number }).runs * 2 })
      // Versions already here come in under the next numbers, tagged with theirs.
      expect(both.versions.created).toEqual(['bundle-model/5', 'bundle-model/6', 'bundle-model/7', 'bundle-model/8'])
    } finally {
      await target.close()
    }
  }, 180_000)

  it('a tampered member is refused, naming the member, and nothing is imported', async () => {
    const tampered = join(work, 'tampered.hcube')
    const victim = `runs/${runUuids[0]}/metrics/0.arrow`
    await rewriteBundle(bundle, tampered, (name, bytes) => {
      if (name !== victim) return bytes
      const copy = Buffer.from(bytes)
      copy[copy.length - 20]! ^= 0x01
      return copy
    })
    const target = await startTestCore({ http: false })
    try {
      const before = await counts(target)
      const error = await new BundleImporter(target.core.services).import(tampered).then(
        () => undefined,
        (caught: unknown) => caught
      )
      expect(error).toBeInstanceOf(BundleError)
      expect((error as BundleError).member).toBe(victim)
      expect((error as Error).message).toContain(`member ${victim} failed its hash check`)
      expect((error as Error).message).toContain('nothing was imported')
      expect(await counts(target)).toEqual(before)
      expect(await target.core.services.experiments.findByName('bundle-src')).toBeUndefined()
    } finally {
      await target.close()
    }
  }, 120_000)

  it('a member added after the bundle was written, and a byte flipped in the file, are refused too', async () => {
    const added = join(work, 'added.hcube')
    await rewriteBundle(bundle, added, (_name, bytes) => bytes, { name: `runs/${runUuids[0]}/artifacts/extra.txt`, bytes: Buffer.from('sneaked in') })
    const target = await startTestCore({ http: false })
    try {
      const before = await counts(target)
      await expect(new BundleImporter(target.core.services).import(added)).rejects.toThrow(`member runs/${runUuids[0]}/artifacts/extra.txt is not listed in the manifest`)
      const flipped = join(work, 'flipped.hcube')
      const bytes = readFileSync(bundle)
      bytes[Math.floor(bytes.length / 2)]! ^= 0x40
      writeFileSync(flipped, bytes)
      await expect(new BundleImporter(target.core.services).import(flipped)).rejects.toThrow(/member runs\/[0-9a-f]{32}\/.*(failed its hash check|breaks off)|damaged/)
      expect(await counts(target)).toEqual(before)
    } finally {
      await target.close()
    }
  }, 120_000)

  it('a truncated bundle is refused, naming where it breaks off, and nothing is imported', async () => {
    const target = await startTestCore({ http: false })
    try {
      const before = await counts(target)
      const whole = readFileSync(bundle)
      for (const fraction of [0.1, 0.6, 0.999]) {
        const cut = join(work, `cut-${fraction}.hcube`)
        writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * fraction)))
        const error = await new BundleImporter(target.core.services).import(cut).then(
          () => undefined,
          (caught: unknown) => caught as Error
        )
        expect(error, `cut at ${fraction}`).toBeInstanceOf(BundleError)
        expect(error!.message).toMatch(/truncated: it (breaks off in member|breaks off after member|ends after member) \S+/)
        expect(error!.message).toContain('nothing was imported')
      }
      expect(await counts(target)).toEqual(before)
    } finally {
      await target.close()
    }
  }, 120_000)

  it('an export that fails leaves no file at the target and no partial file beside it', async () => {
    const folder = mkdtempSync(join(work, 'fail-'))
    const out = join(folder, 'broken.hcube')
    writeFileSync(out, 'an older bundle')
    // Corrupt a stored artifact: its bytes no longer match its BLAKE3, and the export refuses them.
    const a = (await source.core.services.runs.findByUuid(runUuids[0]!))!
    const file = join(source.dataDir, 'artifacts', String(a.experimentId), a.uuid, 'config.json')
    const original = readFileSync(file)
    writeFileSync(file, '{"lr": 0.002}\n')
    try {
      const exporter = new BundleExporter(source.core.services, source.core.mlflow)
      await expect(exporter.write(await exporter.plan({ experiment: 'bundle-src', artifacts: true }), out)).rejects.toThrow(/corrupted/)
      expect(readFileSync(out, 'utf8')).toBe('an older bundle')
      expect(readdirSync(folder)).toEqual(['broken.hcube'])
    } finally {
      writeFileSync(file, original)
    }
  }, 120_000)

  it('--model: the model with its versions, approvals, deployments and history, and its versions\' source runs', async () => {
    const exporter = new BundleExporter(source.core.services, source.core.mlflow)
    const plan = await exporter.plan({ model: 'bundle-model', artifacts: true })
    expect(plan.models).toEqual(['bundle-model'])
    // v1 and v2 came from run a, v3 from run b: those two runs travel with the model.
    expect(plan.runs.map(({ run }) => run.uuid).sort()).toEqual([runUuids[0]!, runUuids[1]!].sort())
    const out = join(work, 'model.hcube')
    await exporter.write(plan, out)
    const target = await startTestCore({ http: false })
    try {
      const report = await new BundleImporter(target.core.services).import(out)
      expect(report.problems).toEqual([])
      expect(report.versions.created).toEqual(['bundle-model/1', 'bundle-model/2', 'bundle-model/3', 'bundle-model/4'])
      expect(report.deploymentEvents).toBe(6)
      expect(report.aliases).toBe(1)
      const want = (await snapshot(source.core.services, [runUuids[0]!, runUuids[1]!])) as Record<string, unknown>
      const got = (await snapshot(target.core.services, [runUuids[0]!, runUuids[1]!])) as Record<string, unknown>
      expect({ versions: got.versions, deployments: got.deployments, history: got.history, runs: got.runs }).toEqual({
        versions: want.versions,
        deployments: want.deployments,
        history: want.history,
        runs: want.runs
      })
      await expect(exporter.plan({ model: 'no-such-model', artifacts: true })).rejects.toThrow('no registered model named no-such-model')
    } finally {
      await target.close()
    }
  }, 120_000)

  it('--runs and --no-artifacts: only the chosen runs, artifact records without their files', async () => {
    const exporter = new BundleExporter(source.core.services, source.core.mlflow)
    const b = (await source.core.services.runs.findByUuid(runUuids[1]!))!
    const plan = await exporter.plan({ experiment: 'bundle-src', runs: [runUuids[0]!, String(b.id)], artifacts: false })
    const out = join(work, 'two-runs.hcube')
    await exporter.write(plan, out)
    const target = await startTestCore({ http: false })
    try {
      const report = await new BundleImporter(target.core.services).import(out)
      expect(report.runs.imported.sort()).toEqual([runUuids[0]!, runUuids[1]!].sort())
      expect(report.artifacts).toEqual({ files: 0, bytes: 0, byUri: 1, notInBundle: 2 })
      expect(await target.core.services.runs.findByUuid(runUuids[2]!)).toBeUndefined()
      await expect(exporter.plan({ experiment: 'bundle-src', runs: ['ffffffffffffffffffffffffffffffff'], artifacts: false })).rejects.toThrow('no run with uuid ffffffffffffffffffffffffffffffff')
      await expect(exporter.plan({ experiment: 'no-such-experiment', artifacts: false })).rejects.toThrow('no experiment named or numbered "no-such-experiment"')
    } finally {
      await target.close()
    }
  }, 120_000)
})
