import { createStore } from 'zustand/vanilla'
import type { ApiInfo, HypercubeApi } from '../../../shared/contract'
import type { ErrorInfo } from '../../../shared/errors'
import { call, errorInfo } from '../lib/call'
import { parsePanels, type PanelConfig } from '../lib/chart-panels'

/** Replaces the address's hash without a history entry (and without a hashchange event). */
function replaceHash(hash: string): void {
  // Through globalThis: this module is also compiled for (and unit-tested in) Node, without the DOM.
  const { history } = globalThis as { history?: { replaceState: (data: unknown, unused: string, url: string) => void } }
  history?.replaceState(null, '', hash)
}

/**
 * The runs table's state as the address carries it (`#/experiments/7?filter=…&sort=-name&col=…&sel=3-9`),
 * so a reload, a shared link and back/forward show the same table.
 */
export interface RunsTableUrlState {
  filter: string
  /** Sort terms in order; `desc` for descending. */
  sort: Array<{ id: string; desc: boolean }>
  /** The chosen columns; null when the address names none (the experiment's remembered or default columns). */
  columns: string[] | null
  /** The selected run ids; null when the address names none (the selection remembered for the experiment). */
  selected: number[] | null
  /** The param or tag the runs are grouped by (`params.<key>` / `tags.<key>`); absent for no grouping. */
  group?: string
  /** Column widths in pixels the user dragged to (`w=<px>:<column id>`); absent: the remembered or default widths. */
  widths?: Record<string, number>
  /** The run-name search typed above the table (`q=`); absent for none. */
  nameQuery?: string
  /** The experiment's soft-deleted runs instead of its active ones (`deleted=1`). */
  deleted?: boolean
}

/**
 * The compare view's state as the address carries it (`#/experiments/7/compare?runs=3-9&sx=params.lr&sy=metrics.loss&log=params.lr`):
 * which runs are compared and how its scatter and parallel coordinates are set.
 */
export interface CompareUrlState {
  /** The compared run ids in the order chosen; null when the address names none (the selection remembered for the experiment). */
  runs: number[] | null
  /** The scatter's x and y dimensions. */
  scatterX?: string
  scatterY?: string
  /** The parallel-coordinates axes, in order. */
  axes?: string[]
  /** Dimensions the user switched to log (true) or linear (false). */
  logScales?: Record<string, boolean>
  /** The overlay charts zoomed in, by metric key: the step range shown. */
  zoom?: Record<string, { fromStep: bigint; toStep: bigint }>
  /** The overlay charts whose settings the user changed (x axis, log, smoothing, y range, size), one panel per metric, its id the metric key. */
  charts?: PanelConfig[]
}

export const EMPTY_TABLE_URL_STATE: RunsTableUrlState = { filter: '', sort: [], columns: null, selected: null }

/** Where the user is (hash routes, so the same build works from file:// and over HTTP). */
export type Route =
  | { page: 'experiments' }
  /** `charts`: the experiment's chart panels (metrics, x axis, log, smoothing, y range…) when the address names them. */
  | { page: 'experiment'; experimentId: number; tab: 'runs' | 'leaderboard'; table?: RunsTableUrlState; charts?: PanelConfig[] }
  | { page: 'run'; runId: number }
  /** The link the mlflow client prints after a run (`View run … at: <URI>/#/experiments/1/runs/<run id>`). */
  | { page: 'mlflowRun'; experimentId: number; runUuid: string }
  | { page: 'compare'; experimentId: number; compare?: CompareUrlState }
  | { page: 'models' }
  | { page: 'model'; modelName: string; tab: ModelTab }
  | { page: 'plugins' }
  | { page: 'settings' }

