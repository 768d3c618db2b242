/**
 * Progress of long CLI work: on a terminal, one bar rewritten in place with the percentage, the
 * ETA and what is being done; otherwise (a pipe, a log file) plain lines — at most one every
 * 10 % or every 5 seconds, so a log stays readable.
 */
export interface ProgressSink {
  /** Work done out of total (any unit), and what it is now. */
  update(done: number, total: number, detail: string): void
  /** A line that stays (a run exported, a warning). */
  line(text: string): void
  /** Clears the bar; lines written after this start on a clean line. */
  finish(): void
}

export const silentProgress: ProgressSink = { update: () => undefined, line: () => undefined, finish: () => undefined }

const BAR_WIDTH = 24

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

export class TerminalProgress implements ProgressSink {
  private readonly startedAt: number
  private barShown = false
  private lastPlainPercent = -10
  private lastPlainAt = 0

  constructor(
    private readonly out: (text: string) => void,
    private readonly tty: boolean,
    private readonly columns: () => number = () => process.stdout.columns || 80,
    private readonly now: () => number = Date.now
  ) {
    this.startedAt = now()
  }

  update(done: number, total: number, detail: string): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1
    const percent = Math.floor(fraction * 100)
    const elapsed = (this.now() - this.startedAt) / 1000
    const eta = fraction > 0 && fraction < 1 ? (elapsed / fraction) * (1 - fraction) : fraction >= 1 ? 0 : Number.NaN
    if (this.tty) {
      const filled = Math.round(fraction * BAR_WIDTH)
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}%  ETA ${formatDuration(eta)}  ${detail}`
      this.out(`\r\u001b[K${bar.slice(0, Math.max(20, this.columns() - 1))}`)
      this.barShown = true
      return
    }
    const now = this.now()
    if (percent >= this.lastPlainPercent + 10 || (now - this.lastPlainAt >= 5_000 && percent !== this.lastPlainPercent) || (percent === 100 && this.lastPlainPercent !== 100)) {
      this.out(`${percent}% (ETA ${formatDuration(eta)}) ${detail}\n`)
      this.lastPlainPercent = percent
      this.lastPlainAt = now
    }
  }

  line(text: string): void {
    if (this.barShown) this.out('\r\u001b[K')
    this.barShown = false
    this.out(`${text}\n`)
  }

  finish(): void {
    if (this.barShown) this.out('\r\u001b[K')
    this.barShown = false
  }
}
