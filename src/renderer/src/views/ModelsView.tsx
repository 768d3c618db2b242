import { useEffect, useMemo, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { DEPLOYMENT_STRATEGIES, type Deployment, type DeploymentStrategy, type HealthCheck, type ModelVersion, type SlaTarget } from '../../../shared/domain'
import { formatBytes, formatDateTime, formatJsonValue, formatNumber } from '../lib/format'
import { MODEL_TABS, routeHash, type ModelTab } from '../stores/app-store'
import { canaryInProgress, deployableVersions, LEGAL_REVIEWS, legalDeploymentActions, type DeploymentAction, type ReviewDecision } from '../stores/models-store'
import type { VersionArtifactLocation } from '../../../shared/artifact-browser'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'
import { api, useModels } from '../stores'
import { ArtifactBrowser } from './ArtifactBrowser'
import { ExportBundleDialog } from './BundleDialogs'
import { ConfirmDialog, EmptyState, ErrorNote, StatusBadge } from './common'

export function ModelsView(): React.JSX.Element {
  const { models, loaded, error, load } = useModels(useShallow((s) => ({ models: s.models, loaded: s.modelsLoaded, error: s.modelsError, load: s.loadModels })))
  useEffect(() => void load(), [load])
  const [query, setQuery] = useState('')
  const shown = useMemo(() => {
    const needle = query.trim().toLowerCase()
    return needle === '' ? models : models.filter((model) => model.modelName.toLowerCase().includes(needle))
  }, [models, query])
  return (
    <div className="page">
      <div className="page-header">
        <h1>Models</h1>
        {models.length > 0 && (
          <input type="search" className="list-search" aria-label="search models" placeholder="Search models" value={query} onChange={(event) => setQuery(event.target.value)} />
        )}
      </div>
      <ErrorNote error={error} title="Cannot list models" />
      {loaded && models.length === 0 && !error && (
        <EmptyState title="No model registered yet">
          <p>
            Register a version from a training script with <code>POST /v1/ml/models/versions</code> (model name, artifact URI, source run, metrics); it appears here
            for review.
          </p>
        </EmptyState>
      )}
      {models.length > 0 && shown.length === 0 && <p className="subtle">No model name contains “{query.trim()}”.</p>}
      {shown.length > 0 && (
        <table className="grid" aria-label="models">
          <thead>
            <tr>
              <th>Model</th>
              <th className="num">Versions</th>
              <th>Latest version</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((model) => (
              <tr key={model.modelName}>
                <td>
                  <a href={routeHash({ page: 'model', modelName: model.modelName, tab: 'versions' })}>{model.modelName}</a>
                </td>
                <td className="num">{model.versionCount}</td>
                <td>{formatDateTime(model.latestVersionAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

export function ModelView({ modelName, tab }: { modelName: string; tab: ModelTab }): React.JSX.Element {
  const { openModel, versionsError, actionError, clearActionError } = useModels(
    useShallow((s) => ({ openModel: s.openModel, versionsError: s.versionsError, actionError: s.actionError, clearActionError: s.clearActionError }))
  )
  useEffect(() => void openModel(modelName), [modelName, openModel])
  const [exporting, setExporting] = useState(false)
  return (
    <div className="page page-wide">
      <div className="breadcrumbs">
        <a href={routeHash({ page: 'models' })}>Models</a> / <span>{modelName}</span>
      </div>
      <div className="page-header">
        <h1>{modelName}</h1>
        <button type="button" className="export-bundle" onClick={() => setExporting(true)}>
          Export review bundle…
        </button>
      </div>
      {exporting && <ExportBundleDialog target={{ modelName }} onClose={() => setExporting(false)} />}
      <nav className="tabs" aria-label="model views">
        {MODEL_TABS.map((name) => (
          <a key={name} className={tab === name ? 'active' : ''} href={routeHash({ page: 'model', modelName, tab: name })}>
            {name[0]!.toUpperCase() + name.slice(1)}
          </a>
        ))}
      </nav>
      <ErrorNote error={versionsError} title="Cannot load the model" />
      {actionError && (
        <div className="error-note" role="alert" data-testid="action-error">
          <strong>Refused: </strong>
          {actionError.message}
          {actionError.field && <span className="error-field"> ({actionError.field})</span>}{' '}
          <button type="button" onClick={clearActionError}>
            Dismiss
          </button>
        </div>
      )}
      {tab === 'versions' && <VersionsTab />}
      {tab === 'lineage' && <LineageTab />}
      {tab === 'compare' && <CompareVersionsTab />}
      {tab === 'deployments' && <DeploymentsTab />}
    </div>
  )
}

/** A version's files, when its artifact is a folder of a run stored here: opened on demand. */
function VersionFiles({ versionId, version }: { versionId: number; version: string }): React.JSX.Element {
  const [open, setOpen] = useState(false)
  const [location, setLocation] = useState<VersionArtifactLocation | null>(null)
  const [error, setError] = useState<ErrorInfo | null>(null)
  useEffect(() => {
    if (!open || location) return
    call(api, 'models.versionArtifacts', { versionId }).then(setLocation, (caught: unknown) => setError(errorInfo(caught)))
  }, [open, location, versionId])
  return (
    <div className="version-files">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide files' : 'Browse files'}
      </button>
      {open && <ErrorNote error={error} title="Cannot locate the files" />}
      {open && location?.runId === null && <p className="subtle">{location.reason}</p>}
      {open && location && location.runId !== null && <ArtifactBrowser runId={location.runId} prefix={location.prefix} label={`files of version ${version}`} />}
    </div>
  )
}

const REVIEW_LABELS: Record<ReviewDecision, { button: string; title: string; notes: string; required: boolean }> = {
  approve: { button: 'Approve', title: 'Approve this version', notes: 'Approval notes', required: false },
  reject: { button: 'Reject', title: 'Reject this version', notes: 'Reason', required: true },
  deprecate: { button: 'Deprecate', title: 'Deprecate this version', notes: 'Why it is deprecated', required: false }
}

function versionLabel(version: ModelVersion | undefined, id: number | null): string {
  if (id === null) return '—'
  return version ? `v${version.version}` : `#${id}`
}

/** Where a version takes traffic now: "production (100% of traffic)", "staging (canary, 10%)". */
function deployedWhere(version: ModelVersion, deployments: readonly Deployment[]): string[] {
  return deployments
    .filter((deployment) => deployment.currentVersionId === version.id || (canaryInProgress(deployment) && deployment.previousVersionId === version.id))
    .map((deployment) => {
      if (!canaryInProgress(deployment)) return `${deployment.target} (100% of traffic)`
      const share = deployment.currentVersionId === version.id ? deployment.canaryTrafficPercent! : 100 - deployment.canaryTrafficPercent!
      return `${deployment.target} (${formatNumber(share)}% of traffic${deployment.currentVersionId === version.id ? ', canary' : ''})`
    })
}

function VersionsTab(): React.JSX.Element {
  const { versions, review, verify, verifications, deployments, reviewer } = useModels(
    useShallow((s) => ({ versions: s.versions, review: s.review, verify: s.verify, verifications: s.verifications, deployments: s.deployments, reviewer: s.reviewerName }))
  )
  const [pending, setPending] = useState<{ version: ModelVersion; decision: ReviewDecision } | null>(null)
  const byId = useMemo(() => new Map(versions.map((version) => [version.id, version])), [versions])
  const pendingDeployedAt = pending?.decision === 'deprecate' ? deployedWhere(pending.version, deployments) : []
  return (
    <section>
      {versions.map((version) => {
        const verification = verifications[version.id]
        return (
          <article key={version.id} className="panel version-card" data-version-id={version.id} data-version={version.version} aria-label={`version ${version.version}`}>
            <div className="panel-header">
              <h2>
                v{version.version} <StatusBadge status={version.approvalStatus} />
                {version.isDeployed && <span className="badge badge-completed">deployed to {version.deploymentTarget}</span>}
                {version.aliases.map((alias) => (
                  <AliasBadge key={alias} alias={alias} />
                ))}
              </h2>
              <span className="actions">
                {LEGAL_REVIEWS[version.approvalStatus].map((decision) => (
                  <button key={decision} type="button" onClick={() => setPending({ version, decision })}>
                    {REVIEW_LABELS[decision].button}
                  </button>
                ))}
              </span>
            </div>
            <table className="grid compact">
              <tbody>
                <tr>
                  <th>Source run</th>
                  <td>{version.sourceRunId === null ? '—' : <a href={routeHash({ page: 'run', runId: version.sourceRunId })}>run #{version.sourceRunId}</a>}</td>
                  <th>Parent version</th>
                  <td>{versionLabel(byId.get(version.parentVersionId ?? -1), version.parentVersionId)}</td>
                </tr>
                <tr>
                  <th>Artifact</th>
                  <td className="mono">{version.artifactUri}</td>
                  <th>Size</th>
                  <td>{formatBytes(version.artifactSizeBytes)}</td>
                </tr>
                <tr>
                  <th>BLAKE3</th>
                  <td className="mono hash-wide">
                    {version.artifactBlake3 ?? '—'}{' '}
                    {/* Only a recorded hash can be checked; a folder's files are verified one by one in Files below. */}
                    {version.artifactBlake3 !== null && (
                      <button type="button" onClick={() => void verify(version.id)}>
                        Verify
                      </button>
                    )}{' '}
                    {verification && (
                      <span className={verification.verified ? 'ok' : verification.verified === false ? 'bad' : 'subtle'} data-testid={`verify-${version.id}`}>
                        {verification.verified ? '✓ matches the file' : verification.verified === false ? `✗ ${verification.reason ?? `file hashes to ${verification.actualBlake3}`}` : verification.reason}
                      </span>
                    )}
                  </td>
                  <th>Registered</th>
                  <td>
                    {formatDateTime(version.createdAt)}
                    {version.createdBy && ` by ${version.createdBy}`}
                  </td>
                </tr>
                <tr>
                  <th>Metrics</th>
                  <td>
                    {Object.entries(version.performanceMetrics).map(([key, value]) => (
                      <span key={key} className="kv">
                        {key} = {formatJsonValue(value)}
                      </span>
                    ))}
                  </td>
                  <th>Tags</th>
                  <td>
                    {Object.entries(version.tags).map(([key, value]) => (
                      <span key={key} className="kv">
                        {key} = {value}
                      </span>
                    ))}
                  </td>
                </tr>
                <tr>
                  <th>Aliases</th>
                  <td colSpan={3}>
                    <AliasForm version={version} />
                  </td>
                </tr>
                <tr>
                  <th>Review</th>
                  <td colSpan={3} data-testid={`review-${version.id}`}>
                    {version.reviewedAt ? `${version.approvalStatus === 'rejected' ? 'Rejected' : 'Approved'} by ${version.reviewedBy ?? 'unknown'} on ${formatDateTime(version.reviewedAt)}` : 'Not reviewed yet'}
                    {version.approvalNotes && ` — “${version.approvalNotes}”`}
                    {version.deprecatedAt && ` · deprecated by ${version.deprecatedBy ?? 'unknown'} on ${formatDateTime(version.deprecatedAt)}${version.deprecationNotes ? ` — “${version.deprecationNotes}”` : ''}`}
                  </td>
                </tr>
              </tbody>
            </table>
            <VersionFiles versionId={version.id} version={version.version} />
          </article>
        )
      })}
      {pending && (
        <ConfirmDialog
          title={`${REVIEW_LABELS[pending.decision].title}: v${pending.version.version}`}
          confirmLabel={REVIEW_LABELS[pending.decision].button}
          notesLabel={REVIEW_LABELS[pending.decision].notes}
          notesRequired={REVIEW_LABELS[pending.decision].required}
          onCancel={() => setPending(null)}
          onConfirm={async (notes) => {
            await review(pending.version.id, pending.decision, notes)
            setPending(null)
          }}
        >
          {pendingDeployedAt.length > 0 && (
            <p className="bad" data-testid="deprecate-deployed">
              v{pending.version.version} is deployed on {pendingDeployedAt.join(' and ')}. Deprecating it leaves it running there, but it can no longer be deployed or
              rolled back to.
            </p>
          )}
          <p className="subtle" data-testid="review-as">
            Recorded as {reviewer ?? '…'} (Settings → Reviewer).
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}

function AliasBadge({ alias }: { alias: string }): React.JSX.Element {
  const deleteAlias = useModels((s) => s.deleteAlias)
  return (
    <span className="badge badge-best alias-badge" data-alias={alias}>
      @{alias}{' '}
      <button type="button" className="link-button" aria-label={`remove alias ${alias}`} onClick={() => void deleteAlias(alias)}>
        ×
      </button>
    </span>
  )
}

/** Points an alias at this version; an alias another version holds moves here (MLflow's rule), and the form says so first. */
function AliasForm({ version }: { version: ModelVersion }): React.JSX.Element {
  const { aliases, setAlias, versions } = useModels(useShallow((s) => ({ aliases: s.aliases, setAlias: s.setAlias, versions: s.versions })))
  const [alias, setAliasText] = useState('')
  const name = alias.trim().replace(/^@/, '')
  const holder = aliases.find((existing) => existing.alias === name && existing.versionId !== version.id)
  const holderVersion = versions.find((candidate) => candidate.id === holder?.versionId)
  return (
    <form
      className="alias-form"
      aria-label={`aliases of v${version.version}`}
      onSubmit={(event) => {
        event.preventDefault()
        if (name === '') return
        void setAlias(name, version.id).then((ok) => ok && setAliasText(''))
      }}
    >
      <input aria-label={`alias for v${version.version}`} placeholder="champion" value={alias} onChange={(event) => setAliasText(event.target.value)} size={14} />{' '}
      <button type="submit" disabled={name === ''}>
        {holder ? `Move @${name} here` : 'Set alias'}
      </button>
      {holder && <span className="subtle"> from v{holderVersion?.version ?? `#${holder.versionId}`}</span>}
    </form>
  )
}

/** The version tree: roots are versions without a parent (or whose parent is another model's); children indented under their parent. */
function LineageTab(): React.JSX.Element {
  const versions = useModels((s) => s.versions)
  const children = useMemo(() => {
    const map = new Map<number | null, ModelVersion[]>()
    const ids = new Set(versions.map((version) => version.id))
    for (const version of [...versions].sort((a, b) => a.id - b.id)) {
      const parent = version.parentVersionId !== null && ids.has(version.parentVersionId) ? version.parentVersionId : null
      map.set(parent, [...(map.get(parent) ?? []), version])
    }
    return map
  }, [versions])
  const renderNode = (version: ModelVersion): React.JSX.Element => (
    <li key={version.id} data-version={version.version}>
      <span className="lineage-node">
        <strong>v{version.version}</strong> <StatusBadge status={version.approvalStatus} />{' '}
        {version.sourceRunId !== null ? <a href={routeHash({ page: 'run', runId: version.sourceRunId })}>from run #{version.sourceRunId}</a> : <span className="subtle">no source run</span>}
        <span className="subtle"> · {formatDateTime(version.createdAt)}</span>
      </span>
      {(children.get(version.id) ?? []).length > 0 && <ul>{children.get(version.id)!.map(renderNode)}</ul>}
    </li>
  )
  return (
    <section className="panel">
      <h2>Lineage (parent → child)</h2>
      <ul className="lineage" aria-label="lineage">
        {(children.get(null) ?? []).map(renderNode)}
      </ul>
    </section>
  )
}

function CompareVersionsTab(): React.JSX.Element {
  const s = useModels(
    useShallow((state) => ({
      versions: state.versions,
      comparison: state.comparison,
      comparing: state.comparing,
      progress: state.comparisonProgress,
      error: state.comparisonError,
      compare: state.compare
    }))
  )
  const [a, setA] = useState<number | null>(null)
  const [b, setB] = useState<number | null>(null)
  const versionA = a ?? s.versions[1]?.id ?? s.versions[0]?.id ?? null
  const versionB = b ?? s.versions[0]?.id ?? null
  const select = (label: string, value: number | null, set: (id: number) => void) => (
    <label>
      {label}{' '}
      <select aria-label={`version ${label}`} value={value ?? ''} onChange={(event) => set(Number(event.target.value))}>
        {s.versions.map((version) => (
          <option key={version.id} value={version.id}>
            v{version.version}
          </option>
        ))}
      </select>
    </label>
  )
  const result = s.comparison
  return (
    <section className="panel">
      <div className="panel-header">
        <h2>Compare two versions</h2>
        {select('A', versionA, setA)}
        {select('B', versionB, setB)}
        <button type="button" disabled={versionA === null || versionB === null || s.comparing} onClick={() => void s.compare(versionA!, versionB!)}>
          Compare
        </button>
      </div>
      <ErrorNote error={s.error} title="Cannot compare" />
      {s.comparing && (
        <div className="progress" role="status" data-testid="compare-progress">
          <progress max={s.progress?.bytesTotal ?? 1} value={s.progress?.bytesDone ?? 0} />
          <span>{s.progress ? `${formatBytes(s.progress.bytesDone)} of ${formatBytes(s.progress.bytesTotal)} · ${s.progress.tensor}` : 'Starting…'}</span>
        </div>
      )}
      {result && (
        <div data-testid="version-comparison" data-progress-bytes={s.progress?.bytesDone ?? 0}>
          <h3>
            Metrics: v{result.versionA.version} → v{result.versionB.version}
          </h3>
          <table className="grid compact">
            <thead>
              <tr>
                <th>Metric</th>
                <th className="num">v{result.versionA.version}</th>
                <th className="num">v{result.versionB.version}</th>
                <th className="num">Δ</th>
              </tr>
            </thead>
            <tbody>
              {result.metrics.map((metric) => (
                <tr key={metric.key}>
                  <th>{metric.key}</th>
                  <td className="num">{formatJsonValue(metric.a ?? undefined) || '—'}</td>
                  <td className="num">{formatJsonValue(metric.b ?? undefined) || '—'}</td>
                  <td className="num">{metric.delta === null ? '—' : formatNumber(metric.delta)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Weights</h3>
          {result.tensors === null ? (
            <p className="subtle">Not compared: {result.tensorsUnavailable}</p>
          ) : (
            <>
              <p className="subtle">{formatBytes(result.bytesCompared)} compared, tensor by tensor, by the geometric plugins.</p>
              <table className="grid compact" data-testid="tensor-table">
                <thead>
                  <tr>
                    <th>Tensor</th>
                    <th>Status</th>
                    <th>Shape A</th>
                    <th>Shape B</th>
                    <th className="num">L2</th>
                    <th className="num">L1</th>
                    <th className="num">Cosine distance</th>
                  </tr>
                </thead>
                <tbody>
                  {result.tensors.map((tensor) => (
                    <tr key={tensor.name} data-tensor={tensor.name} data-status={tensor.status}>
                      <td className="mono">{tensor.name}</td>
                      <td>{tensor.status.replace(/_/g, ' ')}</td>
                      <td className="mono">{tensor.shapeA ? `${tensor.dtypeA} [${tensor.shapeA.join('×')}]` : '—'}</td>
                      <td className="mono">{tensor.shapeB ? `${tensor.dtypeB} [${tensor.shapeB.join('×')}]` : '—'}</td>
                      <td className="num">{formatNumber(tensor.l2)}</td>
                      <td className="num">{formatNumber(tensor.l1)}</td>
                      <td className="num">{formatNumber(tensor.cosineDistance)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </section>
  )
}

const ACTION_LABELS: Record<DeploymentAction, { button: string; title: string }> = {
  promote: { button: 'Promote canary', title: 'Promote the canary to all traffic' },
  abort: { button: 'Abort canary', title: 'Abort the canary and go back to the previous version' },
  rollback: { button: 'Roll back', title: 'Roll back to the previous version' }
}

const TARGET_LABELS: Record<SlaTarget, string> = { latency_p99: 'p99 latency', throughput: 'throughput', availability: 'availability' }

/** Who takes the traffic on a target, as the database holds it: "v2 10% · v1 90%" during a canary, else "v2 100%". */
function trafficShare(deployment: Deployment, label: (id: number | null) => string): string {
  if (canaryInProgress(deployment)) {
    const share = `${label(deployment.currentVersionId)} ${formatNumber(deployment.canaryTrafficPercent!)}%`
    // A first canary has no registered version beside it: the rest of the traffic is not this model's to show.
    if (deployment.previousVersionId === null) return `${share} (no previous version)`
    return `${share} · ${label(deployment.previousVersionId)} ${formatNumber(100 - deployment.canaryTrafficPercent!)}%`
  }
  return `${label(deployment.currentVersionId)} 100%`
}

/** What an action will change, read before confirming: from → to and the traffic share afterwards. */
function plannedChange(action: DeploymentAction, deployment: Deployment, label: (id: number | null) => string): { from: string; to: string; after: string } {
  const now = trafficShare(deployment, label)
  if (action === 'promote') return { from: now, to: `${label(deployment.currentVersionId)} 100%`, after: `${label(deployment.currentVersionId)} takes all traffic; ${label(deployment.previousVersionId)} stays the version to roll back to` }
  return {
    from: now,
    to: `${label(deployment.previousVersionId)} 100%`,
    after: `${label(deployment.previousVersionId)} takes all traffic; ${label(deployment.currentVersionId)} becomes the version to roll back to`
  }
}

/** A breach named by its target and the figure that missed it, e.g. "p99 latency 310 ms > SLA 200 ms". */
function breachText(target: SlaTarget, check: HealthCheck, sla: Deployment['sla']): string {
  if (target === 'latency_p99') return `p99 latency ${formatNumber(round1(check.latencyP99Ms))} ms > SLA ${formatNumber(sla.latencyP99Ms)} ms`
  if (target === 'throughput') return `throughput ${formatNumber(round1(check.throughputRps))} rps < SLA ${formatNumber(sla.throughputRps)} rps`
  return `availability ${formatNumber(round1(check.availabilityPercent))}% < SLA ${formatNumber(sla.availabilityPercent)}%`
}

/** Measured figures to one decimal: a probe's latency to the microsecond is noise on screen. */
function round1(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10
}

function DeploymentsTab(): React.JSX.Element {
  const s = useModels(
    useShallow((state) => ({ versions: state.versions, deployments: state.deployments, history: state.history, healthChecks: state.healthChecks, act: state.act }))
  )
  const byId = useMemo(() => new Map(s.versions.map((version) => [version.id, version])), [s.versions])
  const label = (id: number | null): string => versionLabel(byId.get(id ?? -1), id)
  const [pending, setPending] = useState<{ deployment: Deployment; action: DeploymentAction } | null>(null)
  return (
    <section>
      <DeployForm />
      {s.deployments.length === 0 && <p className="subtle">Not deployed anywhere yet.</p>}
      {s.deployments.map((deployment) => {
        // Checks of the version deployed now, since it went out (main resets the history per deploy).
        const checks = s.healthChecks[deployment.target] ?? []
        const latest = checks[0]
        const breaches = checks.filter((check) => check.breachedTargets.length > 0 || !check.ok)
        const breachCounts = new Map<SlaTarget, number>()
        for (const check of breaches) for (const target of check.breachedTargets) breachCounts.set(target, (breachCounts.get(target) ?? 0) + 1)
        const unreachable = breaches.filter((check) => !check.ok).length
        const promoted = deployment.strategy === 'canary' && !canaryInProgress(deployment)
        return (
          <article key={deployment.target} className="panel" data-target={deployment.target} aria-label={`deployment ${deployment.target}`}>
            <div className="panel-header">
              <h2>
                {deployment.target}: <span data-testid={`current-${deployment.target}`}>{label(deployment.currentVersionId)}</span>{' '}
                <span className="badge" data-testid={`strategy-${deployment.target}`}>
                  {promoted ? 'canary, promoted' : deployment.strategy}
                </span>{' '}
                <span className={`badge ${canaryInProgress(deployment) ? 'badge-running' : ''}`} data-testid={`traffic-${deployment.target}`}>
                  {trafficShare(deployment, label)}
                </span>{' '}
                <StatusBadge status={deployment.health.status} />
              </h2>
              <span className="actions">
                {legalDeploymentActions(deployment, s.versions).map((action) => (
                  <button key={action} type="button" onClick={() => setPending({ deployment, action })}>
                    {ACTION_LABELS[action].button}
                  </button>
                ))}
              </span>
            </div>
            <table className="grid compact">
              <tbody>
                <tr>
                  <th>Previous version</th>
                  <td data-testid={`previous-${deployment.target}`}>{label(deployment.previousVersionId)}</td>
                  <th>Deployed</th>
                  <td>
                    {formatDateTime(deployment.deployedAt)}
                    {deployment.deployedBy && ` by ${deployment.deployedBy}`}
                  </td>
                </tr>
                <tr>
                  <th>SLA</th>
                  <td>
                    p99 latency ≤ {deployment.sla.latencyP99Ms === null ? '—' : `${formatNumber(deployment.sla.latencyP99Ms)} ms`} · throughput ≥{' '}
                    {deployment.sla.throughputRps === null ? '—' : `${formatNumber(deployment.sla.throughputRps)} rps`} · availability ≥{' '}
                    {deployment.sla.availabilityPercent === null ? '—' : `${formatNumber(deployment.sla.availabilityPercent)}%`}
                  </td>
                  <th>Health</th>
                  <td data-testid={`health-${deployment.target}`}>
                    {deployment.health.url === null ? (
                      <span className="subtle">no health URL</span>
                    ) : deployment.health.status === 'unknown' || !latest ? (
                      <span className="subtle">
                        {label(deployment.currentVersionId)} not checked yet since it was deployed ({formatDateTime(deployment.deployedAt)}); <span className="mono">{deployment.health.url}</span>
                      </span>
                    ) : (
                      <>
                        p99 latency {deployment.health.latencyMs === null ? '—' : `${formatNumber(round1(deployment.health.latencyMs))} ms`} · throughput{' '}
                        {deployment.health.throughputRps === null ? 'not reported' : `${formatNumber(round1(deployment.health.throughputRps))} rps`} · availability{' '}
                        {deployment.health.availabilityPercent === null ? '—' : `${formatNumber(round1(deployment.health.availabilityPercent))}%`} · checked {formatDateTime(deployment.health.checkedAt)}
                        {deployment.health.status === 'degraded' && latest.breachedTargets.length > 0 && (
                          <div className="bad" data-testid={`degraded-${deployment.target}`}>
                            Degraded: {latest.breachedTargets.map((target) => breachText(target, latest, deployment.sla)).join('; ')}
                          </div>
                        )}
                        {deployment.health.status === 'unhealthy' && <div className="bad">Unhealthy: {latest.error ?? `HTTP ${latest.statusCode ?? '—'}`}</div>}
                        {breaches.length > 0 && (
                          <div className="bad" data-testid={`breaches-${deployment.target}`}>
                            {breaches.length} of the last {checks.length} checks of {label(deployment.currentVersionId)} missed the SLA:{' '}
                            {[
                              ...[...breachCounts].map(([target, count]) => `${TARGET_LABELS[target]} ${count}×`),
                              ...(unreachable > 0 ? [`unreachable or failing ${unreachable}×`] : [])
                            ].join(', ')}
                          </div>
                        )}
                      </>
                    )}
                  </td>
                </tr>
              </tbody>
            </table>
            {deployment.health.url !== null && <HealthChart deployment={deployment} checks={checks} versionName={label(deployment.currentVersionId)} />}
          </article>
        )
      })}
      <section className="panel">
        <h2>History</h2>
        <table className="grid compact" data-testid="deployment-history">
          <thead>
            <tr>
              <th>When</th>
              <th>Target</th>
              <th>Action</th>
              <th>From</th>
              <th>To</th>
              <th>Strategy</th>
              <th>Who</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            {s.history.map((event) => (
              <tr key={event.id} data-action={event.action}>
                <td>{formatDateTime(event.occurredAt)}</td>
                <td>{event.target}</td>
                <td>{event.action}</td>
                <td>{label(event.fromVersionId)}</td>
                <td>{label(event.toVersionId)}</td>
                <td>
                  {event.strategy ?? '—'}
                  {event.canaryTrafficPercent !== null && ` ${formatNumber(event.canaryTrafficPercent)}%`}
                </td>
                <td>{event.actor ?? '—'}</td>
                <td>{event.notes ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {pending && (
        <ConfirmDialog
          title={`${ACTION_LABELS[pending.action].title} (${pending.deployment.target})`}
          confirmLabel={ACTION_LABELS[pending.action].button}
          notesLabel="Notes (recorded in the history)"
          onCancel={() => setPending(null)}
          onConfirm={async (notes) => {
            await s.act(pending.action, pending.deployment.target, notes)
            setPending(null)
          }}
        >
          {(() => {
            const change = plannedChange(pending.action, pending.deployment, label)
            return (
              <dl className="planned-change" data-testid="planned-change">
                <dt>Traffic now</dt>
                <dd data-testid="planned-from">{change.from}</dd>
                <dt>After</dt>
                <dd data-testid="planned-to">{change.to}</dd>
                <dd className="subtle">{change.after}.</dd>
              </dl>
            )
          })()}
        </ConfirmDialog>
      )}
    </section>
  )
}

const CHART_SERIES: Array<{ key: 'latencyP99Ms' | 'throughputRps' | 'availabilityPercent'; title: string; unit: string; sla: keyof Deployment['sla']; slaSide: '≤' | '≥' }> = [
  { key: 'latencyP99Ms', title: 'p99 latency', unit: 'ms', sla: 'latencyP99Ms', slaSide: '≤' },
  { key: 'throughputRps', title: 'Throughput', unit: 'rps', sla: 'throughputRps', slaSide: '≥' },
  { key: 'availabilityPercent', title: 'Availability', unit: '%', sla: 'availabilityPercent', slaSide: '≥' }
]

export const HEALTH_LINE_COLOR = '#2563eb'
export const SLA_LINE_COLOR = '#dc2626'

/**
 * The current version's health over time: one small chart per measure (p99 latency,
 * throughput, availability), each with its SLA as a dashed red line; checks that missed a
 * target are red dots.
 */
function HealthChart({ deployment, checks, versionName }: { deployment: Deployment; checks: HealthCheck[]; versionName: string }): React.JSX.Element {
  const ordered = useMemo(() => [...checks].reverse(), [checks])
  if (ordered.length === 0) return <p className="subtle" data-testid={`health-chart-${deployment.target}`}>No health checks of {versionName} yet.</p>
  const width = 360
  const height = 140
  const pad = { left: 44, right: 8, top: 8, bottom: 22 }
  const times = ordered.map((check) => Date.parse(check.checkedAt))
  const t0 = Math.min(...times)
  const t1 = Math.max(...times)
  const x = (t: number): number => pad.left + (t1 === t0 ? (width - pad.left - pad.right) / 2 : ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right))
  return (
    <div className="health-charts" data-testid={`health-chart-${deployment.target}`} aria-label={`health of ${versionName} over time`}>
      {CHART_SERIES.map((series) => {
        const points = ordered.flatMap((check, index) => (check[series.key] === null ? [] : [{ t: times[index]!, v: check[series.key]!, breached: check.breachedTargets.includes(TARGET_OF[series.key]) }]))
        const sla = deployment.sla[series.sla]
        const values = [...points.map((point) => point.v), ...(sla === null ? [] : [sla])]
        // Availability lives just under 100%: zoom in on it, or every line sits on the top edge.
        const lo = series.key === 'availabilityPercent' ? Math.max(0, Math.floor(Math.min(...values) - 1)) : Math.min(0, ...values)
        const hi = series.key === 'availabilityPercent' ? 100.5 : Math.max(...values, 1) * 1.1
        const y = (v: number): number => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom)
        return (
          <figure key={series.key} className="health-chart" data-series={series.key} data-points={points.length}>
            <figcaption>
              {series.title} ({series.unit}){sla !== null && <span className="subtle"> · SLA {series.slaSide} {formatNumber(sla)} {series.unit}</span>}
            </figcaption>
            {points.length === 0 ? (
              <p className="subtle">{series.key === 'throughputRps' ? 'Not reported by the health URL (JSON {"throughput_rps": …}).' : 'No measurement yet.'}</p>
            ) : (
              <svg width={width} height={height} role="img" aria-label={`${series.title} of ${versionName}`}>
                <line x1={pad.left} x2={pad.left} y1={pad.top} y2={height - pad.bottom} stroke="var(--chart-axis)" />
                <line x1={pad.left} x2={width - pad.right} y1={height - pad.bottom} y2={height - pad.bottom} stroke="var(--chart-axis)" />
                <text x={pad.left - 4} y={y(hi) + 10} textAnchor="end" fontSize="10" fill="var(--muted)">
                  {formatNumber(Math.round(hi))}
                </text>
                <text x={pad.left - 4} y={height - pad.bottom} textAnchor="end" fontSize="10" fill="var(--muted)">
                  {formatNumber(lo)}
                </text>
                <text x={pad.left} y={height - 6} fontSize="10" fill="var(--muted)">
                  {new Date(t0).toLocaleTimeString()}
                </text>
                <text x={width - pad.right} y={height - 6} fontSize="10" textAnchor="end" fill="var(--muted)">
                  {new Date(t1).toLocaleTimeString()}
                </text>
                {sla !== null && (
                  <line data-sla={sla} x1={pad.left} x2={width - pad.right} y1={y(sla)} y2={y(sla)} stroke={SLA_LINE_COLOR} strokeWidth={2} strokeDasharray="6 4" />
                )}
                <polyline fill="none" stroke={HEALTH_LINE_COLOR} strokeWidth={2} points={points.map((point) => `${x(point.t)},${y(point.v)}`).join(' ')} />
                {points.map((point, index) =>
                  point.breached ? <circle key={index} cx={x(point.t)} cy={y(point.v)} r={3} fill={SLA_LINE_COLOR} /> : <circle key={index} cx={x(point.t)} cy={y(point.v)} r={2} fill={HEALTH_LINE_COLOR} />
                )}
              </svg>
            )}
          </figure>
        )
      })}
    </div>
  )
}

const TARGET_OF: Record<(typeof CHART_SERIES)[number]['key'], SlaTarget> = { latencyP99Ms: 'latency_p99', throughputRps: 'throughput', availabilityPercent: 'availability' }

/**
 * Deploy form. Only approved versions are offered: main deploys nothing else, so a rejected
 * or pending version is not a choice (the Versions tab is where it gets reviewed).
 */
function DeployForm(): React.JSX.Element {
  const { versions, deploy } = useModels(useShallow((s) => ({ versions: s.versions, deploy: s.deploy })))
  const deployable = useMemo(() => deployableVersions(versions), [versions])
  const [versionId, setVersionId] = useState<number | null>(null)
  const [target, setTarget] = useState('production')
  const [strategy, setStrategy] = useState<DeploymentStrategy>('blue-green')
  const [canary, setCanary] = useState('10')
  const [latency, setLatency] = useState('')
  const [throughput, setThroughput] = useState('')
  const [availability, setAvailability] = useState('')
  const [healthUrl, setHealthUrl] = useState('')
  const [confirming, setConfirming] = useState(false)
  const chosen = deployable.find((version) => version.id === versionId)?.id ?? deployable[0]?.id ?? null
  const chosenVersion = deployable.find((version) => version.id === chosen)
  const number = (text: string): number | null => (text.trim() === '' ? null : Number(text))
  // The dialog is a form of its own, so it is rendered next to this form, not inside it.
  return (
    <>
      <form
        className="panel deploy-form"
        aria-label="deploy"
        onSubmit={(event) => {
          event.preventDefault()
          setConfirming(true)
        }}
      >
        <h2>Deploy</h2>
        {deployable.length === 0 && <p className="subtle">No approved version yet: approve one on the Versions tab to deploy it.</p>}
        <div className="form-row">
          <label>
            Version{' '}
            <select aria-label="version to deploy" value={chosen ?? ''} disabled={deployable.length === 0} onChange={(event) => setVersionId(Number(event.target.value))}>
              {deployable.map((version) => (
                <option key={version.id} value={version.id}>
                  v{version.version}
                  {version.aliases.length > 0 && ` (${version.aliases.map((alias) => `@${alias}`).join(' ')})`}
                </option>
              ))}
            </select>
          </label>
          <label>
            Target <input aria-label="target" value={target} onChange={(event) => setTarget(event.target.value)} size={12} />
          </label>
          <label>
            Strategy{' '}
            <select aria-label="strategy" value={strategy} onChange={(event) => setStrategy(event.target.value as DeploymentStrategy)}>
              {DEPLOYMENT_STRATEGIES.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
          {strategy === 'canary' && (
            <label>
              Canary traffic % <input aria-label="canary traffic percent" value={canary} onChange={(event) => setCanary(event.target.value)} size={4} />
            </label>
          )}
        </div>
        <div className="form-row">
          <label>
            SLA p99 latency ms <input aria-label="sla latency p99 ms" value={latency} onChange={(event) => setLatency(event.target.value)} size={6} />
          </label>
          <label>
            throughput rps <input aria-label="sla throughput rps" value={throughput} onChange={(event) => setThroughput(event.target.value)} size={6} />
          </label>
          <label>
            availability % <input aria-label="sla availability percent" value={availability} onChange={(event) => setAvailability(event.target.value)} size={6} />
          </label>
          <label>
            Health URL <input aria-label="health url" value={healthUrl} onChange={(event) => setHealthUrl(event.target.value)} size={30} placeholder="http://…/health" />
          </label>
          <button type="submit" disabled={chosen === null}>
            Deploy…
          </button>
        </div>
      </form>
      {confirming && chosenVersion && (
        <ConfirmDialog
          title={`Deploy v${chosenVersion.version} to ${target}`}
          confirmLabel="Deploy"
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            await deploy({
              versionId: chosenVersion.id,
              target,
              strategy,
              canaryTrafficPercent: strategy === 'canary' ? number(canary) : null,
              sla: { latencyP99Ms: number(latency), throughputRps: number(throughput), availabilityPercent: number(availability) },
              healthUrl: healthUrl.trim() === '' ? null : healthUrl.trim()
            })
            setConfirming(false)
          }}
        >
          <p>
            {strategy}
            {strategy === 'canary' && ` with ${canary}% of traffic`}.
          </p>
        </ConfirmDialog>
      )}
    </>
  )
}