export const MODEL_TABS = ['versions', 'lineage', 'compare', 'deployments'] as const
export type ModelTab = (typeof MODEL_TABS)[number]

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = splitOnce(hash.replace(/^#/, ''), '?')
  let match = /^\/experiments\/(\d+)\/runs\/([0-9a-f]{32})$/.exec(path)
  if (match) return { page: 'mlflowRun', experimentId: Number(match[1]), runUuid: match[2]! }
  match = /^\/experiments\/(\d+)(?:\/(runs|leaderboard))?$/.exec(path)
  if (match) {
    const tab = (match[2] as 'runs' | 'leaderboard' | undefined) ?? 'runs'
    if (tab !== 'runs') return { page: 'experiment', experimentId: Number(match[1]), tab }
    const charts = parseChartsQuery(query)
    return { page: 'experiment', experimentId: Number(match[1]), tab, table: parseTableQuery(query), ...(charts ? { charts } : {}) }
  }
  match = /^\/runs\/(\d+)$/.exec(path)
  if (match) return { page: 'run', runId: Number(match[1]) }
  match = /^\/experiments\/(\d+)\/compare$/.exec(path)
  if (match) return { page: 'compare', experimentId: Number(match[1]), compare: parseCompareQuery(query) }
  match = /^\/models\/([^/]+)(?:\/(versions|lineage|compare|deployments))?$/.exec(path)
  if (match) return { page: 'model', modelName: decodeURIComponent(match[1]!), tab: (match[2] as ModelTab | undefined) ?? 'versions' }
  if (path === '/models') return { page: 'models' }
  if (path === '/plugins') return { page: 'plugins' }
  if (path === '/settings') return { page: 'settings' }
  return { page: 'experiments' }
}

export function routeHash(route: Route): string {
  switch (route.page) {
    case 'experiments':
      return '#/'
    case 'experiment': {
      if (route.tab !== 'runs') return `#/experiments/${route.experimentId}/${route.tab}`
      const query = [route.table ? tableQuery(route.table) : '', route.charts ? chartsQuery(route.charts) : ''].filter((part) => part !== '').join('&')
      return `#/experiments/${route.experimentId}${query === '' ? '' : `?${query}`}`
    }
    case 'run':
      return `#/runs/${route.runId}`
    case 'mlflowRun':
      return `#/experiments/${route.experimentId}/runs/${route.runUuid}`
    case 'compare': {
      const query = route.compare ? compareQuery(route.compare) : ''
      return `#/experiments/${route.experimentId}/compare${query === '' ? '' : `?${query}`}`
    }
    case 'models':
      return '#/models'
    case 'model':
      return `#/models/${encodeURIComponent(route.modelName)}${route.tab === 'versions' ? '' : `/${route.tab}`}`
    case 'plugins':
      return '#/plugins'
    case 'settings':
      return '#/settings'
  }
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator)
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)]
}

