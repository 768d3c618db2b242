import { readJson, writeJson, type KeyValueStorage } from './storage'

/**
 * The one owner of a run's colour. Every view that draws runs side by side (the compare legend
 * and table, overlaid charts, parallel coordinates, scatter, and the runs table's selection)
 * asks here, so a run is drawn in one colour everywhere.
 *
 * Colours are slots in a categorical palette made for up to 20 series (Tableau 20). A run gets a
 * slot when it joins the compared set and keeps it while it stays there, so ticking or unticking
 * other runs does not repaint it; a new run takes the lowest free slot, so up to 20 runs never
 * share a colour. The slots are remembered per experiment, so a reload keeps them too.
 */

/** Tableau 20, its ten strong colours first so that up to ten runs get only strong ones. */
export const RUN_PALETTE: readonly string[] = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#59a14f',
  '#b6992d',
  '#499894',
  '#79706e',
  '#d37295',
  '#b07aa1',
  '#9d7660',
  '#a0cbe8',
  '#ffbe7d',
  '#ff9d9a',
  '#8cd17d',
  '#f1ce63',
  '#86bcb6',
  '#bab0ac',
  '#fabfd2',
  '#d4a6c8',
  '#d7b5a6'
]

/** Drawn for a run that has no slot (not among the compared runs). */
export const UNASSIGNED_RUN_COLOR = '#98a2b3'

/** A run id → its palette slot. */
export type ColorSlots = Record<number, number>

/** The colour of a slot: the palette, then (past 20 runs, up to the 100 compare allows) hues a golden angle apart. */
export function colorOfSlot(slot: number): string {
  if (slot < RUN_PALETTE.length) return RUN_PALETTE[slot]!
  const hue = Math.round((slot * 137.508) % 360)
  return `hsl(${hue}, 60%, ${slot % 2 === 0 ? 42 : 58}%)`
}

/**
 * Slots for `runIds`: a run that had a slot keeps it (unless an earlier run of the list holds
 * it already), the others take the lowest free slots in list order. Runs not in the list lose
 * theirs.
 */
export function assignColorSlots(previous: ColorSlots, runIds: readonly number[]): ColorSlots {
  const slots: ColorSlots = {}
  const taken = new Set<number>()
  for (const runId of runIds) {
    const slot = previous[runId]
    if (slot !== undefined && !taken.has(slot) && slots[runId] === undefined) {
      slots[runId] = slot
      taken.add(slot)
    }
  }
  let next = 0
  for (const runId of runIds) {
    if (slots[runId] !== undefined) continue
    while (taken.has(next)) next++
    slots[runId] = next
    taken.add(next)
  }
  return slots
}

export const runColorsKey = (experimentId: number): string => `hypercube.compare.colors.${experimentId}`

const isColorSlots = (value: unknown): value is ColorSlots =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.entries(value).every(([key, slot]) => /^\d+$/.test(key) && Number.isSafeInteger(slot) && (slot as number) >= 0)

/**
 * The colour of each run of an experiment's compared set (the runs table's selection, or the
 * runs the compare view shows), remembering the slots for the next call.
 */
export function runColors(storage: KeyValueStorage, experimentId: number, runIds: readonly number[]): Record<number, string> {
  const slots = assignColorSlots(readJson(storage, runColorsKey(experimentId), isColorSlots, {}), runIds)
  writeJson(storage, runColorsKey(experimentId), slots)
  return Object.fromEntries(Object.entries(slots).map(([runId, slot]) => [runId, colorOfSlot(slot)]))
}

/** A run's colour from a set made by `runColors`. */
export function runColorIn(colors: Record<number, string>, runId: number): string {
  return colors[runId] ?? UNASSIGNED_RUN_COLOR
}
