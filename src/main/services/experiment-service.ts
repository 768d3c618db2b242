import type { Experiment, ExperimentStatus, ExperimentSummary } from '../../shared/domain'
import { EXPERIMENT_STATUSES } from '../../shared/domain'
import { Emitter } from '../../shared/event'
import { createExperimentInput, id, name, parseInput, updateExperimentInput } from '../../shared/schemas'
import { z } from 'zod'
import type { PgExperimentRepository } from '../repositories/experiment-repository'

const listInput = z.object({ statuses: z.array(z.enum(EXPERIMENT_STATUSES)).optional() }).strict().default({})

/** Experiments: create, read, list, rename, archive/restore. Knows nothing of IPC or HTTP. */
export class ExperimentService {
  private readonly didChange = new Emitter<Experiment>()
  readonly onDidChangeExperiment = this.didChange.event

  constructor(private readonly experiments: PgExperimentRepository) {}

  async create(input: unknown): Promise<Experiment> {
    const experiment = await this.experiments.create(parseInput(createExperimentInput, input))
    this.didChange.fire(experiment)
    return experiment
  }

  async get(experimentId: unknown): Promise<Experiment> {
    return this.experiments.get(parseInput(id, experimentId, 'experimentId'))
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

  async update(input: unknown): Promise<Experiment> {
    const { experimentId, ...changes } = parseInput(updateExperimentInput, input)
    const experiment = await this.experiments.update(experimentId, changes)
    this.didChange.fire(experiment)
    return experiment
  }

  async setStatus(experimentId: number, status: ExperimentStatus): Promise<Experiment> {
    return this.update({ experimentId, status })
  }

  dispose(): void {
    this.didChange.dispose()
  }
}
