import type { Experiment, ExperimentStatus, ExperimentSummary } from '../../shared/domain'
import { EXPERIMENT_STATUSES } from '../../shared/domain'
import { createExperimentInput, name, parseInput, updateExperimentInput } from '../../shared/schemas'
import { z } from 'zod'
import { experimentId as experimentIdInput, LIMITS, text } from '../../shared/schemas'
import { invalidArgument } from '../../shared/errors'
import type { PgExperimentRepository } from '../repositories/experiment-repository'

const experimentTagKeyInput = z.object({ experimentId: experimentIdInput, key: text(LIMITS.tagKey, 1) }).strict()
const setExperimentTagInput = experimentTagKeyInput.extend({ value: text(LIMITS.tagValue) }).strict()
const listInput = z.object({ statuses: z.array(z.enum(EXPERIMENT_STATUSES)).optional() }).strict().default({})

/** Experiments: create, read, list, rename, archive/restore. Knows nothing of IPC or HTTP. */
export class ExperimentService {
  constructor(private readonly experiments: PgExperimentRepository) {}

  async create(input: unknown): Promise<Experiment> {
    return this.experiments.create(parseInput(createExperimentInput, input))
  }

  async get(experimentId: unknown): Promise<Experiment> {
    return this.experiments.get(parseInput(experimentIdInput, experimentId, 'experimentId'))
  }

  async findByName(experimentName: unknown): Promise<Experiment | undefined> {
    return this.experiments.findByName(parseInput(name, experimentName, 'name'))
  }

  async list(input: unknown = {}): Promise<ExperimentSummary[]> {
    return this.experiments.list(parseInput(listInput, input).statuses)
  }

  /** The seed's list_experiments(active_only). */
  async listActive(): Promise<ExperimentSummary[]> {
    return this.experiments.list(['active'])
  }

  /** Experiment 0, "Default": where MLflow clients' runs go when they name no experiment. */
  /** Its artifact location, when it is first made, is <artifactRoot>/0 (MLflow's); else none. */
  async ensureDefault(artifactRoot: string | null = null): Promise<Experiment> {
    await this.experiments.ensureDefault(parseInput(text(LIMITS.path * 4).nullable(), artifactRoot, 'artifactRoot'))
    return this.experiments.get(0)
  }

  /** One tag, without touching the others (update replaces the whole map). */
  async setTag(input: unknown): Promise<Experiment> {
    const { experimentId, key, value } = parseInput(setExperimentTagInput, input)
    await this.experiments.setTag(experimentId, key, value)
    return this.experiments.get(experimentId)
  }

  /** Removes a tag; false when the experiment had no such tag. */
  async deleteTag(input: unknown): Promise<boolean> {
    const { experimentId, key } = parseInput(experimentTagKeyInput, input)
    return this.experiments.deleteTag(experimentId, key)
  }

  async update(input: unknown): Promise<Experiment> {
    const { experimentId, ...changes } = parseInput(updateExperimentInput, input)
    return this.experiments.update(experimentId, changes)
  }

  /**
   * Soft delete, MLflow's experiment lifecycle: the experiment is archived (MLflow's 'deleted'),
   * leaves the active list and takes no new runs until restored. The default experiment 0 stays.
   * The MLflow door's experiments/delete and the app's delete both come here.
   */
  async delete(experimentId: unknown): Promise<Experiment> {
    const id = parseInput(experimentIdInput, experimentId, 'experimentId')
    if (id === 0) throw invalidArgument("Cannot delete the default experiment '0'. This is an internally reserved experiment.", 'experimentId')
    await this.experiments.get(id)
    return this.setStatus(id, 'archived')
  }

  /** Undoes delete: the experiment is active again. */
  async restore(experimentId: unknown): Promise<Experiment> {
    const id = parseInput(experimentIdInput, experimentId, 'experimentId')
    return this.setStatus(id, 'active')
  }

  /**
   * Deletes a deleted experiment for good: it and its runs are gone from every view at once;
   * their metric points are removed in the background (the metric purger, in main).
   */
  async deletePermanently(experimentId: unknown): Promise<void> {
    const id = parseInput(experimentIdInput, experimentId, 'experimentId')
    if (id === 0) throw invalidArgument("Cannot delete the default experiment '0'. This is an internally reserved experiment.", 'experimentId')
    await this.experiments.deletePermanently(id)
  }

  async setStatus(experimentId: number, status: ExperimentStatus): Promise<Experiment> {
    return this.update({ experimentId, status })
  }
}
