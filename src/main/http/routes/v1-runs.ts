import { z } from 'zod'
import type { Checkpoint, LeaderboardEntry, MetricSummary, Run, RunWithMetrics } from '../../../shared/domain'
import { FINISHED_RUN_STATUSES } from '../../../shared/domain'
import { experimentId, id, int64, jsonObject, name, tags, text, LIMITS } from '../../../shared/schemas'
import type { DoorServices } from '../../services/core-services'
import { defineRoute, type AnyRoute } from '../route-table'
import { pathId } from './v1-fields'

// Explicit snake_case mapping of runs and what hangs off them; user keys (hyperparameter,
// tag and metric names) pass through untouched.

export function toApiMetricSummary(metric: MetricSummary) {
  return {
    key: metric.key,
    last_value: metric.lastValue,
    last_step: metric.lastStep,
    last_timestamp: metric.lastTimestamp,
    min: metric.min,
    max: metric.max,
    count: metric.count
  }
}

export function toApiRun(run: Run | RunWithMetrics) {
  return {
    run_id: run.id,
    run_uuid: run.uuid,
    experiment_id: run.experimentId,
    run_name: run.name,
    status: run.status,
    hyperparameters: run.hyperparameters,
    tags: run.tags,
    final_metrics: run.finalMetrics,
    random_seed: run.randomSeed,
    git_commit: run.gitCommit,
    resources: {
      gpu_hours: run.resources.gpuHours,
      cpu_hours: run.resources.cpuHours,
      peak_memory_bytes: run.resources.peakMemoryBytes
    },
    logs: run.logs,
    error_message: run.errorMessage,
    stack_trace: run.stackTrace,
    created_at: run.createdAt,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    updated_at: run.updatedAt,
    ...('metrics' in run ? { metrics: run.metrics.map(toApiMetricSummary) } : {})
  }
}

export function toApiCheckpoint(checkpoint: Checkpoint) {
  return {
    checkpoint_id: checkpoint.id,
    run_id: checkpoint.runId,
    path: checkpoint.path,
    step: checkpoint.step,
    epoch: checkpoint.epoch,
    metrics_snapshot: checkpoint.metricsSnapshot,
    is_best: checkpoint.isBest,
    size_bytes: checkpoint.sizeBytes,
    blake3: checkpoint.blake3,
    created_at: checkpoint.createdAt
  }
}

function toApiLeaderboardEntry(entry: LeaderboardEntry) {
  return {
    rank: entry.rank,
    run_id: entry.runId,
    run_name: entry.runName,
    status: entry.status,
    value: entry.value,
    step: entry.step,
    hyperparameters: entry.hyperparameters
  }
}

export const runParams = z.object({ runId: pathId(id) }).strict()
const experimentParams = z.object({ experimentId: pathId(experimentId) }).strict()

const int64Doc = int64.describe('a 64-bit integer: a JSON number up to 2^53, or a decimal string')
const nonNegative = z.number().finite().nonnegative('must not be negative')

const startRunBody = z
  .object({
    experiment_id: experimentId,
    run_name: name.optional(),
    hyperparameters: jsonObject.optional(),
    random_seed: int64Doc.nullable().optional(),
    git_commit: z.string().optional(),
    tags: tags.optional(),
    status: z.enum(['pending', 'running']).optional()
  })
  .strict()

const completeRunBody = z
  .object({
    run_id: id,
    status: z.enum(FINISHED_RUN_STATUSES).optional(),
    final_metrics: z.record(text(LIMITS.metricKey, 1), z.number().finite('must be finite')).optional(),
    error_message: text(LIMITS.errorMessage).nullable().optional(),
    stack_trace: text(LIMITS.stackTrace).nullable().optional(),
    resources: z
      .object({
        gpu_hours: nonNegative.nullable().optional(),
        cpu_hours: nonNegative.nullable().optional(),
        peak_memory_bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional()
      })
      .strict()
      .optional(),
    logs: text(LIMITS.logs).nullable().optional()
  })
  .strict()

const leaderboardBody = z
  .object({
    experiment_id: experimentId,
    metric_name: text(LIMITS.metricKey, 1),
    direction: z.enum(['asc', 'desc']).optional().describe('desc (higher is better, the default) or asc (lower is better)'),
    limit: z.number().int().min(1).max(10_000).optional()
  })
  .strict()

const checkpointBody = z
  .object({
    path: text(LIMITS.path, 1),
    step: int64Doc,
    epoch: z.number().int().nonnegative().max(2_147_483_647).nullable().optional(),
    metrics_snapshot: jsonObject.optional(),
    is_best: z.boolean().optional(),
    size_bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
    blake3: z.string().nullable().optional()
  })
  .strict()

