import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/main/bundle/bundle-archive'
import { reviewCommand } from '../../src/main/bundle/review-command'
import type { Core } from '../../src/main/core'
import { rewriteBundle } from '../support/bundle-files'
import { builtCli, runBuiltCli } from '../support/built-cli'
import { startTestCore, type TestCore } from '../support/test-env'

/**
 * `hypercube export` and `hypercube import` on the data folder of an app that is running
 * (issue 15: the CLI "works against a running app's data folder"). The app holds the folder
 * locked, so the built CLI goes through the app's /v1 API; the runs land in the running app.
 */

// Without HYPERCUBE_DATABASE_URL: the CLI must find the running app, not a database of its own.
const { HYPERCUBE_DATABASE_URL: _url, ...environment } = process.env
const cli = (args: string[]) => runBuiltCli(args, environment)

let app: TestCore
let work: string
let experimentId: number
let runUuids: string[]

async function activeRuns(): Promise<Array<{ uuid: string; name: string; points: number }>> {
  const runs = await app.core.services.runs.listByExperiment(experimentId)
  return runs.map((run) => ({ uuid: run.uuid, name: run.name, points: run.metrics.reduce((sum, metric) => sum + metric.count, 0) })).sort((a, b) => a.name.localeCompare(b.name))
}

beforeAll(async () => {
  if (!existsSync(builtCli)) throw new Error('out/main/cli.js is missing: run `npm run build` first (npm test does)')
  work = mkdtempSync(join(tmpdir(), 'hypercube-running-app-'))
  app = await startTestCore({ http: true })
  const { experiments, runs, artifacts } = app.core.services
  experimentId = (await experiments.create({ name: 'live sweep' })).id
  runUuids = []
  for (let i = 0; i < 3; i++) {
    const run = await runs.start({ experimentId, name: `live-${i}`, hyperparameters: { lr: 0.1 * (i + 1) } })
    await runs.logValidatedMetrics(
      run.id,
      Array.from({ length: 50 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1 + i), step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'train' as const }))
    )
    await artifacts.putFile(run.id, 'notes.txt', Buffer.from(`run ${i}\n`))
    runUuids.push(run.uuid)
  }
})

afterAll(async () => {
  await app?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the CLI on the data folder of a running app', () => {
  it('exports through the running app: the bundle holds every run, point and artifact', async () => {
    const bundle = join(work, 'live.hcube')
    const result = await cli(['export', '--experiment', 'live sweep', '-o', bundle, '--data-dir', app.core.dataDir])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`runs on this data folder: exporting through its API at ${app.core.http!.url}`)
    expect(result.stdout).toMatch(/Wrote .*live\.hcube: .* — 3 runs, 150 metric points, 3 artifact files/)
    const { header } = await verifyBundle(bundle)
    expect(header.totals).toMatchObject({ runs: 3, points: 150, artifactFiles: 3 })
    expect(existsSync(`${bundle}.part`)).toBe(false)
  })

  it('imports through the running app, where the runs appear; again with skip changes nothing', async () => {
    const bundle = join(work, 'live.hcube')
    const before = await activeRuns()
    const kept = await cli(['import', bundle, '--on-conflict', 'keep-both', '--data-dir', app.core.dataDir])
    expect(kept.stderr).toBe('')
    expect(kept.code).toBe(0)
    expect(kept.stdout).toContain('importing through its API')
    const after = await activeRuns()
    expect(after).toHaveLength(6)
    // Each copy holds its original's points; the originals are untouched.
    for (const original of before) {
      expect(after.filter((run) => run.points === original.points && run.name.startsWith(original.name))).toHaveLength(2)
    }

    const skipped = await cli(['import', bundle, '--data-dir', app.core.dataDir])
    expect(skipped.code).toBe(0)
    expect(skipped.stdout).toMatch(/skipped/i)
    expect(await activeRuns()).toEqual(after)
  })

  it('refuses a tampered bundle naming the member, and the running app is unchanged', async () => {
    const tampered = join(work, 'tampered.hcube')
    const victim = `runs/${runUuids[1]}/metrics/0.arrow`
    await rewriteBundle(join(work, 'live.hcube'), tampered, (name, bytes) => {
      if (name !== victim) return bytes
      const copy = Buffer.from(bytes)
      copy[copy.length - 20]! ^= 0x01
      return copy
    })
    const before = await activeRuns()
    const result = await cli(['import', tampered, '--on-conflict', 'keep-both', '--data-dir', app.core.dataDir])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('HTTP 400')
    expect(result.stderr).toContain(victim)
    expect(result.stderr).toContain('nothing was imported')
    expect(await activeRuns()).toEqual(before)
  })
})

