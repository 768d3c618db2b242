import { useEffect, useMemo, useState } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { DEPLOYMENT_STRATEGIES, type Deployment, type DeploymentStrategy, type ModelVersion } from '../../../shared/domain'
import { formatBytes, formatDateTime, formatJsonValue, formatNumber } from '../lib/format'
import { MODEL_TABS, routeHash, type ModelTab } from '../stores/app-store'
import { LEGAL_REVIEWS, legalDeploymentActions, type DeploymentAction, type ReviewDecision } from '../stores/models-store'
import { useModels } from '../stores'
import { ConfirmDialog, EmptyState, ErrorNote, StatusBadge } from './common'

export function ModelsView(): React.JSX.Element {
  const { models, loaded, error, load } = useModels(useShallow((s) => ({ models: s.models, loaded: s.modelsLoaded, error: s.modelsError, load: s.loadModels })))
  useEffect(() => void load(), [load])
  return (
    <div className="page">
      <div className="page-header">
        <h1>Models</h1>
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
      {models.length > 0 && (
        <table className="grid" aria-label="models">
          <thead>
            <tr>
              <th>Model</th>
              <th className="num">Versions</th>
              <th>Latest version</th>
            </tr>
          </thead>
          <tbody>
            {models.map((model) => (
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
  return (
    <div className="page page-wide">
      <div className="breadcrumbs">
        <a href={routeHash({ page: 'models' })}>Models</a> / <span>{modelName}</span>
      </div>
      <div className="page-header">
        <h1>{modelName}</h1>
      </div>
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

const REVIEW_LABELS: Record<ReviewDecision, { button: string; title: string; notes: string; required: boolean }> = {
  approve: { button: 'Approve', title: 'Approve this version', notes: 'Approval notes', required: false },
  reject: { button: 'Reject', title: 'Reject this version', notes: 'Reason', required: true },
  deprecate: { button: 'Deprecate', title: 'Deprecate this version', notes: 'Why it is deprecated', required: false }
}

function versionLabel(version: ModelVersion | undefined, id: number | null): string {
  if (id === null) return '—'
  return version ? `v${version.version}` : `#${id}`
}

function VersionsTab(): React.JSX.Element {
  const { versions, review, verify, verifications } = useModels(useShallow((s) => ({ versions: s.versions, review: s.review, verify: s.verify, verifications: s.verifications })))
  const [pending, setPending] = useState<{ version: ModelVersion; decision: ReviewDecision } | null>(null)
  const byId = useMemo(() => new Map(versions.map((version) => [version.id, version])), [versions])
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
                  <span key={alias} className="badge badge-best">
                    @{alias}
                  </span>
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
                    <button type="button" onClick={() => void verify(version.id)}>
                      Verify
                    </button>{' '}
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
                  <th>Review</th>
                  <td colSpan={3} data-testid={`review-${version.id}`}>
                    {version.reviewedAt ? `${version.approvalStatus === 'rejected' ? 'Rejected' : 'Approved'} by ${version.reviewedBy ?? 'unknown'} on ${formatDateTime(version.reviewedAt)}` : 'Not reviewed yet'}
                    {version.approvalNotes && ` — “${version.approvalNotes}”`}
                    {version.deprecatedAt && ` · deprecated by ${version.deprecatedBy ?? 'unknown'} on ${formatDateTime(version.deprecatedAt)}${version.deprecationNotes ? ` — “${version.deprecationNotes}”` : ''}`}
                  </td>
                </tr>
              </tbody>
            </table>
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
        />
      )}
    </section>
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

function DeploymentsTab(): React.JSX.Element {
  const s = useModels(
    useShallow((state) => ({ versions: state.versions, deployments: state.deployments, history: state.history, healthChecks: state.healthChecks, act: state.act }))
  )
  const byId = useMemo(() => new Map(s.versions.map((version) => [version.id, version])), [s.versions])
  const [pending, setPending] = useState<{ deployment: Deployment; action: DeploymentAction } | null>(null)
  return (
    <section>
      <DeployForm />
      {s.deployments.length === 0 && <p className="subtle">Not deployed anywhere yet.</p>}
      {s.deployments.map((deployment) => {
        const checks = s.healthChecks[deployment.target] ?? []
        const breaches = checks.filter((check) => check.status !== 'healthy')
        return (
          <article key={deployment.target} className="panel" data-target={deployment.target} aria-label={`deployment ${deployment.target}`}>
            <div className="panel-header">
              <h2>
                {deployment.target}: <span data-testid={`current-${deployment.target}`}>{versionLabel(byId.get(deployment.currentVersionId), deployment.currentVersionId)}</span>{' '}
                <span className="badge">{deployment.strategy}</span>
                {deployment.canaryTrafficPercent !== null && <span className="badge badge-running">canary {formatNumber(deployment.canaryTrafficPercent)}%</span>}
                <StatusBadge status={deployment.health.status} />
              </h2>
              <span className="actions">
                {legalDeploymentActions(deployment).map((action) => (
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
                  <td>{versionLabel(byId.get(deployment.previousVersionId ?? -1), deployment.previousVersionId)}</td>
                  <th>Deployed</th>
                  <td>
                    {formatDateTime(deployment.deployedAt)}
                    {deployment.deployedBy && ` by ${deployment.deployedBy}`}
                  </td>
                </tr>
                <tr>
                  <th>SLA</th>
                  <td>
                    p99 ≤ {deployment.sla.latencyP99Ms === null ? '—' : `${formatNumber(deployment.sla.latencyP99Ms)} ms`} · throughput ≥{' '}
                    {deployment.sla.throughputRps === null ? '—' : `${formatNumber(deployment.sla.throughputRps)} rps`} · availability ≥{' '}
                    {deployment.sla.availabilityPercent === null ? '—' : `${formatNumber(deployment.sla.availabilityPercent)}%`}
                  </td>
                  <th>Health</th>
                  <td>
                    {deployment.health.url ? (
                      <>
                        <span className="mono">{deployment.health.url}</span> · {deployment.health.latencyMs === null ? '—' : `${formatNumber(deployment.health.latencyMs)} ms`} ·{' '}
                        {deployment.health.availabilityPercent === null ? '—' : `${formatNumber(deployment.health.availabilityPercent)}% available`} · checked{' '}
                        {formatDateTime(deployment.health.checkedAt)}
                        {breaches.length > 0 && <span className="bad"> · {breaches.length} of the last {checks.length} checks breached the SLA</span>}
                      </>
                    ) : (
                      <span className="subtle">no health URL</span>
                    )}
                  </td>
                </tr>
              </tbody>
            </table>
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
                <td>{versionLabel(byId.get(event.fromVersionId ?? -1), event.fromVersionId)}</td>
                <td>{versionLabel(byId.get(event.toVersionId ?? -1), event.toVersionId)}</td>
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
          <p>
            {pending.deployment.modelName} on {pending.deployment.target}: now {versionLabel(byId.get(pending.deployment.currentVersionId), pending.deployment.currentVersionId)}
            {pending.action !== 'promote' && `, back to ${versionLabel(byId.get(pending.deployment.previousVersionId ?? -1), pending.deployment.previousVersionId)}`}.
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}

/**
 * Deploy form. Every version is listed (not only approved ones) with its status, so a person
 * sees why a version cannot go out; main refuses unapproved versions and the refusal is shown.
 */
function DeployForm(): React.JSX.Element {
  const { versions, deploy } = useModels(useShallow((s) => ({ versions: s.versions, deploy: s.deploy })))
  const [versionId, setVersionId] = useState<number | null>(null)
  const [target, setTarget] = useState('production')
  const [strategy, setStrategy] = useState<DeploymentStrategy>('blue-green')
  const [canary, setCanary] = useState('10')
  const [latency, setLatency] = useState('')
  const [throughput, setThroughput] = useState('')
  const [availability, setAvailability] = useState('')
  const [healthUrl, setHealthUrl] = useState('')
  const [confirming, setConfirming] = useState(false)
  const chosen = versionId ?? versions.find((version) => version.approvalStatus === 'approved')?.id ?? versions[0]?.id ?? null
  const chosenVersion = versions.find((version) => version.id === chosen)
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
      <div className="form-row">
        <label>
          Version{' '}
          <select aria-label="version to deploy" value={chosen ?? ''} onChange={(event) => setVersionId(Number(event.target.value))}>
            {versions.map((version) => (
              <option key={version.id} value={version.id}>
                v{version.version} ({version.approvalStatus})
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
          SLA p99 ms <input aria-label="sla latency p99 ms" value={latency} onChange={(event) => setLatency(event.target.value)} size={6} />
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
            {strategy === 'canary' && ` with ${canary}% of traffic`}; the version is {chosenVersion.approvalStatus}.
          </p>
        </ConfirmDialog>
      )}
    </>
  )
}
