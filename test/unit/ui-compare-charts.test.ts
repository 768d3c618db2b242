import { describe, expect, it } from 'vitest'
import type { MetricSeries } from '../../src/shared/domain'
import { axisScale, linearTicks, logTicks, type CategoricalAxis, type NumericAxis } from '../../src/renderer/src/lib/axis-scale'
import { hoverIndex, medianGap, SINGLE_INSTANT_PAD_S, timeAxisRange } from '../../src/renderer/src/lib/chart-data'
import { axisDimensions, reconcileAxes, runsInBrushes } from '../../src/renderer/src/lib/compare'
import { assignColorSlots, colorOfSlot, RUN_PALETTE, runColors, runColorsKey } from '../../src/renderer/src/lib/run-colors'
import { memoryStorage } from '../../src/renderer/src/lib/storage'
import { createCompareStore } from '../../src/renderer/src/stores/compare-store'
import { selectionKey } from '../../src/renderer/src/stores/runs-table-store'
import { fakeApi, runRow } from './ui-fake-api'

/** The pure parts of issue 13 items 1, 3, 4 and 5: run colours, axis scales, hover and time range. */

describe('run colours', () => {
  it('has 20 distinct palette colours, and slots past 20 still give colours', () => {
    expect(new Set(RUN_PALETTE.map((color) => color.toLowerCase())).size).toBe(20)
    expect(colorOfSlot(0)).toBe(RUN_PALETTE[0])
    expect(colorOfSlot(25)).toMatch(/^hsl\(/)
  })

  it('gives up to 20 runs distinct slots whatever their ids', () => {
    // Ids 16 apart collided under the old id-modulo-16 colouring.
    const ids = Array.from({ length: 20 }, (_, i) => 5 + i * 16)
    const slots = assignColorSlots({}, ids)
    expect(new Set(Object.values(slots)).size).toBe(20)
    expect(ids.map((id) => slots[id])).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('keeps a run its slot when others join or leave, and gives newcomers the lowest free slot', () => {
    const first = assignColorSlots({}, [10, 20, 30])
    expect(first).toEqual({ 10: 0, 20: 1, 30: 2 })
    const withoutTwenty = assignColorSlots(first, [10, 30, 40])
    expect(withoutTwenty).toEqual({ 10: 0, 30: 2, 40: 1 })
    // A duplicate slot in stored data is not kept twice.
    expect(assignColorSlots({ 1: 0, 2: 0 }, [1, 2])).toEqual({ 1: 0, 2: 1 })
  })

  it('remembers the slots per experiment, so a run keeps its colour across calls (and reloads)', () => {
    const storage = memoryStorage()
    const before = runColors(storage, 7, [3, 1, 2])
    expect(new Set(Object.values(before)).size).toBe(3)
    const after = runColors(storage, 7, [2, 3])
    expect(after[2]).toBe(before[2])
    expect(after[3]).toBe(before[3])
    expect(JSON.parse(storage.getItem(runColorsKey(7))!)).toEqual({ 2: 2, 3: 0 })
    // Garbage in storage is ignored.
    storage.setItem(runColorsKey(8), '{"x": "y"}')
    expect(runColors(storage, 8, [5])).toEqual({ 5: RUN_PALETTE[0] })
  })
})

describe('axis scales', () => {
  it('shows a value shared by every run once, mid-axis, with no invented range', () => {
    const scale = axisScale([64, 64, '64']) as NumericAxis
    expect(scale.kind).toBe('numeric')
    expect(scale.ticks).toEqual([{ label: '64', at: 0.5 }])
    expect(scale.at(64)).toBe(0.5)
    expect(scale.canLog).toBe(false)
    // A brush above the middle means more than the value.
    expect(scale.valueAt(0.75)).toBeGreaterThan(64)
    expect(scale.valueAt(0.5)).toBe(64)
  })

  it('makes strings a categorical axis, one tick per value, evenly spaced', () => {
    const scale = axisScale(['sgd', 'adam', 'sgd', undefined, 'adamw']) as CategoricalAxis
    expect(scale.kind).toBe('categorical')
    expect(scale.ticks).toEqual([
      { label: 'adam', at: 0 },
      { label: 'adamw', at: 0.5 },
      { label: 'sgd', at: 1 }
    ])
    expect(scale.at('sgd')).toBe(1)
    expect(scale.at(undefined)).toBeNull()
    expect(scale.categoriesBetween(0.4, 1)).toEqual(['adamw', 'sgd'])
    // Booleans are labels, not 0 and 1; a single category sits mid-axis.
    expect((axisScale([true, false]) as CategoricalAxis).categories).toEqual(['false', 'true'])
    expect(axisScale(['adam', 'adam'])!.ticks).toEqual([{ label: 'adam', at: 0.5 }])
  })

  it('goes logarithmic by itself for positive values spanning two decades, and obeys the user either way', () => {
    const rates = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0001]
    const auto = axisScale(rates) as NumericAxis
    expect(auto.log).toBe(true)
    expect(auto.ticks.map((tick) => tick.label)).toEqual(['0.0001', '0.001', '0.01', '0.1'])
    expect(auto.at(0.0001)).toBe(0)
    expect(auto.at(0.1)).toBe(1)
    expect(auto.at(0.001)).toBeCloseTo(1 / 3)
    expect(auto.valueAt(2 / 3)).toBeCloseTo(0.01)
    const linear = axisScale(rates, { log: false }) as NumericAxis
    expect(linear.log).toBe(false)
    expect(linear.ticks.map((tick) => tick.label)).toEqual(['0.02', '0.04', '0.06', '0.08', '0.1'])
    // One decade: linear unless asked; zero or negative values can never be log.
    expect((axisScale([1, 5]) as NumericAxis).log).toBe(false)
    expect((axisScale([1, 5], { log: true }) as NumericAxis).log).toBe(true)
    expect((axisScale([0, 1000], { log: true }) as NumericAxis).log).toBe(false)
    expect(axisScale([undefined, null])).toBeNull()
  })

  it('places round ticks inside the range', () => {
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(linearTicks(0.1, 0.35)).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35])
    expect(linearTicks(90, 99)).toEqual([90, 92, 94, 96, 98])
    expect(logTicks(0.00003, 0.1)).toEqual([0.0001, 0.001, 0.01, 0.1])
    expect(logTicks(2, 50)).toEqual([2, 5, 10, 20, 50])
  })
})

