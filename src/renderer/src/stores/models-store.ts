import { createStore, type StateCreator } from 'zustand/vanilla'
import type { CallInput, HypercubeApi, ModelArtifactVerification, ModelSummary } from '../../../shared/contract'
import type { ApprovalStatus, ComparisonProgress, Deployment, DeploymentEvent, HealthCheck, ModelAlias, ModelVersion, VersionComparison } from '../../../shared/domain'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'

/**
 * The model registry and deployments, from slices: registered models, one model's versions
 * (with review actions), a comparison of two versions (with pushed progress), and the
 * model's deployments with their history and health (with deploy / promote / abort / rollback).
 */

export type ReviewDecision = 'approve' | 'reject' | 'deprecate'

/** The moves the approval workflow allows from each status; main refuses the others too. */
export const LEGAL_REVIEWS: Record<ApprovalStatus, ReviewDecision[]> = {
  pending: ['approve', 'reject'],
  approved: ['deprecate'],
  rejected: [],
  deprecated: []
}

export type DeploymentAction = 'promote' | 'abort' | 'rollback'

/** True while a canary takes part of the traffic (promote or abort it). */
export function canaryInProgress(deployment: Deployment): boolean {
  return deployment.strategy === 'canary' && deployment.canaryTrafficPercent !== null && deployment.canaryTrafficPercent < 100
}

/**
 * What a deployment allows now, as main's rules do (migrations 0003 and 0007): promote while a
 * canary runs; abort while a canary runs and there is a version to return to; rollback once
 * there is a previous version and it is still approved (main refuses to return to another).
 */
export function legalDeploymentActions(deployment: Deployment, versions: readonly ModelVersion[]): DeploymentAction[] {
  const actions: DeploymentAction[] = []
  const previous = versions.find((version) => version.id === deployment.previousVersionId)
  const canReturn = previous !== undefined && previous.approvalStatus === 'approved'
  if (canaryInProgress(deployment)) actions.push('promote')
  if (canaryInProgress(deployment) && canReturn) actions.push('abort')
  if (canReturn && !canaryInProgress(deployment)) actions.push('rollback')
  return actions
}

/** The versions a deploy may offer: only approved ones go out (main refuses the others). */
export function deployableVersions(versions: readonly ModelVersion[]): ModelVersion[] {
  return versions.filter((version) => version.approvalStatus === 'approved')
}

interface RegistrySlice {
  models: ModelSummary[]
  /** Who approvals are recorded as (Settings → Reviewer), shown before a review is confirmed. */
  reviewerName: string | null
  aliases: ModelAlias[]
  /** Points an alias at a version (moving it if it named another) or removes it. */
  setAlias: (alias: string, versionId: number) => Promise<boolean>
  deleteAlias: (alias: string) => Promise<boolean>
  modelsLoaded: boolean
  modelsError: ErrorInfo | null
  modelName: string | null
  versions: ModelVersion[]
  versionsError: ErrorInfo | null
  /** The last failed action (review, deploy…), shown where the user acted. */
  actionError: ErrorInfo | null
  verifications: Record<number, ModelArtifactVerification>
  loadModels: () => Promise<void>
  openModel: (modelName: string) => Promise<void>
  refresh: () => Promise<void>
  review: (versionId: number, decision: ReviewDecision, notes: string | null) => Promise<boolean>
  verify: (versionId: number) => Promise<void>
  clearActionError: () => void
}

interface ComparisonSlice {
  comparison: VersionComparison | null
  comparing: boolean
  comparisonProgress: ComparisonProgress | null
  comparisonError: ErrorInfo | null
  /** The requestId of the comparison running now: progress events of others are ignored. */
  comparisonRequest: string | null
  compare: (versionIdA: number, versionIdB: number) => Promise<void>
  onComparisonProgress: (progress: ComparisonProgress & { requestId: string }) => void
}

interface DeploymentsSlice {
  deployments: Deployment[]
  history: DeploymentEvent[]
  healthChecks: Record<string, HealthCheck[]>
  deploymentsError: ErrorInfo | null
  deploy: (input: Omit<CallInput<'deployments.deploy'>, 'modelName'>) => Promise<boolean>
  act: (action: DeploymentAction, target: string, notes: string | null) => Promise<boolean>
}

export type ModelsState = RegistrySlice & ComparisonSlice & DeploymentsSlice

type Slice<T> = StateCreator<ModelsState, [], [], T>

/**
 * An action that changes something in main: on success the error clears and the open views
 * reload; on failure the error is kept for the view to show. Resolves to whether it worked.
 */
async function changeThenRefresh(
  set: (partial: Partial<ModelsState>) => void,
  get: () => ModelsState,
  change: () => Promise<unknown>
): Promise<boolean> {
  try {
    await change()
    set({ actionError: null })
    await get().refresh()
    return true
  } catch (error) {
    set({ actionError: errorInfo(error) })
    return false
  }
}

