import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { createFileLogger, logsDir, type Logger } from '../../src/main/logging'
import { makeDataDir } from '../support/test-env'

const childScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'logging', 'log-then-exit.ts')
const tsxLoader = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs')).href

function flushed(logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())))
}

function lines(file: string): Array<{ seq: number; msg: string; level: number }> {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line))
}

describe('the file logger', () => {
  const folders: Array<{ remove: () => void }> = []
  const folder = (): string => {
    const made = makeDataDir('hypercube-log-')
    folders.push(made)
    return made.dir
  }
  afterEach(() => folders.splice(0).forEach((made) => made.remove()))

  it('writes one file per process name', async () => {
    const dataDir = folder()
    const main = createFileLogger(dataDir)
    const api = createFileLogger(dataDir, 'api')
    main.info('from main')
    api.info('from api')
    await Promise.all([flushed(main), flushed(api)])
    expect(lines(join(logsDir(dataDir), 'hypercube.log')).map((line) => line.msg)).toEqual(['from main'])
    expect(lines(join(logsDir(dataDir), 'api.log')).map((line) => line.msg)).toEqual(['from api'])
    expect(() => createFileLogger(dataDir, '../escape')).toThrow(/plain file name/)
  })

  it('shares one writer between loggers of the same file', async () => {
    const dataDir = folder()
    const first = createFileLogger(dataDir, 'hypercube', { maxBytes: 4096 })
    const second = createFileLogger(dataDir)
    for (let seq = 0; seq < 200; seq++) {
      ;(seq % 2 === 0 ? first : second).info({ seq, padding: 'x'.repeat(60) }, 'shared')
      if (seq % 20 === 19) await flushed(first)
    }
    await Promise.all([flushed(first), flushed(second)])
    const file = join(logsDir(dataDir), 'hypercube.log')
    const seqs = [5, 4, 3, 2, 1].flatMap((i) => lines(`${file}.${i}`)).concat(lines(file)).map((line) => line.seq)
    expect(seqs.at(-1)).toBe(199)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i))
  })

  it('returns from a burst of writes before the lines are on disk', async () => {
    const dataDir = folder()
    const logger = createFileLogger(dataDir)
    const file = join(logsDir(dataDir), 'hypercube.log')
    for (let seq = 0; seq < 20_000; seq++) logger.info({ seq }, 'burst')
    // Still inside the tick that logged: nothing can have been written yet.
    expect(statSync(file).size).toBe(0)
    await flushed(logger)
    const written = lines(file)
    expect(written).toHaveLength(20_000)
    expect(written.at(-1)!.seq).toBe(19_999)
  })

  it('rotates while running once the file passes its limit, keeping five', async () => {
    const dataDir = folder()
    const maxBytes = 32 * 1024
    const logger = createFileLogger(dataDir, 'hypercube', { maxBytes })
    const file = join(logsDir(dataDir), 'hypercube.log')
    let seq = 0
    // 40 bursts of ~10 KB, each on disk before the next: the file passes 32 KB about ten
    // times while the logger stays open.
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 80; i++) logger.info({ seq: seq++, padding: 'x'.repeat(60) }, 'rotating')
      await flushed(logger)
    }
    await flushed(logger)

    expect(existsSync(`${file}.5`)).toBe(true)
    expect(existsSync(`${file}.6`)).toBe(false)
    for (let i = 1; i <= 5; i++) expect(statSync(`${file}.${i}`).size).toBeGreaterThanOrEqual(maxBytes)
    // Oldest to newest, the kept files hold one unbroken run of lines ending with the last one.
    const kept = [5, 4, 3, 2, 1].flatMap((i) => lines(`${file}.${i}`)).concat(lines(file))
    const seqs = kept.map((line) => line.seq)
    expect(seqs.at(-1)).toBe(seq - 1)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i))
    expect(seqs[0]).toBeGreaterThan(0) // the oldest rotation was dropped
  })

  it.each(['exit', 'throw', 'fatal'] as const)('keeps every line when the process leaves by %s right after logging', async (mode) => {
    const dataDir = folder()
    const count = 20_000
    const run = promisify(execFile)(process.execPath, ['--import', tsxLoader, childScript, dataDir, String(count), mode]).then(
      () => 0,
      (error: { code?: number }) => error.code ?? -1
    )
    expect(await run).toBe(mode === 'throw' ? 1 : 3)
    const written = lines(join(logsDir(dataDir), 'child.log'))
    expect(written).toHaveLength(count + 1)
    expect(written.map((line) => line.seq)).toEqual(Array.from({ length: count + 1 }, (_, i) => i))
    expect(written.at(-1)!.msg).toBe(mode === 'throw' ? 'about to crash' : mode === 'fatal' ? 'fatal, exiting' : 'last words')
  })
})
