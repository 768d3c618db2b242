import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startCore, type Core, type CoreOptions } from './core'
import { ForkChildSpawner } from './process/child-process'
import { defaultDataDir } from './paths'
import { DEFAULT_API_PORT } from './http/server'
import { importMlflowCommand } from './import/mlflow-import-command'
import { exportCommand, importCommand } from './bundle/bundle-commands'
import { reviewCommand } from './bundle/review-command'
import { CONFLICT_MODES, type ConflictMode } from './bundle/bundle-importer'
import { BundleError } from './bundle/bundle-format'
import { resolveUriIfLocal } from './services/mlflow-source-policy'

/**
 * `hypercube serve`: the headless shell. Starts the same core as the desktop app and keeps it
 * up until SIGINT/SIGTERM, then closes it (database stopped) and exits 0.
 */

const USAGE = `Usage: hypercube serve [--data-dir DIR] [--database-url URL] [--port N] [--host ADDR] [--api-process [--ui-port N]] [--default-artifact-root URI]

  --data-dir DIR       where Hypercube keeps its data (default: ${defaultDataDir()})
  --database-url URL   use this PostgreSQL server instead of the embedded one
                       (also HYPERCUBE_DATABASE_URL)
  --port N             HTTP API port; if it is taken, serve fails (0: any free port; default
                       ${DEFAULT_API_PORT}, or a free port if that one is taken)
  --host ADDR          listen on ADDR instead of 127.0.0.1 (reachable from other machines: use with care)
  --api-process        run the HTTP API in a process of its own (as the desktop app does), restarted
                       if it crashes; the browser UI is then served on a port of its own
  --ui-port N          with --api-process: the browser UI's port (default: a free one)
  --default-artifact-root URI
                       as MLflow's server option: an experiment created through the MLflow door
                       without an artifact location keeps its artifacts at URI/<experiment id>
                       (a relative path is taken from the current folder), where the mlflow
                       client writes them itself; default: this server's own artifact store

       hypercube import-mlflow SOURCE [--experiments a,b] [--dry-run] [--artifacts DIR] [--data-dir DIR] [--database-url URL]

  SOURCE               an MLflow file store (mlruns/ folder), an MLflow SQLite store (.db file
                       or sqlite:///path), an MLflow PostgreSQL store (postgresql://…) or a running
                       MLflow server (http(s)://…, with MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD);
                       runs keep their MLflow ids, and what is here already is skipped
  --artifacts DIR      a database store's artifacts (<experiment id>/<run id>/artifacts/…), when its
                       artifact URIs name no folder on this machine
  --experiments a,b    only these experiments (by name)
  --dry-run            read and report what would be imported; write nothing

       hypercube export (--experiment NAME|ID [--runs ID,...] | --model NAME) [--no-artifacts] -o FILE [--data-dir DIR] [--database-url URL]

  --experiment NAME|ID an experiment: its active runs, and the models whose versions came from them
  --runs ID,...        only these runs of the experiment (ids or uuids)
  --model NAME         a registered model: its versions, approvals, deployments and their source runs
  --no-artifacts       leave the artifact files out (their records stay)
  -o FILE              the review bundle to write (.hcube); written to a temporary file, renamed when complete

       hypercube import FILE [--on-conflict skip|keep-both|replace] [--data-dir DIR] [--database-url URL]

  FILE                 a review bundle; every member is checked against its manifest before anything is written
  --on-conflict MODE   a run that is already here (same uuid): skip it (default), keep both (the bundle's
                       under a new uuid), or replace the one here
  export and import on the data folder of a running app (without --database-url) go through that
  app's API: it holds the folder, and the runs appear in its windows at once

       hypercube review FILE [--port N] [--host ADDR] [--data-dir DIR] [--database-url URL]

  FILE                 a review bundle, opened read-only in the browser UI without importing it (it is
                       loaded into a throwaway folder, removed when the review stops); the app's
                       "Import into my workspace" imports it into --data-dir / --database-url`

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return command === undefined ? 1 : 0
  }
  if (command === 'import-mlflow') return importMlflow(rest)
  if (command === 'export') return exportBundle(rest)
  if (command === 'import') return importBundle(rest)
  if (command === 'review') return reviewBundle(rest)
  if (command !== 'serve') {
    process.stderr.write(`hypercube: unknown command ${JSON.stringify(command)}\n${USAGE}\n`)
    return 2
  }
  let values: {
    'data-dir'?: string
    'database-url'?: string
    port?: string
    host?: string
    'api-process'?: boolean
    'ui-port'?: string
    'default-artifact-root'?: string
  }
  try {
    ;({ values } = parseArgs({
      args: rest,
      options: {
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'api-process': { type: 'boolean' },
        'ui-port': { type: 'string' },
        'default-artifact-root': { type: 'string' }
      },
      strict: true
    }))
  } catch (error) {
    process.stderr.write(`hypercube: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  const port = parsePort(values.port, '--port')
  const uiPort = parsePort(values['ui-port'], '--ui-port')
  if (port === null || uiPort === null) return 2
  if (uiPort !== undefined && !values['api-process']) {
    process.stderr.write('hypercube: --ui-port goes with --api-process (otherwise the UI is on the API port)\n')
    return 2
  }
  let mlflowDefaultArtifactRoot: string | undefined
  if (values['default-artifact-root'] !== undefined) {
    if (values['default-artifact-root'].trim() === '') {
      process.stderr.write('hypercube: --default-artifact-root needs a URI or a folder\n')
      return 2
    }
    try {
      // As MLflow's server takes it: a relative path is made absolute here, once.
      mlflowDefaultArtifactRoot = resolveUriIfLocal(values['default-artifact-root'])
    } catch (error) {
      process.stderr.write(`hypercube: --default-artifact-root: ${(error as Error).message}\n`)
      return 2
    }
  }
  return serve({
    dataDir: resolve(values['data-dir'] ?? defaultDataDir()),
    databaseUrl: values['database-url'],
    http: { port, host: values.host, process: values['api-process'] ? { spawner: new ForkChildSpawner(), ui: { port: uiPort } } : undefined },
    mlflowDefaultArtifactRoot
  })
}

async function importMlflow(args: string[]): Promise<number> {
  let parsed: { values: { 'data-dir'?: string; 'database-url'?: string; experiments?: string; 'dry-run'?: boolean; artifacts?: string }; positionals: string[] }
  try {
    parsed = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        experiments: { type: 'string' },
        'dry-run': { type: 'boolean' },
        artifacts: { type: 'string' }
      },
      allowPositionals: true,
      strict: true
    })
  } catch (error) {
    process.stderr.write(`hypercube: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  const [source, ...extra] = parsed.positionals
  if (source === undefined || extra.length > 0) {
    process.stderr.write(`hypercube: import-mlflow takes one SOURCE\n${USAGE}\n`)
    return 2
  }
  try {
    return await importMlflowCommand({
      source,
      dataDir: resolve(parsed.values['data-dir'] ?? defaultDataDir()),
      databaseUrl: parsed.values['database-url'],
      experiments: parsed.values.experiments?.split(',').map((name) => name.trim()).filter((name) => name !== ''),
      dryRun: parsed.values['dry-run'] ?? false,
      artifactsDir: parsed.values.artifacts,
      out: (text) => process.stdout.write(text),
      tty: process.stdout.isTTY === true
    })
  } catch (error) {
    process.stderr.write(`hypercube: import-mlflow: ${(error as Error).message}\n`)
    return 1
  }
}

async function exportBundle(args: string[]): Promise<number> {
  let values: { 'data-dir'?: string; 'database-url'?: string; experiment?: string; runs?: string; model?: string; 'no-artifacts'?: boolean; output?: string }
  try {
    ;({ values } = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        experiment: { type: 'string' },
        runs: { type: 'string' },
        model: { type: 'string' },
        'no-artifacts': { type: 'boolean' },
        output: { type: 'string', short: 'o' }
      },
      strict: true
    }))
  } catch (error) {
    process.stderr.write(`hypercube: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (values.output === undefined) {
    process.stderr.write('hypercube: export needs -o FILE (the bundle to write)\n')
    return 2
  }
  if ((values.experiment === undefined) === (values.model === undefined)) {
    process.stderr.write('hypercube: export takes --experiment NAME|ID or --model NAME (one of them)\n')
    return 2
  }
  try {
    return await exportCommand({
      dataDir: resolve(values['data-dir'] ?? defaultDataDir()),
      databaseUrl: values['database-url'],
      selection: {
        experiment: values.experiment,
        runs: values.runs?.split(',').map((run) => run.trim()).filter((run) => run !== ''),
        model: values.model,
        artifacts: values['no-artifacts'] !== true
      },
      output: values.output,
      out: (text) => process.stdout.write(text),
      tty: process.stdout.isTTY === true
    })
  } catch (error) {
    process.stderr.write(`hypercube: export: ${(error as Error).message}\n`)
    return 1
  }
}

async function importBundle(args: string[]): Promise<number> {
  let parsed: { values: { 'data-dir'?: string; 'database-url'?: string; 'on-conflict'?: string }; positionals: string[] }
  try {
    parsed = parseArgs({
      args,
      options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' }, 'on-conflict': { type: 'string' } },
      allowPositionals: true,
      strict: true
    })
  } catch (error) {
    process.stderr.write(`hypercube: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  const [file, ...extra] = parsed.positionals
  if (file === undefined || extra.length > 0) {
    process.stderr.write(`hypercube: import takes one FILE (a review bundle)\n${USAGE}\n`)
    return 2
  }
  const onConflict = parsed.values['on-conflict'] ?? 'skip'
  if (!(CONFLICT_MODES as readonly string[]).includes(onConflict)) {
    process.stderr.write(`hypercube: --on-conflict must be one of ${CONFLICT_MODES.join(', ')}, not ${JSON.stringify(onConflict)}\n`)
    return 2
  }
  try {
    return await importCommand({
      file,
      onConflict: onConflict as ConflictMode,
      dataDir: resolve(parsed.values['data-dir'] ?? defaultDataDir()),
      databaseUrl: parsed.values['database-url'],
      out: (text) => process.stdout.write(text),
      tty: process.stdout.isTTY === true
    })
  } catch (error) {
    process.stderr.write(`hypercube: import: ${error instanceof BundleError ? '' : 'failed: '}${(error as Error).message}\n`)
    return 1
  }
}

async function reviewBundle(args: string[]): Promise<number> {
  let parsed: { values: { 'data-dir'?: string; 'database-url'?: string; port?: string; host?: string }; positionals: string[] }
  try {
    parsed = parseArgs({
      args,
      options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
      allowPositionals: true,
      strict: true
    })
  } catch (error) {
    process.stderr.write(`hypercube: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  const [file, ...extra] = parsed.positionals
  if (file === undefined || extra.length > 0) {
    process.stderr.write(`hypercube: review takes one FILE (a review bundle)\n${USAGE}\n`)
    return 2
  }
  const port = parsePort(parsed.values.port, '--port')
  if (port === null) return 2
  const stopped = new Promise<string>((resolveStop) => {
    process.once('SIGINT', () => resolveStop('SIGINT'))
    process.once('SIGTERM', () => resolveStop('SIGTERM'))
  })
  try {
    return await reviewCommand({
      file,
      workspace: { dataDir: resolve(parsed.values['data-dir'] ?? defaultDataDir()), databaseUrl: parsed.values['database-url'] },
      http: { port: port ?? 0, host: parsed.values.host },
      stopped,
      out: (text) => process.stdout.write(text),
      tty: process.stdout.isTTY === true
    })
  } catch (error) {
    process.stderr.write(`hypercube: review: ${(error as Error).message}\n`)
    return 1
  }
}

/** undefined when not given; null (after saying why) when it is not a port number. */
function parsePort(value: string | undefined, flag: string): number | undefined | null {
  if (value === undefined) return undefined
  const port = Number(value)
  if (Number.isInteger(port) && port >= 0 && port <= 65535 && value.trim() !== '') return port
  process.stderr.write(`hypercube: ${flag} must be a port number (0-65535), not ${JSON.stringify(value)}\n`)
  return null
}

async function serve(options: {
  dataDir: string
  databaseUrl?: string
  http: Exclude<CoreOptions['http'], false | undefined>
  mlflowDefaultArtifactRoot?: string
}): Promise<number> {
  if (options.http.host && !['127.0.0.1', 'localhost', '::1'].includes(options.http.host)) {
    process.stderr.write(`hypercube: warning: listening on ${options.http.host}: the API is reachable from other machines (the token is still required)\n`)
  }
  let core: Core
  try {
    core = await startCore(options)
  } catch (error) {
    process.stderr.write(`hypercube: cannot start: ${(error as Error).message}\n`)
    return 1
  }
  // Signal handlers go in before "ready" is printed, so whoever waits for that line can stop
  // us at once. A repeated signal while stopping is ignored: the database is being shut down
  // in order, and cutting that short would only leave it to crash recovery.
  const exitCode = new Promise<number>((resolveExit) => {
    let stopping = false
    const shutdown = (signal: string): void => {
      if (stopping) return
      stopping = true
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
    process.on('SIGINT', () => shutdown('SIGINT'))
    process.on('SIGTERM', () => shutdown('SIGTERM'))
  })
  // Only the default port moves (an explicit one that is taken fails to start): say where to.
  const moved = core.http?.movedFrom === undefined ? '' : `; port ${core.http.movedFrom} was in use, so the API is on port ${core.http.port}`
  process.stdout.write(`Hypercube ready — ${core.database.description}; data folder ${core.dataDir}${moved}\n`)
  if (core.api?.url) {
    const where = core.api.state().state === 'in-process' ? '' : `; its own process, pid ${core.api.state().pid}`
    process.stdout.write(`API: ${core.api.url}/v1 (token in ${core.dataDir}/api-token; docs at ${core.api.url}/v1/docs${where})\n`)
  }
  if (core.ui) {
    // One-time: the link signs one browser in (a cookie) and then stops working.
    process.stdout.write(`UI: ${core.ui.loginUrl()}\n`)
  }
  return exitCode
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hypercube: ${(error as Error).stack ?? String(error)}\n`)
    process.exit(1)
  }
)