export function runRoutes(services: DoorServices): AnyRoute[] {
  const { runs } = services
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs',
      summary: 'Start a training run (the seed StartRunRequest)',
      tag: 'runs',
      body: startRunBody,
      status: 201,
      handler: async ({ body }) =>
        toApiRun(
          await runs.start({
            experimentId: body.experiment_id,
            name: body.run_name,
            hyperparameters: body.hyperparameters,
            randomSeed: body.random_seed,
            gitCommit: body.git_commit,
            tags: body.tags,
            status: body.status
          })
        )
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/complete',
      summary: 'Finish a run: completed, failed or killed, with final metrics, resources, logs and errors',
      tag: 'runs',
      body: completeRunBody,
      handler: async ({ body }) =>
        toApiRun(
          await runs.complete({
            runId: body.run_id,
            status: body.status,
            finalMetrics: body.final_metrics,
            errorMessage: body.error_message,
            stackTrace: body.stack_trace,
            resources: body.resources && {
              gpuHours: body.resources.gpu_hours,
              cpuHours: body.resources.cpu_hours,
              peakMemoryBytes: body.resources.peak_memory_bytes
            },
            logs: body.logs
          })
        )
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/leaderboard',
      summary: "Rank an experiment's runs by a metric (the seed LeaderboardRequest)",
      tag: 'runs',
      body: leaderboardBody,
      handler: async ({ body }) => ({
        experiment_id: body.experiment_id,
        metric_name: body.metric_name,
        entries: (
          await runs.leaderboard({ experimentId: body.experiment_id, metricKey: body.metric_name, direction: body.direction, limit: body.limit })
        ).map(toApiLeaderboardEntry)
      })
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/runs/:runId',
      summary: 'Get a run with its parameters, tags and metric summary',
      tag: 'runs',
      params: runParams,
      handler: async ({ params }) => toApiRun(await runs.getWithMetrics(params.runId))
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/experiments/:experimentId/runs',
      summary: 'List the runs of an experiment with their latest metrics, newest first',
      tag: 'runs',
      params: experimentParams,
      handler: async ({ params }) => {
        await services.experiments.get(params.experimentId) // an unknown experiment is a 404, not an empty list
        return { runs: (await runs.listByExperiment(params.experimentId)).map(toApiRun) }
      }
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/:runId/delete',
      summary: 'Delete a run (soft: it leaves lists and searches, keeps its data, and can be restored)',
      tag: 'runs',
      params: runParams,
      handler: async ({ params }) => {
        await runs.delete(params.runId)
        return { run_id: params.runId, deleted: true }
      }
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/:runId/restore',
      summary: 'Restore a deleted run',
      tag: 'runs',
      params: runParams,
      handler: async ({ params }) => {
        await runs.restore(params.runId)
        return { run_id: params.runId, deleted: false }
      }
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/ml/runs/:runId',
      summary: 'Delete a deleted run permanently: it is gone at once, its metric points are removed in the background (409 unless deleted first)',
      tag: 'runs',
      params: runParams,
      handler: async ({ params }) => {
        await runs.deletePermanently(params.runId)
        return { run_id: params.runId, deleted_permanently: true }
      }
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/:runId/params',
      summary: 'Add hyperparameters to a run (write-once: the same value again is fine, a different one is a 409)',
      tag: 'runs',
      params: runParams,
      body: z.object({ hyperparameters: jsonObject }).strict(),
      handler: async ({ params, body }) => toApiRun(await runs.setParams({ runId: params.runId, hyperparameters: body.hyperparameters }))
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/:runId/tags',
      summary: 'Set tags on a run (merged into its tags)',
      tag: 'runs',
      params: runParams,
      body: z.object({ tags }).strict(),
      handler: async ({ params, body }) => toApiRun(await runs.setTags({ runId: params.runId, tags: body.tags }))
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/runs/:runId/checkpoints',
      summary: 'Save a checkpoint of a run (one per step; a new best takes the flag from the previous one)',
      tag: 'checkpoints',
      params: runParams,
      body: checkpointBody,
      status: 201,
      handler: async ({ params, body }) =>
        toApiCheckpoint(
          await runs.saveCheckpoint({
            runId: params.runId,
            path: body.path,
            step: body.step,
            epoch: body.epoch,
            metricsSnapshot: body.metrics_snapshot,
            isBest: body.is_best,
            sizeBytes: body.size_bytes,
            blake3: body.blake3
          })
        )
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/runs/:runId/checkpoints',
      summary: 'List the checkpoints of a run by step',
      tag: 'checkpoints',
      params: runParams,
      handler: async ({ params }) => {
        await runs.get(params.runId)
        return { checkpoints: (await runs.listCheckpoints(params.runId)).map(toApiCheckpoint) }
      }
    })
  ]
}
