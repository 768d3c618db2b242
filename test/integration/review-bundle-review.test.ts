import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Core } from '../../src/main/core'
import { startCore } from '../../src/main/core'
import { BundleExporter } from '../../src/main/bundle/bundle-exporter'
import { reviewCommand } from '../../src/main/bundle/review-command'
import { createSilentLogger } from '../../src/main/logging'
import { createTestDatabase, makeDataDir, startTestCore } from '../support/test-env'

/**
 * `hypercube review FILE` (issue 15): the bundle is served read-only from a throwaway folder —
 * every write through the window's contract, /v1 and the MLflow door answers read_only, reads
 * answer as usual — and "Import into my workspace" imports it into the user's own data.
 */

let work: string
let bundle: string
let runUuid: string

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hypercube-review-test-'))
  const source = await startTestCore({ http: false })
  try {
    const { services } = source.core
    const experiment = await services.experiments.create({ name: 'reviewed sweep' })
    const run = await services.runs.start({ experimentId: experiment.id, name: 'r1', hyperparameters: { lr: 0.01 } })
    await services.runs.logValidatedMetrics(run.id, [
      { key: 'loss', value: 0.25, step: 1n, epoch: null, timestamp: 1_700_000_000_000, kind: 'train' },
      { key: 'loss', value: Number.NaN, step: 2n, epoch: null, timestamp: 1_700_000_000_001, kind: 'train' }
    ])
    await services.runs.complete({ runId: run.id, status: 'completed' })
    runUuid = run.uuid
    bundle = join(work, 'sweep.hcube')
    const exporter = new BundleExporter(services, source.core.mlflow)
    await exporter.write(await exporter.plan({ experiment: 'reviewed sweep', artifacts: true }), bundle)
  } finally {
    await source.close()
  }
}, 120_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('hypercube review', () => {
  it('serves the bundle read-only, and "Import into my workspace" imports it into the workspace', async () => {
    const workspace = makeDataDir()
    const database = await createTestDatabase()
    let stop!: (signal: string) => void
    const stopped = new Promise<string>((resolve) => (stop = resolve))
    let output = ''
    let ready!: (value: { core: Core; folder: string }) => void
    const served = new Promise<{ core: Core; folder: string }>((resolve) => (ready = resolve))
    const done = reviewCommand({
      file: bundle,
      workspace: { dataDir: workspace.dir, databaseUrl: database.url },
      http: { port: 0 },
      stopped,
      out: (text) => (output += text),
      tty: false,
      onReady: (core, folder) => ready({ core, folder })
    })
    try {
      const { core, folder } = await Promise.race([served, done.then(() => Promise.reject(new Error(`review ended early:\n${output}`)))])
      expect(output).toContain('Reviewing bundle sweep.hcube — read-only (1 runs, 2 metric points, 0 models; nothing here can be changed)')
      expect(output).toMatch(/^UI: http:\/\/127\.0\.0\.1:\d+\/\?login=/m)

      // Reads answer; the status carries what the banner shows.
      const status = await core.contract.dispatch('system.status', {})
      expect(status).toMatchObject({ ok: true, value: { review: { bundle: 'sweep.hcube', experiments: ['reviewed sweep'], runs: 1, points: 2, models: [] } } })
      const experiments = await core.contract.dispatch('experiments.list', {})
      expect(experiments.ok && (experiments.value as { name: string }[]).map((experiment) => experiment.name)).toEqual(['reviewed sweep'])
      const run = (await core.services.runs.findByUuid(runUuid))!
      const history = await core.contract.dispatch('runs.metricSeries', { runId: run.id, key: 'loss' })
      expect(history).toMatchObject({ ok: true, value: { totalPoints: 2, mode: 'raw' } })

      // Every write answers read_only: the window's calls…
      for (const [name, input] of [
        ['experiments.create', { name: 'new' }],
        ['runs.setTags', { runId: run.id, tags: { a: 'b' } }],
        ['runs.delete', { runId: run.id }]
      ] as const) {
        const outcome = await core.contract.dispatch(name, input)
        expect(outcome, name).toMatchObject({ ok: false, error: { code: 'read_only' } })
        expect(!outcome.ok && outcome.error.message).toContain('read-only: this is a review of the bundle sweep.hcube')
      }
      // …/v1…
      const http = core.http!
      const v1 = await fetch(`${http.url}/v1/ml/experiments`, { method: 'POST', headers: { authorization: `Bearer ${http.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) })
      expect(v1.status).toBe(403)
      expect(((await v1.json()) as { error: { code: string } }).error.code).toBe('read_only')
      // …and the MLflow door, whose reads still work.
      const mlflowWrite = await fetch(`${http.url}/api/2.0/mlflow/runs/set-tag`, {
        method: 'POST',
        headers: { authorization: `Bearer ${http.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ run_id: runUuid, key: 'a', value: 'b' })
      })
      expect(mlflowWrite.status).toBe(403)
      expect(((await mlflowWrite.json()) as { error_code: string }).error_code).toBe('PERMISSION_DENIED')
      const mlflowRead = await fetch(`${http.url}/api/2.0/mlflow/runs/get?run_id=${runUuid}`, { headers: { authorization: `Bearer ${http.token}` } })
      expect(mlflowRead.status).toBe(200)
      expect((await core.status()).counts).toMatchObject({ experiments: 1, runs: 1, metricPoints: 2 })

      // "Import into my workspace": the normal import, into the workspace; a second time skips.
      const imported = await core.contract.dispatch('review.importIntoWorkspace', { onConflict: 'skip' })
      expect(imported).toMatchObject({ ok: true, value: { imported: 1, skipped: 0, problems: [] } })
      expect(imported.ok && (imported.value as { report: string }).report).toMatch(/^ {2}runs +1 imported/m)
      const again = await core.contract.dispatch('review.importIntoWorkspace', {})
      expect(again).toMatchObject({ ok: true, value: { imported: 0, skipped: 1 } })

      // The CLI's review has no "Close review": its banner is told so, and the call says where it stops.
      expect((await core.status()).review).toMatchObject({ closable: false })
      const close = await core.contract.dispatch('review.close', {})
      expect(close).toMatchObject({ ok: false, error: { code: 'unavailable' } })
      expect(!close.ok && close.error.message).toMatch(/hypercube review FILE.*Ctrl\+C/)
      expect(existsSync(folder)).toBe(true)

      stop('SIGTERM')
      expect(await done).toBe(0)
      expect(existsSync(folder)).toBe(false)
    } finally {
      stop('SIGTERM')
      await done.catch(() => undefined)
    }
    const mine = await startCore({ dataDir: workspace.dir, databaseUrl: database.url, logger: createSilentLogger(), http: false, plugins: false, healthCheckIntervalMs: false })
    try {
      const run = (await mine.services.runs.findByUuid(runUuid))!
      expect(run).toMatchObject({ name: 'r1', status: 'completed', hyperparameters: { lr: 0.01 } })
      expect((await mine.services.runs.metricHistory({ runId: run.id, key: 'loss' })).map((p) => String(p.value))).toEqual(['0.25', 'NaN'])
    } finally {
      await mine.close()
      await database.drop()
      workspace.remove()
    }
  }, 180_000)

  it('a tampered bundle is refused before anything is served', async () => {
    const cut = join(work, 'cut.hcube')
    const { readFileSync, writeFileSync } = await import('node:fs')
    const bytes = readFileSync(bundle)
    writeFileSync(cut, bytes.subarray(0, bytes.length - 40))
    await expect(
      reviewCommand({ file: cut, workspace: { dataDir: work }, http: { port: 0 }, stopped: new Promise(() => undefined), out: () => undefined, tty: false })
    ).rejects.toThrow(/the bundle is truncated/)
  }, 60_000)
})