/** Run ids as ranges (`3-9,12`): a selection of consecutive runs stays short in the address. */
export function formatIdRanges(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`)
    i = j + 1
  }
  return parts.join(',')
}

export function parseIdRanges(text: string): number[] {
  const ids: number[] = []
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim())
    if (!match) continue
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    // A hand-edited address cannot make the page build a billion ids.
    for (let id = from; id <= to && ids.length < 100_000; id++) ids.push(id)
  }
  return ids
}

function tableQuery(table: RunsTableUrlState): string {
  const query = new URLSearchParams()
  if (table.filter !== '') query.set('filter', table.filter)
  for (const term of table.sort) query.append('sort', `${term.desc ? '-' : ''}${term.id}`)
  if (table.columns !== null) {
    // An empty `col` says "no columns chosen", which differs from naming none.
    if (table.columns.length === 0) query.append('col', '')
    for (const column of table.columns) query.append('col', column)
  }
  if (table.selected !== null && table.selected.length > 0) query.set('sel', formatIdRanges(table.selected))
  if (table.group) query.set('group', table.group)
  for (const [column, width] of Object.entries(table.widths ?? {})) query.append('w', `${Math.round(width)}:${column}`)
  if (table.nameQuery) query.set('q', table.nameQuery)
  if (table.deleted) query.set('deleted', '1')
  return query.toString()
}

/** The chart panels as one `charts` term (JSON: they are few, and parsePanels checks every field read back). */
function chartsQuery(panels: PanelConfig[]): string {
  return new URLSearchParams({ charts: JSON.stringify(panels) }).toString()
}

function parseChartsQuery(text: string): PanelConfig[] | null {
  const charts = new URLSearchParams(text).get('charts')
  if (charts === null) return null
  try {
    return parsePanels(JSON.parse(charts))
  } catch {
    return null // a mangled link shows the remembered panels
  }
}

function compareQuery(compare: CompareUrlState): string {
  const query = new URLSearchParams()
  // Not as ranges: the order is the user's (it fixes the colours and columns), so ids are listed as chosen.
  if (compare.runs !== null && compare.runs.length > 0) query.set('runs', compare.runs.join(','))
  if (compare.scatterX) query.set('sx', compare.scatterX)
  if (compare.scatterY) query.set('sy', compare.scatterY)
  if (compare.axes) {
    if (compare.axes.length === 0) query.append('axis', '')
    for (const axis of compare.axes) query.append('axis', axis)
  }
  for (const [dimension, log] of Object.entries(compare.logScales ?? {})) query.append(log ? 'log' : 'lin', dimension)
  // The range first: a metric key may hold ':' and '-'.
  for (const [key, range] of Object.entries(compare.zoom ?? {})) query.append('zoom', `${range.fromStep}-${range.toStep}:${key}`)
  // As the experiment page's panels: one JSON term, read back by parseChartsQuery.
  if (compare.charts && compare.charts.length > 0) query.set('charts', JSON.stringify(compare.charts))
  return query.toString()
}

function parseCompareQuery(text: string): CompareUrlState {
  const query = new URLSearchParams(text)
  const runs = query.get('runs')
  const axes = query.getAll('axis')
  const logScales: Record<string, boolean> = {}
  for (const dimension of query.getAll('log')) logScales[dimension] = true
  for (const dimension of query.getAll('lin')) logScales[dimension] = false
  const zoom: Record<string, { fromStep: bigint; toStep: bigint }> = {}
  for (const term of query.getAll('zoom')) {
    const match = /^(\d{1,18})-(\d{1,18}):(.+)$/.exec(term)
    if (match && BigInt(match[1]!) <= BigInt(match[2]!)) zoom[match[3]!] = { fromStep: BigInt(match[1]!), toStep: BigInt(match[2]!) }
  }
  const scatterX = query.get('sx')
  const scatterY = query.get('sy')
  const charts = parseChartsQuery(text)
  return {
    runs: runs === null ? null : [...new Set(runs.split(',').map(Number).filter((id) => Number.isSafeInteger(id) && id > 0))],
    ...(scatterX ? { scatterX } : {}),
    ...(scatterY ? { scatterY } : {}),
    ...(axes.length > 0 ? { axes: axes.filter((axis) => axis !== '') } : {}),
    ...(Object.keys(logScales).length > 0 ? { logScales } : {}),
    ...(Object.keys(zoom).length > 0 ? { zoom } : {}),
    ...(charts && charts.length > 0 ? { charts } : {})
  }
}

function parseTableQuery(text: string): RunsTableUrlState {
  if (text === '') return EMPTY_TABLE_URL_STATE
  const query = new URLSearchParams(text)
  const columns = query.getAll('col')
  const selected = query.get('sel')
  const group = query.get('group')
  const widths = parseWidths(query.getAll('w'))
  const nameQuery = query.get('q')
  return {
    ...(group ? { group } : {}),
    ...(widths ? { widths } : {}),
    ...(nameQuery ? { nameQuery } : {}),
    ...(query.get('deleted') === '1' ? { deleted: true } : {}),
    filter: query.get('filter') ?? '',
    sort: query
      .getAll('sort')
      .filter((term) => term !== '' && term !== '-')
      .map((term) => (term.startsWith('-') ? { id: term.slice(1), desc: true } : { id: term, desc: false })),
    columns: columns.length === 0 ? null : columns.filter((column) => column !== ''),
    selected: selected === null ? null : parseIdRanges(selected)
  }
}

/** `w=<px>:<column id>` terms (the id after the first colon, so ids may hold colons); out-of-range widths are dropped. */
function parseWidths(terms: string[]): Record<string, number> | null {
  const widths: Record<string, number> = {}
  for (const term of terms) {
    const match = /^(\d{1,4}):(.+)$/.exec(term)
    if (!match) continue
    const width = Number(match[1])
    if (width >= MIN_COLUMN_WIDTH && width <= MAX_COLUMN_WIDTH) widths[match[2]!] = width
  }
  return Object.keys(widths).length > 0 ? widths : null
}

export const MIN_COLUMN_WIDTH = 48
export const MAX_COLUMN_WIDTH = 1200

export interface AppState {
  route: Route
  apiInfo: ApiInfo | null
  /** Why an MLflow run link could not be opened (no such run here). */
  mlflowRunError: ErrorInfo | null
  setRoute: (route: Route) => void
  loadApiInfo: () => Promise<void>
  /** Opens the run an MLflow run link names, in place of the link (the back button skips it). */
  openMlflowRun: (runUuid: string) => Promise<void>
}

export function createAppStore(api: HypercubeApi, initialHash: string) {
  return createStore<AppState>()((set) => ({
    route: parseRoute(initialHash),
    apiInfo: null,
    mlflowRunError: null,
    setRoute: (route) => set({ route, mlflowRunError: null }),
    openMlflowRun: async (runUuid) => {
      try {
        const { runId } = await call(api, 'runs.findByUuid', { runUuid })
        const route: Route = { page: 'run', runId }
        set({ route, mlflowRunError: null })
        replaceHash(routeHash(route))
      } catch (error) {
        set({ mlflowRunError: errorInfo(error) })
      }
    },
    loadApiInfo: async () => {
      try {
        set({ apiInfo: await call(api, 'system.apiInfo', {}) })
      } catch {
        // The empty states fall back to naming the token file in general terms.
      }
    }
  }))
}

export type AppStore = ReturnType<typeof createAppStore>
