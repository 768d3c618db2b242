import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startCore, type Core } from './core'
import { defaultDataDir } from './paths'

/**
 * `hypercube serve`: the headless shell. Starts the same core as the desktop app and keeps it
 * up until SIGINT/SIGTERM, then closes it (database stopped) and exits 0.
 */

const USAGE = `Usage: hypercube serve [--data-dir DIR] [--database-url URL]

  --data-dir DIR       where Hypercube keeps its data (default: ${defaultDataDir()})
  --database-url URL   use this PostgreSQL server instead of the embedded one
                       (also HYPERCUBE_DATABASE_URL)`

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return command === undefined ? 1 : 0
  }
  if (command !== 'serve') {
    process.stderr.write(`hypercube: unknown command ${JSON.stringify(command)}\n${USAGE}\n`)
    return 2
  }
  let values: { 'data-dir'?: string; 'database-url'?: string }
  try {
    ;({ values } = parseArgs({
      args: rest,
      options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
      strict: true
    }))
  } catch (error) {
    process.stderr.write(`hypercube: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  return serve({ dataDir: resolve(values['data-dir'] ?? defaultDataDir()), databaseUrl: values['database-url'] })
}

async function serve(options: { dataDir: string; databaseUrl?: string }): Promise<number> {
  let core: Core
  try {
    core = await startCore(options)
  } catch (error) {
    process.stderr.write(`hypercube: cannot start: ${(error as Error).message}\n`)
    return 1
  }
  process.stdout.write(`Hypercube ready — ${core.database.description}; data folder ${core.dataDir}\n`)
  return new Promise<number>((resolveExit) => {
    const shutdown = (signal: string): void => {
      process.stdout.write(`Hypercube stopping (${signal})…\n`)
      core.close().then(
        () => {
          process.stdout.write('Hypercube stopped\n')
          resolveExit(0)
        },
        (error: unknown) => {
          process.stderr.write(`hypercube: error while stopping: ${(error as Error).message}\n`)
          resolveExit(1)
        }
      )
    }
    process.once('SIGINT', () => shutdown('SIGINT'))
    process.once('SIGTERM', () => shutdown('SIGTERM'))
  })
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hypercube: ${(error as Error).stack ?? String(error)}\n`)
    process.exit(1)
  }
)
