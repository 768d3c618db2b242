import { z } from 'zod'
import { APPROVAL_STATUSES, ARTIFACT_KINDS, DEPLOYMENT_ACTIONS, DEPLOYMENT_STRATEGIES, EXPERIMENT_STATUSES, RUN_STATUSES } from '../../shared/domain'

/**
 * A review bundle (`.hcube`): a gzip-compressed POSIX tar (a .tar.gz any `tar xzf` opens) whose
 * members come in this order, so an importer can write each as it streams past:
 *
 *   bundle.json                          what is inside (BundleHeader): experiments, runs, models, totals
 *   experiments/<n>.json                 one per experiment (BundleExperiment)
 *   runs/<uuid>/run.json                 the run (BundleRun): params, tags, notes, resources, logs,
 *                                        errors, checkpoints, its artifacts' records, its metric members
 *   runs/<uuid>/metrics/<n>.arrow        every point of one metric key: Arrow IPC stream format
 *   runs/<uuid>/artifacts/<path>         a stored artifact file, byte for byte
 *   models/<n>.json                      a registered model with its versions, lineage, approvals,
 *                                        aliases, deployments and deployment history (BundleModel)
 *   manifest.json                        last: every member above with its size and BLAKE3
 *
 * Int64 values (steps, seeds) are decimal strings in JSON; times are ISO-8601 strings.
 */

export const BUNDLE_FORMAT = 'hypercube-bundle'
export const BUNDLE_FORMAT_VERSION = 1
export const HEADER_MEMBER = 'bundle.json'
export const MANIFEST_MEMBER = 'manifest.json'

const UUID = /^[0-9a-f]{32}$/
const int64Text = z.string().regex(/^-?\d{1,19}$/, 'must be a decimal integer')
const isoTime = z.string().min(1).max(64)
const jsonRecord = z.record(z.string(), z.unknown())
const stringRecord = z.record(z.string(), z.string())

export const memberNames = {
  experiment: (index: number): string => `experiments/${index}.json`,
  run: (uuid: string): string => `runs/${uuid}/run.json`,
  metric: (uuid: string, index: number): string => `runs/${uuid}/metrics/${index}.arrow`,
  artifact: (uuid: string, path: string): string => `runs/${uuid}/artifacts/${path}`,
  model: (index: number): string => `models/${index}.json`
}

/** What a member name says it is; undefined for a name no bundle has. */
export type MemberKind =
  | { kind: 'header' }
  | { kind: 'manifest' }
  | { kind: 'experiment'; index: number }
  | { kind: 'run'; uuid: string }
  | { kind: 'metric'; uuid: string; index: number }
  | { kind: 'artifact'; uuid: string; path: string }
  | { kind: 'model'; index: number }

export function classifyMember(name: string): MemberKind | undefined {
  if (name === HEADER_MEMBER) return { kind: 'header' }
  if (name === MANIFEST_MEMBER) return { kind: 'manifest' }
  let match = /^experiments\/(\d{1,9})\.json$/.exec(name)
  if (match) return { kind: 'experiment', index: Number(match[1]) }
  match = /^models\/(\d{1,9})\.json$/.exec(name)
  if (match) return { kind: 'model', index: Number(match[1]) }
  match = /^runs\/([0-9a-f]{32})\/run\.json$/.exec(name)
  if (match) return { kind: 'run', uuid: match[1]! }
  match = /^runs\/([0-9a-f]{32})\/metrics\/(\d{1,9})\.arrow$/.exec(name)
  if (match) return { kind: 'metric', uuid: match[1]!, index: Number(match[2]) }
  match = /^runs\/([0-9a-f]{32})\/artifacts\/(.+)$/.exec(name)
  // The path is checked again (confinement) by the artifact store when it is written.
  if (match) return { kind: 'artifact', uuid: match[1]!, path: match[2]! }
  return undefined
}

export const manifestSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    version: z.literal(BUNDLE_FORMAT_VERSION),
    members: z.array(z.object({ name: z.string().min(1), size: z.number().int().nonnegative(), blake3: z.string().regex(/^[0-9a-f]{64}$/) }).strict())
  })
  .strict()
export type BundleManifest = z.infer<typeof manifestSchema>

export const headerSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    version: z.literal(BUNDLE_FORMAT_VERSION),
    createdAt: isoTime,
    createdBy: z.string(),
    /** What was asked for: an experiment (all its runs or some), or a model. */
    source: z.object({ experiment: z.string().nullable(), runs: z.array(z.string()).nullable(), model: z.string().nullable() }).strict(),
    includesArtifacts: z.boolean(),
    experiments: z.array(z.object({ name: z.string(), runs: z.number().int().nonnegative() }).strict()),
    runs: z.array(z.object({ uuid: z.string().regex(UUID), name: z.string(), experiment: z.number().int().nonnegative(), points: z.number().int().nonnegative() }).strict()),
    models: z.array(z.string()),
    totals: z.object({ runs: z.number().int().nonnegative(), points: z.number().int().nonnegative(), artifactFiles: z.number().int().nonnegative(), artifactBytes: z.number().int().nonnegative() }).strict()
  })
  .strict()