const createRegistrySlice =
  (api: HypercubeApi): Slice<RegistrySlice> =>
  (set, get) => {
    let generation = 0
    const loadModel = async (modelName: string): Promise<void> => {
      const mine = ++generation
      try {
        void call(api, 'settings.get', {}).then(
          (settings) => set({ reviewerName: settings.reviewer.name }),
          () => undefined
        )
        const [versions, deployments, history, aliases] = await Promise.all([
          call(api, 'models.versions', { modelName }),
          call(api, 'deployments.list', { modelName }),
          call(api, 'deployments.history', { modelName }),
          call(api, 'models.aliases', { modelName })
        ])
        const checks = await Promise.all(
          deployments.map(async (deployment) => [deployment.target, await call(api, 'deployments.healthChecks', { modelName, target: deployment.target, limit: 100 })] as const)
        )
        if (mine !== generation || get().modelName !== modelName) return
        set({ versions, deployments, history, aliases, healthChecks: Object.fromEntries(checks), versionsError: null, deploymentsError: null })
      } catch (error) {
        if (mine === generation) set({ versionsError: errorInfo(error) })
      }
    }
    return {
      models: [],
      reviewerName: null,
      aliases: [],
      setAlias: async (alias, versionId) => {
        const { modelName } = get()
        if (!modelName) return false
        return changeThenRefresh(set, get, () => call(api, 'models.setAlias', { modelName, alias, versionId }))
      },
      deleteAlias: async (alias) => {
        const { modelName } = get()
        if (!modelName) return false
        return changeThenRefresh(set, get, () => call(api, 'models.deleteAlias', { modelName, alias }))
      },
      modelsLoaded: false,
      modelsError: null,
      modelName: null,
      versions: [],
      versionsError: null,
      actionError: null,
      verifications: {},
      loadModels: async () => {
        try {
          set({ models: await call(api, 'models.list', {}), modelsLoaded: true, modelsError: null })
        } catch (error) {
          set({ modelsLoaded: true, modelsError: errorInfo(error) })
        }
      },
      openModel: async (modelName) => {
        if (get().modelName !== modelName) {
          set({ modelName, versions: [], aliases: [], deployments: [], history: [], healthChecks: {}, comparison: null, comparisonError: null, actionError: null, verifications: {} })
        }
        await loadModel(modelName)
      },
      refresh: async () => {
        const { modelName } = get()
        await Promise.all([get().loadModels(), modelName ? loadModel(modelName) : undefined])
      },
      review: (versionId, decision, notes) => changeThenRefresh(set, get, () => call(api, 'models.review', { versionId, decision, notes })),
      verify: async (versionId) => {
        try {
          const result = await call(api, 'models.verifyArtifact', { versionId })
          set((state) => ({ verifications: { ...state.verifications, [versionId]: result } }))
        } catch (error) {
          set({ actionError: errorInfo(error) })
        }
      },
      clearActionError: () => set({ actionError: null })
    }
  }

const createComparisonSlice =
  (api: HypercubeApi): Slice<ComparisonSlice> =>
  (set, get) => ({
    comparison: null,
    comparing: false,
    comparisonProgress: null,
    comparisonError: null,
    comparisonRequest: null,
    compare: async (versionIdA, versionIdB) => {
      const requestId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
      set({ comparing: true, comparison: null, comparisonProgress: null, comparisonError: null, comparisonRequest: requestId })
      try {
        const comparison = await call(api, 'models.compare', { versionIdA, versionIdB, requestId })
        if (get().comparisonRequest === requestId) set({ comparison, comparing: false })
      } catch (error) {
        if (get().comparisonRequest === requestId) set({ comparing: false, comparisonError: errorInfo(error) })
      }
    },
    onComparisonProgress: ({ requestId, ...progress }) => {
      if (get().comparing && get().comparisonRequest === requestId) set({ comparisonProgress: progress })
    }
  })

const createDeploymentsSlice =
  (api: HypercubeApi): Slice<DeploymentsSlice> =>
  (set, get) => ({
    deployments: [],
    history: [],
    healthChecks: {},
    deploymentsError: null,
    deploy: async (input) => {
      const { modelName } = get()
      if (!modelName) return false
      return changeThenRefresh(set, get, () => call(api, 'deployments.deploy', { ...input, modelName }))
    },
    act: async (action, target, notes) => {
      const { modelName } = get()
      if (!modelName) return false
      const name = action === 'promote' ? 'deployments.promote' : action === 'abort' ? 'deployments.abort' : 'deployments.rollback'
      return changeThenRefresh(set, get, () => call(api, name, { modelName, target, notes }))
    }
  })

export function createModelsStore(api: HypercubeApi) {
  return createStore<ModelsState>()((...args) => ({
    ...createRegistrySlice(api)(...args),
    ...createComparisonSlice(api)(...args),
    ...createDeploymentsSlice(api)(...args)
  }))
}

export type ModelsStore = ReturnType<typeof createModelsStore>