describe('hypercube review beside the running app', () => {
  it('"Import into my workspace" imports through the app that holds the workspace', async () => {
    const bundle = join(work, 'live.hcube')
    let stop!: (signal: string) => void
    const stopped = new Promise<string>((resolve) => (stop = resolve))
    let ready!: (core: Core) => void
    const served = new Promise<Core>((resolve) => (ready = resolve))
    let output = ''
    const done = reviewCommand({ file: bundle, workspace: { dataDir: app.core.dataDir }, http: { port: 0 }, stopped, out: (text) => (output += text), tty: false, onReady: (core) => ready(core) })
    try {
      const review = await Promise.race([served, done.then(() => Promise.reject(new Error(`review ended early:\n${output}`)))])
      const before = await activeRuns()
      const kept = await review.contract.dispatch('review.importIntoWorkspace', { onConflict: 'keep-both' })
      expect(kept).toMatchObject({ ok: true, value: { imported: 3, skipped: 0, problems: [] } })
      expect(await activeRuns()).toHaveLength(before.length + 3)
    } finally {
      stop('SIGTERM')
      await done
    }
  }, 120_000)
})

describe('/v1/bundles', () => {
  const call = (path: string, init: RequestInit & { token?: string | null } = {}) =>
    fetch(`${app.core.http!.url}${path}`, {
      ...init,
      headers: { ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? app.core.http!.token}` }), ...(init.headers as Record<string, string> | undefined) }
    })
  const json = { 'content-type': 'application/json' }

  it('answers a client’s mistakes with a 400 or 404 naming the field, and writes nothing', async () => {
    const before = await activeRuns()
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/v1/bundles/export', { method: 'POST', headers: json, body: '{}' }, 400, 'experiment'],
      ['/v1/bundles/export', { method: 'POST', headers: json, body: JSON.stringify({ experiment: 'live sweep', model: 'm' }) }, 400, 'experiment'],
      ['/v1/bundles/export', { method: 'POST', headers: json, body: JSON.stringify({ experiment: 'no such experiment' }) }, 404, ''],
      ['/v1/bundles/export', { method: 'POST', headers: json, body: JSON.stringify({ experiment: 'live sweep', artifacts: 'yes' }) }, 400, 'artifacts'],
      ['/v1/bundles/import?on_conflict=merge', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' }, 400, 'on_conflict'],
      ['/v1/bundles/import', { method: 'POST', headers: { 'content-type': 'application/octet-stream' } }, 400, 'body'],
      ['/v1/bundles/import', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'not a bundle at all' }, 400, 'body']
    ]
    for (const [path, init, status, field] of cases) {
      const response = await call(path, init)
      const body = (await response.json()) as { error: { code: string; message: string; field?: string } }
      expect(response.status, `${path} ${String(init.body)}: ${JSON.stringify(body)}`).toBe(status)
      if (field) expect(`${body.error.field ?? ''} ${body.error.message}`).toContain(field)
    }
    expect(await activeRuns()).toEqual(before)
  })

  it('asks for the token like every /v1 route', async () => {
    expect((await call('/v1/bundles/export', { method: 'POST', headers: json, body: JSON.stringify({ experiment: 'live sweep' }), token: null })).status).toBe(401)
    expect((await call('/v1/bundles/import', { method: 'POST', body: 'x', token: 'wrong' })).status).toBe(401)
  })
})
