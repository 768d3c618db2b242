import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { MetricPoint } from '../../src/shared/domain'
import type { Core, CoreServices } from '../../src/main/core'
import { startCore } from '../../src/main/core'
import { BundleExporter } from '../../src/main/bundle/bundle-exporter'
import { reviewCommand } from '../../src/main/bundle/review-command'
import { createSilentLogger } from '../../src/main/logging'
import { createTestDatabase, makeDataDir, startTestCore } from '../support/test-env'

/**
 * Issue 15's "done when": export → review → import round-trips an experiment with 100 runs,
 * 1,000,000 metric points, artifacts and a model exactly — every value compared.
 */

const RUNS = 100
const STEPS = 5_000
const KEYS = ['loss', 'val_acc'] as const
const exact = (value: number): string => (Object.is(value, -0) ? '-0' : String(value))
const pointText = (p: MetricPoint): string => `${p.kind}|${p.step}|${exact(p.value)}|${p.timestamp}|${p.epoch}`

const work = mkdtempSync(join(tmpdir(), 'hypercube-bundle-scale-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function everything(services: CoreServices, uuids: readonly string[]): Promise<unknown[]> {
  const out: unknown[] = []
  for (const uuid of uuids) {
    const found = (await services.runs.findByUuid(uuid))!
    const run = await services.runs.getWithMetrics(found.id)
    const series: Record<string, string[]> = {}
    for (const key of KEYS) series[key] = (await services.runs.metricHistory({ runId: run.id, key, limit: 1_000_000 })).map(pointText)
    const files = await services.artifacts.list(run.id)
    out.push({ uuid, name: run.name, status: run.status, params: run.hyperparameters, tags: run.tags, final: run.finalMetrics, series, files: files.map((f) => [f.path, f.sizeBytes, f.blake3]) })
  }
  const versions = await services.models.listVersions('scale-model')
  out.push(versions.map((v) => [v.version, v.approvalStatus, v.isDeployed, v.aliases, v.performanceMetrics]))
  out.push((await services.models.deploymentHistory({ modelName: 'scale-model' })).map((e) => [e.action, e.target, e.strategy]))
  return out
}

describe('review bundles at the issue\'s size', () => {
  it('100 runs and 1,000,000 points with artifacts and a model: export → review → Import into my workspace, every value equal', async () => {
    const source = await startTestCore({ http: false })
    const uuids: string[] = []
    const bundle = join(work, 'scale.hcube')
    try {
      const { services } = source.core
      const experiment = await services.experiments.create({ name: 'scale-sweep' })
      for (let r = 0; r < RUNS; r++) {
        const run = await services.runs.start({ experimentId: experiment.id, name: `run-${r}`, hyperparameters: { lr: 1e-4 * (r + 1), seed: r } })
        const points: MetricPoint[] = []
        for (let step = 0; step < STEPS; step++) {
          const value = step === 7 ? Number.NaN : step === 8 ? -0 : step === 9 ? Number.POSITIVE_INFINITY : Math.exp(-step / 1_000) + Math.sin(r * step) * 1e-3
          points.push({ key: 'loss', value, step: BigInt(step), epoch: Math.floor(step / 500), timestamp: 1_700_000_000_000 + step * 100 + r, kind: 'train' })
          points.push({ key: 'val_acc', value: 1 - value / 2, step: BigInt(step) + 2n ** 55n, epoch: null, timestamp: 1_700_000_000_000 + step * 100 + r, kind: 'validation' })
        }
        await services.runs.logValidatedMetrics(run.id, points)
        if (r % 10 === 0) await services.artifacts.putFile(run.id, `weights-${r}.bin`, Buffer.alloc(50_000 + r, r))
        await services.runs.complete({ runId: run.id, status: r % 7 === 0 ? 'failed' : 'completed', finalMetrics: { loss: points[points.length - 2]!.value } })
        uuids.push(run.uuid)
        if (r === 0 || r === 1) {
          const version = await services.models.registerVersion({ modelName: 'scale-model', artifactUri: `runs:/${run.uuid}/model`, sourceRunId: run.id, performanceMetrics: { loss: 0.1 * (r + 1) } })
          await services.models.approve({ versionId: version.id, actor: 'lead' })
          await services.models.deploy({ modelName: 'scale-model', versionId: version.id, target: 'production', actor: 'ops' })
        }
      }
      await services.models.rollback({ modelName: 'scale-model', target: 'production', actor: 'ops' })
      await services.models.setAlias({ modelName: 'scale-model', alias: 'champion', versionId: (await services.models.listVersions('scale-model'))[0]!.id })
      const exporter = new BundleExporter(services, source.core.mlflow)
      const result = await exporter.write(await exporter.plan({ experiment: 'scale-sweep', artifacts: true }), bundle)
      expect(result).toMatchObject({ runs: RUNS, points: RUNS * STEPS * KEYS.length, artifactFiles: RUNS / 10, models: 1 })

      const workspace = makeDataDir()
      const database = await createTestDatabase()
      let stop!: (signal: string) => void
      let ready!: (core: Core) => void
      const served = new Promise<Core>((resolve) => (ready = resolve))
      const review = reviewCommand({
        file: bundle,
        workspace: { dataDir: workspace.dir, databaseUrl: database.url },
        http: { port: 0 },
        stopped: new Promise<string>((resolve) => (stop = resolve)),
        out: () => undefined,
        tty: false,
        onReady: (core) => ready(core)
      })
      try {
        const reviewed = await Promise.race([served, review.then(() => Promise.reject(new Error('the review ended before it was served')))])
        // What the review shows is the bundle, value for value.
        expect(await everything(reviewed.services, uuids)).toEqual(await everything(services, uuids))
        const imported = await reviewed.contract.dispatch('review.importIntoWorkspace', { onConflict: 'skip' })
        expect(imported).toMatchObject({ ok: true, value: { imported: RUNS, skipped: 0, problems: [] } })
      } finally {
        stop('SIGTERM')
        await review
      }
      const mine = await startCore({ dataDir: workspace.dir, databaseUrl: database.url, logger: createSilentLogger(), http: false, plugins: false, healthCheckIntervalMs: false })
      try {
        expect((await mine.status()).counts).toMatchObject({ runs: RUNS, metricPoints: RUNS * STEPS * KEYS.length })
        expect(await everything(mine.services, uuids)).toEqual(await everything(services, uuids))
      } finally {
        await mine.close()
        await database.drop()
        workspace.remove()
      }
    } finally {
      await source.close()
    }
  }, 600_000)
})