describe('compare axes and brushes', () => {
  const runs = [
    runRow(1, 7, { hyperparameters: { lr: 0.1, optimizer: 'adam', layers: { a: 1 } } }),
    runRow(2, 7, { hyperparameters: { lr: 0.01, optimizer: 'sgd' }, metrics: [] })
  ]

  it('offers categorical params as axes, and only dimensions some run has', () => {
    const dimensions = axisDimensions(runs)
    expect(dimensions).toEqual(['params.lr', 'params.optimizer', 'metrics.loss'])
    expect(axisDimensions([runs[1]!])).not.toContain('metrics.loss')
  })

  it('keeps the chosen axes the runs still have, else picks the default (no resources, at most 8)', () => {
    expect(reconcileAxes(['params.lr', 'metrics.accuracy'], ['params.lr', 'metrics.loss'])).toEqual(['params.lr'])
    expect(reconcileAxes(['metrics.accuracy'], ['params.gamma', 'metrics.reward', 'resources.gpuHours'])).toEqual(['params.gamma', 'metrics.reward'])
    const many = Array.from({ length: 12 }, (_, i) => `params.p${i}`)
    expect(reconcileAxes([], many)).toHaveLength(8)
  })

  it('brushes a categorical axis by its categories', () => {
    expect(runsInBrushes(runs, { 'params.optimizer': { categories: ['sgd'] } }).map((run) => run.id)).toEqual([2])
    expect(runsInBrushes(runs, { 'params.optimizer': { categories: [] } })).toEqual([])
  })
})