export type BundleHeader = z.infer<typeof headerSchema>

export const experimentSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    modelConfig: jsonRecord,
    trainingConfig: jsonRecord,
    hyperparameters: jsonRecord,
    tags: stringRecord,
    status: z.enum(EXPERIMENT_STATUSES),
    createdBy: z.string().nullable(),
    createdAt: isoTime
  })
  .strict()
export type BundleExperiment = z.infer<typeof experimentSchema>

export const runSchema = z
  .object({
    uuid: z.string().regex(UUID),
    experiment: z.number().int().nonnegative(),
    name: z.string(),
    status: z.enum(RUN_STATUSES),
    hyperparameters: jsonRecord,
    tags: stringRecord,
    finalMetrics: jsonRecord,
    randomSeed: int64Text.nullable(),
    gitCommit: z.string().nullable(),
    resources: z.object({ gpuHours: z.number().nullable(), cpuHours: z.number().nullable(), peakMemoryBytes: z.number().nullable() }).strict(),
    logs: z.string().nullable(),
    errorMessage: z.string().nullable(),
    stackTrace: z.string().nullable(),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    completedAt: isoTime.nullable(),
    checkpoints: z.array(
      z
        .object({
          path: z.string(),
          step: int64Text,
          epoch: z.number().int().nullable(),
          metricsSnapshot: jsonRecord,
          isBest: z.boolean(),
          sizeBytes: z.number().int().nullable(),
          blake3: z.string().nullable(),
          createdAt: isoTime
        })
        .strict()
    ),
    /** Stored files have a member (null when exported without artifacts); URI artifacts never do. */
    artifacts: z.array(
      z
        .object({
          path: z.string(),
          kind: z.enum(ARTIFACT_KINDS),
          uri: z.string().nullable(),
          sizeBytes: z.number().int().nullable(),
          blake3: z.string().nullable(),
          metadata: jsonRecord,
          member: z.string().nullable()
        })
        .strict()
    ),
    metrics: z.array(z.object({ key: z.string(), member: z.string(), points: z.number().int().nonnegative() }).strict())
  })
  .strict()
export type BundleRun = z.infer<typeof runSchema>

const versionRef = z.string().nullable()
export const modelSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    tags: stringRecord,
    versions: z.array(
      z
        .object({
          version: z.string(),
          parentVersion: versionRef,
          /** The source run's uuid (it may or may not be in the bundle). */
          sourceRun: z.string().regex(UUID).nullable(),
          artifactUri: z.string(),
          artifactSizeBytes: z.number().int().nullable(),
          artifactBlake3: z.string().nullable(),
          performanceMetrics: jsonRecord,
          description: z.string(),
          tags: stringRecord,
          approvalStatus: z.enum(APPROVAL_STATUSES),
          approvalNotes: z.string().nullable(),
          reviewedBy: z.string().nullable(),
          reviewedAt: isoTime.nullable(),
          deprecatedBy: z.string().nullable(),
          deprecatedAt: isoTime.nullable(),
          deprecationNotes: z.string().nullable(),
          aliases: z.array(z.string()),
          createdBy: z.string().nullable(),
          createdAt: isoTime
        })
        .strict()
    ),
    deployments: z.array(
      z
        .object({
          target: z.string(),
          currentVersion: z.string(),
          previousVersion: versionRef,
          strategy: z.enum(DEPLOYMENT_STRATEGIES),
          canaryTrafficPercent: z.number().nullable(),
          sla: z.object({ latencyP99Ms: z.number().nullable(), throughputRps: z.number().nullable(), availabilityPercent: z.number().nullable() }).strict(),
          healthUrl: z.string().nullable(),
          deployedBy: z.string().nullable(),
          deployedAt: isoTime
        })
        .strict()
    ),
    /** Every deploy, update, rollback, promotion and abort, oldest first. */
    history: z.array(
      z
        .object({
          target: z.string(),
          action: z.enum(DEPLOYMENT_ACTIONS),
          fromVersion: versionRef,
          toVersion: versionRef,
          strategy: z.enum(DEPLOYMENT_STRATEGIES).nullable(),
          canaryTrafficPercent: z.number().nullable(),
          actor: z.string().nullable(),
          notes: z.string().nullable(),
          occurredAt: isoTime
        })
        .strict()
    )
  })
  .strict()
export type BundleModel = z.infer<typeof modelSchema>

/** Parses a JSON member with its schema; the error names the member and the field. */
export function parseMember<Schema extends z.ZodType>(schema: Schema, member: string, bytes: Buffer): z.output<Schema> {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    throw new BundleError(`${member}: not valid JSON (${(error as Error).message})`, member)
  }
  const result = schema.safeParse(json)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  throw new BundleError(`${member}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, member)
}

/** A bundle that cannot be read as it is: damaged, tampered with, truncated or not a bundle. */
export class BundleError extends Error {
  constructor(
    message: string,
    /** The member at fault, when one is. */
    readonly member?: string
  ) {
    super(message)
    this.name = 'BundleError'
  }
}
