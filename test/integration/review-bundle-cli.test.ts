import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCore } from '../../src/main/core'
import { createSilentLogger } from '../../src/main/logging'
import { builtCli, runBuiltCli } from '../support/built-cli'
import { createTestDatabase, makeDataDir } from '../support/test-env'

/** The built CLI end to end: `hypercube export`, `hypercube import` (twice, and refusing a cut bundle). */

interface Store {
  dir: string
  url: string
  remove: () => Promise<void>
}

async function newStore(): Promise<Store> {
  const data = makeDataDir()
  const database = await createTestDatabase()
  return {
    dir: data.dir,
    url: database.url,
    remove: async () => {
      await database.drop()
      data.remove()
    }
  }
}

const cli = (args: string[]) => runBuiltCli(args)

let from: Store
let to: Store
let uuids: string[]

beforeAll(async () => {
  if (!existsSync(builtCli)) throw new Error('out/main/cli.js is missing: run `npm run build` first (npm test does)')
  from = await newStore()
  to = await newStore()
  const core = await startCore({ dataDir: from.dir, databaseUrl: from.url, logger: createSilentLogger(), http: false, plugins: false, healthCheckIntervalMs: false })
  try {
    const experiment = await core.services.experiments.create({ name: 'cli sweep' })
    uuids = []
    for (let i = 0; i < 2; i++) {
      const run = await core.services.runs.start({ experimentId: experiment.id, name: `cli-${i}`, hyperparameters: { i } })
      await core.services.runs.logValidatedMetrics(run.id, [
        { key: 'loss', value: Number.NaN, step: 0n, epoch: null, timestamp: 1_700_000_000_000, kind: 'train' },
        { key: 'loss', value: -0, step: 2n ** 60n, epoch: 3, timestamp: 1_700_000_000_001, kind: 'train' }
      ])
      await core.services.artifacts.putFile(run.id, 'notes.txt', Buffer.from(`run ${i}\n`))
      await core.services.runs.complete({ runId: run.id, status: 'completed', logs: `done ${i}` })
      uuids.push(run.uuid)
    }
  } finally {
    await core.close()
  }
}, 120_000)

afterAll(async () => {
  await from?.remove()
  await to?.remove()
})

describe('hypercube export / import (built CLI)', () => {
  it('exports an experiment, imports it, skips it the second time, and refuses a cut bundle', async () => {
    const bundle = join(from.dir, 'sweep.hcube')
    const exported = await cli(['export', '--experiment', 'cli sweep', '-o', bundle, '--data-dir', from.dir, '--database-url', from.url])
    expect(exported.stderr).toBe('')
    expect(exported.code).toBe(0)
    // The size estimate comes before the work; progress is plain lines when not on a terminal.
    expect(exported.stdout).toMatch(/^Exporting 1 experiment\(s\), 2 runs, 4 metric points \(.*\), 2 artifact files \(12 B\), 0 model\(s\)$/m)
    expect(exported.stdout).toMatch(/^100% \(ETA 0:00\) /m)
    expect(exported.stdout).not.toContain('\r')
    expect(exported.stdout).toMatch(new RegExp(`^Wrote ${bundle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .* — 2 runs, 4 metric points, 2 artifact files, 0 models`, 'm'))

    const imported = await cli(['import', bundle, '--data-dir', to.dir, '--database-url', to.url])
    expect(imported.stderr).toBe('')
    expect(imported.code).toBe(0)
    expect(imported.stdout).toMatch(/^Checked \d+ members against the manifest: 2 runs, 4 metric points, 2 artifact files, 0 models$/m)
    expect(imported.stdout).toMatch(/^ {2}runs +2 imported, 0 replaced, 0 kept both, 0 skipped$/m)
    expect(imported.stdout).toMatch(/^ {2}metric points +4$/m)
    expect(imported.stdout).toMatch(/^ {2}artifacts +2 files/m)

    const again = await cli(['import', bundle, '--data-dir', to.dir, '--database-url', to.url])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/^ {2}runs +0 imported, 0 replaced, 0 kept both, 2 skipped$/m)
    expect(again.stdout).toContain('Conflict: 2 run(s) of the bundle are already here (same uuid) and were skipped')
    expect(again.stdout).toContain('--on-conflict keep-both')

    const badMode = await cli(['import', bundle, '--on-conflict', 'merge', '--data-dir', to.dir, '--database-url', to.url])
    expect(badMode.code).toBe(2)
    expect(badMode.stderr).toContain('--on-conflict must be one of skip, keep-both, replace, not "merge"')

    const cut = join(from.dir, 'cut.hcube')
    const bytes = readFileSync(bundle)
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
    const refused = await cli(['import', cut, '--on-conflict', 'keep-both', '--data-dir', to.dir, '--database-url', to.url])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^hypercube: import: the bundle is truncated: it (breaks off in|breaks off after|ends after) member \S+.*The bundle was refused; nothing was imported$/m)

    // What landed, read back through a core on the target: exact values, the artifact, the logs.
    const core = await startCore({ dataDir: to.dir, databaseUrl: to.url, logger: createSilentLogger(), http: false, plugins: false, healthCheckIntervalMs: false })
    try {
      expect((await core.status()).counts).toMatchObject({ experiments: 1, runs: 2, metricPoints: 4 })
      for (const [i, uuid] of uuids.entries()) {
        const run = (await core.services.runs.findByUuid(uuid))!
        expect(run).toMatchObject({ name: `cli-${i}`, status: 'completed', logs: `done ${i}`, hyperparameters: { i } })
        const loss = await core.services.runs.metricHistory({ runId: run.id, key: 'loss' })
        expect(loss.map((p) => [Object.is(p.value, -0) ? '-0' : String(p.value), p.step, p.epoch])).toEqual([
          ['NaN', 0n, null],
          ['-0', 2n ** 60n, 3]
        ])
        const opened = await core.services.artifacts.openFile(run.id, 'notes.txt')
        const chunks: Buffer[] = []
        for await (const chunk of opened.stream) chunks.push(chunk as Buffer)
        expect(Buffer.concat(chunks).toString()).toBe(`run ${i}\n`)
      }
    } finally {
      await core.close()
    }
  }, 180_000)
})
