import { z } from 'zod'
import { experimentId, id, LIMITS, text } from './schemas'

/**
 * Grouped series: the runs of a sweep grouped by one param or tag, and per group and metric
 * its mean, min, max and std at each step bucket, computed in PostgreSQL over every run asked
 * (runs.groupedSeries). The grouping rules live here so the runs table's group rows (computed
 * in the browser, lib/run-groups.ts) and main's groups agree on each group's value, label and
 * order, and hence on its colour.
 */

/** The label of the group of runs that lack the param or tag. */
export const NO_VALUE_LABEL = '(not set)'

/** Runs one call aggregates at most (the table's size: a sweep of 20,000 runs fits twice). */
export const MAX_GROUPED_RUNS = 50_000
/** Metric keys one call aggregates at most (a panel's metrics, or every panel's). */
export const MAX_GROUPED_KEYS = 16

/** `params.<key>` or `tags.<key>`: what the runs table groups by. */
export const GROUP_BY_PATTERN = /^(params|tags)\.(.+)$/s

export const groupedSeriesInput = z
  .object({
    experimentId,
    runIds: z.array(id).min(1, 'must name at least one run').max(MAX_GROUPED_RUNS, `must name at most ${MAX_GROUPED_RUNS.toLocaleString('en-US')} runs`),
    groupBy: text(LIMITS.tagKey + 'params.'.length, 1).regex(GROUP_BY_PATTERN, "must be 'params.<key>' or 'tags.<key>'"),
    keys: z.array(text(LIMITS.metricKey, 1)).min(1, 'must name at least one metric').max(MAX_GROUPED_KEYS, `must name at most ${MAX_GROUPED_KEYS} metrics`),
    /** Step buckets per key at most: one per step while the steps fit, else buckets of equal width. */
    maxBuckets: z.number().int().min(10).max(10_000).default(1_000)
  })
  .strict()

export type GroupedSeriesInput = z.input<typeof groupedSeriesInput>

/** One key of one group: a column per step bucket that holds a value of at least one run. */
export interface GroupedKeySeries {
  key: string
  /** The step a bucket's values are drawn at: its last step (a run's value is its last in the bucket). */
  steps: number[]
  /** The bucket's first step (its range is fromSteps[i]..steps[i]). */
  fromSteps: number[]
  mean: number[]
  min: number[]
  max: number[]
  /** Population standard deviation over the runs with a finite value in the bucket. */
  std: number[]
  /** Runs with a finite value in the bucket. */
  count: number[]
}

export interface SeriesGroup {
  /** The group's value as text, as groupValueText spells it ('' for the runs without one). */
  key: string
  label: string
  /** Runs in the group (of those asked). */
  runCount: number
  series: GroupedKeySeries[]
}

export interface GroupedSeries {
  groupBy: string
  /** Runs aggregated: those asked that belong to the experiment. */
  runCount: number
  /** Per key, the width in steps of its buckets (1: a column per step). */
  bucketWidths: Record<string, number>
  groups: SeriesGroup[]
}

/** A param's or tag's value as the group's text: strings as they are, anything else as JSON; '' for none. */
export function groupValueText(value: unknown): string {
  if (value === null || value === undefined) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * The order of groups: by value, numerically when every value is a number, the group without a
 * value ('') last.
 */
export function orderGroupKeys(keys: Iterable<string>): string[] {
  const all = [...keys]
  const valued = all.filter((key) => key !== '')
  const numeric = valued.every((key) => key.trim() !== '' && Number.isFinite(Number(key)))
  valued.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => a.localeCompare(b))
  if (all.includes('')) valued.push('')
  return valued
}

export const groupLabel = (key: string): string => (key === '' ? NO_VALUE_LABEL : key)