describe('the compare store, colours and axes', () => {
  const series = (runId: number, key: string): MetricSeries => ({ runId, key, totalPoints: 1, mode: 'raw', points: [], buckets: [] })

  it('colours the runs on open, keeps them when brushing narrows the set, and drops axes another experiment lacks', async () => {
    const rows = [
      runRow(1, 7, { hyperparameters: { lr: 0.1, optimizer: 'adam' } }),
      runRow(17, 7, { hyperparameters: { lr: 0.01, optimizer: 'sgd' } }),
      runRow(33, 7, { hyperparameters: { lr: 0.001, optimizer: 'sgd' } }),
      runRow(40, 8, { hyperparameters: { gamma: 0.9 }, metrics: [] }),
      runRow(41, 8, { hyperparameters: { gamma: 0.99 }, metrics: [] })
    ]
    const storage = memoryStorage()
    storage.setItem(selectionKey(7), JSON.stringify([1, 17, 33]))
    storage.setItem(selectionKey(8), JSON.stringify([40, 41]))
    const fake = fakeApi({ 'runs.rows': ({ runIds }) => rows.filter((row) => runIds.includes(row.id)), 'runs.metricSeries': ({ runId, key }) => series(runId, key) })
    const store = createCompareStore({ api: fake.api, storage })
    await store.getState().open(7)
    const colors = store.getState().colors
    // Ids 1, 17 and 33 are 16 apart: distinct colours all the same.
    expect(new Set([colors[1], colors[17], colors[33]]).size).toBe(3)
    expect(store.getState().axes).toEqual(['params.lr', 'params.optimizer', 'metrics.loss'])

    store.getState().setBrush('params.optimizer', { categories: ['sgd'] })
    store.getState().keepBrushed()
    expect(store.getState().runs.map((run) => run.id)).toEqual([17, 33])
    expect(store.getState().colors).toEqual({ 17: colors[17], 33: colors[33] })

    store.getState().setLogScale('params.lr', false)
    expect(store.getState().logScales).toEqual({ 'params.lr': false })

    await store.getState().open(8)
    expect(store.getState().axes).toEqual(['params.gamma'])
  })
})

describe('chart x axes and hover', () => {
  it('spans the real time range, and a few seconds around points that share one timestamp', () => {
    expect(timeAxisRange(1000, 1100)).toEqual([998, 1102])
    expect(timeAxisRange(1_764_000_000, 1_764_000_000)).toEqual([1_764_000_000 - SINGLE_INSTANT_PAD_S, 1_764_000_000 + SINGLE_INSTANT_PAD_S])
    expect(timeAxisRange(null, null)).toEqual([0, 1])
  })

  it('hovers a run only where it has a point, or one within its usual gap', () => {
    const xs = [0, 5, 10, 15, 20, 25, 30]
    // A run logged every 10 steps up to 20.
    const ys = [1, undefined, 2, undefined, 3, undefined, undefined]
    const reach = medianGap([0, 10, 20])
    expect(reach).toBe(10)
    expect(hoverIndex(xs, ys, 2, reach)).toBe(2)
    expect(hoverIndex(xs, ys, 3, reach)).toBe(2) // step 15: its point at 10 (ties go left)
    expect(hoverIndex(xs, ys, 5, reach)).toBeNull() // step 25: after its last point
    expect(hoverIndex(xs, ys, 6, reach)).toBeNull()
    // A point with a value that cannot be drawn (NaN → null) is still the run's point.
    expect(hoverIndex([0, 1], [null, 1], 0, 1)).toBe(0)
    // A long gap in the run: the middle of it is too far from either side.
    expect(hoverIndex([0, 1, 50, 99, 100], [1, 1, undefined, 1, 1], 2, 1)).toBeNull()
    expect(medianGap([3])).toBe(0)
  })
})
