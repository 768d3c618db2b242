import { describe, expect, it } from 'vitest'
import { formatDuration, TerminalProgress } from '../../src/main/bundle/progress'

/** Progress of `hypercube export / import / review`: a bar with ETA on a terminal, plain lines otherwise. */

function recorder(tty: boolean) {
  let now = 0
  const out: string[] = []
  const progress = new TerminalProgress((text) => out.push(text), tty, () => 100, () => now)
  return { progress, out, advance: (ms: number) => (now += ms) }
}

describe('TerminalProgress', () => {
  it('on a terminal: one bar rewritten in place, with the percentage and the ETA from the pace so far', () => {
    const { progress, out, advance } = recorder(true)
    advance(10_000)
    progress.update(25, 100, 'run a: loss')
    expect(out.at(-1)).toBe('\r\u001b[K[######------------------]  25%  ETA 0:30  run a: loss')
    progress.line('run a: 25 points')
    expect(out.slice(-2)).toEqual(['\r\u001b[K', 'run a: 25 points\n'])
    advance(30_000)
    progress.update(100, 100, 'done')
    expect(out.at(-1)).toBe('\r\u001b[K[########################] 100%  ETA 0:00  done')
    progress.finish()
    expect(out.at(-1)).toBe('\r\u001b[K')
  })

  it('piped: plain lines, one per 10 % or every 5 s, never a carriage return', () => {
    const { progress, out, advance } = recorder(false)
    for (let done = 1; done <= 100; done++) {
      advance(100)
      progress.update(done, 100, `step ${done}`)
    }
    expect(out).toEqual([
      '1% (ETA 0:10) step 1\n',
      '11% (ETA 0:09) step 11\n',
      '21% (ETA 0:08) step 21\n',
      '31% (ETA 0:07) step 31\n',
      '41% (ETA 0:06) step 41\n',
      '51% (ETA 0:05) step 51\n',
      '61% (ETA 0:04) step 61\n',
      '71% (ETA 0:03) step 71\n',
      '81% (ETA 0:02) step 81\n',
      '91% (ETA 0:01) step 91\n',
      '100% (ETA 0:00) step 100\n'
    ])
    expect(out.join('')).not.toContain('\r')
  })

  it('durations', () => {
    expect([formatDuration(0), formatDuration(59.4), formatDuration(61), formatDuration(3_725), formatDuration(Number.NaN)]).toEqual(['0:00', '0:59', '1:01', '1:02:05', '--:--'])
  })
})
