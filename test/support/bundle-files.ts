import { createReadStream, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import tar from 'tar-stream'
import type { CoreServices } from '../../src/main/core'
import { BundleExporter } from '../../src/main/bundle/bundle-exporter'
import type { MlflowService } from '../../src/main/services/mlflow-service'

/** Copies a bundle member by member, letting `change` alter one; `extra` adds a member before the manifest. */
export async function rewriteBundle(from: string, to: string, change: (name: string, bytes: Buffer) => Buffer, extra?: { name: string; bytes: Buffer }): Promise<void> {
  const extract = tar.extract()
  const pack = tar.pack()
  const writing = pipeline(pack, createGzip(), createWriteStream(to))
  const reading = pipeline(createReadStream(from), createGunzip(), extract)
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    if (entry.header.name === 'manifest.json' && extra) pack.entry({ name: extra.name, size: extra.bytes.length }, extra.bytes)
    const bytes = change(entry.header.name, Buffer.concat(chunks))
    pack.entry({ name: entry.header.name, size: bytes.length }, bytes)
  }
  await reading
  pack.finalize()
  await writing
}

/** A bundle of an experiment with `runs` runs of `points` val_loss points each, written to `file`; answers the runs' uuids. */
export async function writeExperimentBundle(
  core: { services: CoreServices; mlflow: MlflowService },
  file: string,
  experimentName: string,
  runs: number,
  points: number
): Promise<string[]> {
  const { services } = core
  const experiment = await services.experiments.create({ name: experimentName, description: 'from a colleague' })
  const uuids: string[] = []
  for (let index = 0; index < runs; index++) {
    const run = await services.runs.start({ experimentId: experiment.id, name: `${experimentName}-run-${index}`, hyperparameters: { lr: 0.001 * (index + 1) } })
    await services.runs.logValidatedMetrics(
      run.id,
      Array.from({ length: points }, (_, step) => ({ key: 'val_loss', value: 1 / (step + 2 + index), step: BigInt(step), epoch: null, timestamp: 1_700_000_000_000 + step, kind: 'validation' as const }))
    )
    await services.runs.complete({ runId: run.id, status: 'completed', finalMetrics: { val_loss: 1 / (points + 1 + index) } })
    uuids.push(run.uuid)
  }
  const exporter = new BundleExporter(services, core.mlflow)
  await exporter.write(await exporter.plan({ experiment: experimentName, artifacts: true }), file)
  return uuids
}
