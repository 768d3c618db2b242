import { z } from 'zod'
import type { Experiment, ExperimentSummary } from '../../../shared/domain'
import { EXPERIMENT_STATUSES } from '../../../shared/domain'
import { experimentId, jsonObject, name, tags, text, LIMITS } from '../../../shared/schemas'
import type { DoorServices } from '../../services/core-services'
import { defineRoute, type AnyRoute } from '../route-table'
import { pathId } from './v1-fields'

// The /v1 API speaks snake_case, as the seed's REST models do. Mapping is explicit per
// resource: user-chosen keys (hyperparameters, tags, metric names) are never renamed.

export function toApiExperiment(experiment: Experiment | ExperimentSummary) {
  return {
    experiment_id: experiment.id,
    name: experiment.name,
    description: experiment.description,
    status: experiment.status,
    model_config: experiment.modelConfig,
    training_config: experiment.trainingConfig,
    hyperparameters: experiment.hyperparameters,
    tags: experiment.tags,
    created_by: experiment.createdBy,
    created_at: experiment.createdAt,
    updated_at: experiment.updatedAt,
    ...('runCount' in experiment ? { run_count: experiment.runCount, last_activity_at: experiment.lastActivityAt } : {})
  }
}

/** Accepts the seed's tag list (["nlp", "bert"]) as well as a key → value map. */
const tagsInput = z.union([z.array(text(LIMITS.tagKey, 1)).transform((list) => Object.fromEntries(list.map((tag) => [tag, '']))), tags])

const createExperimentBody = z
  .object({
    name,
    description: text(LIMITS.description).optional(),
    model_config: jsonObject.optional(),
    training_config: jsonObject.optional(),
    hyperparameters: jsonObject.optional(),
    tags: tagsInput.optional(),
    created_by: text(LIMITS.name).optional()
  })
  .strict()

const experimentParams = z.object({ experimentId: pathId(experimentId) }).strict()

export function experimentRoutes(services: DoorServices): AnyRoute[] {
  const { experiments } = services
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/ml/experiments',
      summary: 'Create an experiment',
      tag: 'experiments',
      body: createExperimentBody,
      status: 201,
      handler: async ({ body }) =>
        toApiExperiment(
          await experiments.create({
            name: body.name,
            description: body.description,
            modelConfig: body.model_config,
            trainingConfig: body.training_config,
            hyperparameters: body.hyperparameters,
            tags: body.tags,
            createdBy: body.created_by
          })
        )
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/experiments',
      summary: 'List experiments with run counts (active only with ?active_only=true)',
      tag: 'experiments',
      query: z
        .object({
          active_only: z.enum(['true', 'false']).optional(),
          status: z.enum(EXPERIMENT_STATUSES).optional()
        })
        .strict(),
      handler: async ({ query }) => {
        const statuses = query.status ? [query.status] : query.active_only === 'true' ? ['active'] : undefined
        return { experiments: (await experiments.list({ statuses })).map(toApiExperiment) }
      }
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/ml/experiments/:experimentId',
      summary: 'Get an experiment',
      tag: 'experiments',
      params: experimentParams,
      handler: async ({ params }) => toApiExperiment(await experiments.get(params.experimentId))
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/experiments/:experimentId/delete',
      summary: 'Delete an experiment (soft: it is archived, takes no new runs, keeps its data, and can be restored)',
      tag: 'experiments',
      params: experimentParams,
      handler: async ({ params }) => toApiExperiment(await experiments.delete(params.experimentId))
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/ml/experiments/:experimentId/restore',
      summary: 'Restore a deleted experiment',
      tag: 'experiments',
      params: experimentParams,
      handler: async ({ params }) => toApiExperiment(await experiments.restore(params.experimentId))
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/ml/experiments/:experimentId',
      summary: 'Delete a deleted experiment permanently with its runs: gone at once, their metric points removed in the background (409 unless deleted first)',
      tag: 'experiments',
      params: experimentParams,
      handler: async ({ params }) => {
        await experiments.deletePermanently(params.experimentId)
        return { experiment_id: params.experimentId, deleted_permanently: true }
      }
    })
  ]
}
