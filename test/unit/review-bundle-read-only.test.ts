import { describe, expect, it } from 'vitest'
import { isReadMethod, readOnlyServices } from '../../src/main/bundle/read-only-services'
import { ArtifactService } from '../../src/main/services/artifact-service'
import { ExperimentService } from '../../src/main/services/experiment-service'
import { ModelService } from '../../src/main/services/model-service'
import { RunService } from '../../src/main/services/run-service'
import type { DoorServices } from '../../src/main/services/core-services'
import { DomainError } from '../../src/shared/errors'

/**
 * What a review (`hypercube review`) lets through: every service method is a read or refused. The
 * lists below are the services' methods as they are; a method added later fails this test until
 * it is put in one list or the other, so a new write cannot slip through a review unnoticed.
 */

const READS: Record<string, string[]> = {
  experiments: ['findByName', 'get', 'list', 'listActive'],
  runs: ['findByUuid', 'get', 'getWithMetrics', 'isDeleted', 'keysOf', 'leaderboard', 'listByExperiment', 'listCheckpoints', 'metricHistory', 'metricSeries', 'metricSeriesByGroup', 'searchRuns'],
  models: ['deploymentHistory', 'getAlias', 'getDeployment', 'getVersion', 'listAliases', 'listDeployments', 'listHealthChecks', 'listModels', 'listMonitoredDeployments', 'listVersions'],
  artifacts: ['browse', 'findVersionFolder', 'get', 'list', 'listFiles', 'openFile', 'openFolderZip', 'read', 'readSafetensorsHeader']
}

const CLASSES = { experiments: ExperimentService, runs: RunService, models: ModelService, artifacts: ArtifactService }

function methodsOf(klass: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(klass.prototype).filter((name) => name !== 'constructor' && typeof (klass.prototype as Record<string, unknown>)[name] === 'function')
}

describe('read-only services of a review', () => {
  it('reads are exactly the listed methods of each service; everything else is refused', () => {
    for (const [service, klass] of Object.entries(CLASSES)) {
      const reads = methodsOf(klass).filter(isReadMethod).sort()
      // Private helpers (runOf, review…) are on the prototype too; they are never called through the proxy.
      expect(reads.filter((name) => !READS[service]!.includes(name)), `${service}: methods read-only mode would let through that are not listed as reads`).toEqual([])
      expect(READS[service]!.filter((name) => !reads.includes(name)), `${service}: listed reads it would refuse`).toEqual([])
    }
  })

  it('a write answers read_only with the review\'s message; a read reaches the service', async () => {
    const calls: string[] = []
    const fake = (name: string) =>
      new Proxy({}, { get: (_target, property) => (typeof property === 'string' ? async () => (calls.push(`${name}.${property}`), 'answer') : undefined) })
    const wrapped = readOnlyServices({ experiments: fake('experiments'), runs: fake('runs'), models: fake('models'), artifacts: fake('artifacts') } as unknown as DoorServices, 'read-only: a review')
    await expect(wrapped.runs.metricSeries({ runId: 1, key: 'loss' })).resolves.toBe('answer')
    await expect(wrapped.models.deploymentHistory({ modelName: 'm' })).resolves.toBe('answer')
    for (const write of [() => wrapped.runs.setTags({}), () => wrapped.models.deploy({}), () => wrapped.experiments.create({}), () => wrapped.artifacts.verify(1)]) {
      const error = await write().then(
        () => undefined,
        (caught: unknown) => caught
      )
      expect(error).toBeInstanceOf(DomainError)
      expect(error).toMatchObject({ code: 'read_only', message: 'read-only: a review' })
    }
    expect(calls).toEqual(['runs.metricSeries', 'models.deploymentHistory'])
  })
})
