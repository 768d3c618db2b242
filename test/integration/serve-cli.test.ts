import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeDataDir } from '../support/test-env'

// The built CLI, exactly what `npm run serve` and the `hypercube` bin run (npm test builds first).
const bin = join(import.meta.dirname, '..', '..', 'bin', 'hypercube.js')
const builtCli = join(import.meta.dirname, '..', '..', 'out', 'main', 'cli.js')

interface ServeProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function serve(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): ServeProcess {
  // Its own process group, so a signal can go to the whole group as Ctrl-C in a terminal does.
  const child = spawn(process.execPath, [bin, 'serve', ...args], { detached: true, env: { ...process.env, ...env }, cwd })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      // A signal death is a failure worth explaining in the test output.
      if (signal) output += `\n[killed by ${signal}]`
      resolve(code)
    })
  )
  return { child, output: () => output, exited }
}

async function waitForOutput(process: ServeProcess, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const match = pattern.exec(process.output())
    if (match) return match[0]
    if (process.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no ${pattern} in output:\n${process.output()}`)
}

describe('hypercube serve', () => {
  const folders: Array<() => void> = []
  beforeAll(() => {
    if (!existsSync(builtCli)) throw new Error('out/main/cli.js is missing: run `npm run build` first (npm test does)')
  })
  afterAll(() => folders.forEach((remove) => remove()))

  it('prints "Hypercube ready" naming the database, and exits 0 on Ctrl-C with the database stopped', async () => {
    const data = makeDataDir()
    folders.push(data.remove)
    const server = serve(['--data-dir', data.dir])
    const ready = await waitForOutput(server, /^Hypercube ready.*$/m)
    expect(ready).toMatch(/embedded PostgreSQL \d+/)
    expect(ready).toContain(data.dir)
    process.kill(-server.child.pid!, 'SIGINT') // the whole group, as a terminal's Ctrl-C
    expect(await server.exited).toBe(0)
    expect(server.output()).toContain('Hypercube stopped')
    expect(existsSync(join(data.dir, 'pg', 'postmaster.pid'))).toBe(false)
  })

  it('exits 0 on SIGTERM', async () => {
    const data = makeDataDir()
    folders.push(data.remove)
    const server = serve(['--data-dir', data.dir])
    await waitForOutput(server, /^Hypercube ready/m)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })

  it('starts again on the same folder after kill -9', async () => {
    const data = makeDataDir()
    folders.push(data.remove)
    const first = serve(['--data-dir', data.dir])
    await waitForOutput(first, /^Hypercube ready/m)
    first.child.kill('SIGKILL') // the app dies; its PostgreSQL is left running
    await first.exited
    const second = serve(['--data-dir', data.dir])
    await waitForOutput(second, /^Hypercube ready/m)
    second.child.kill('SIGINT')
    const code = await second.exited
    expect(code, second.output()).toBe(0)
  })

  it('uses the PostgreSQL server given by --database-url, naming it without the password', async () => {
    const { createTestDatabase } = await import('../support/test-env')
    const database = await createTestDatabase()
    const data = makeDataDir()
    folders.push(data.remove)
    const server = serve(['--data-dir', data.dir, '--database-url', database.url])
    const ready = await waitForOutput(server, /^Hypercube ready.*$/m)
    expect(ready).toMatch(/external PostgreSQL/)
    const password = new URL(database.url).password
    if (password) expect(ready).not.toContain(password)
    expect(ready).toContain(new URL(database.url).pathname)
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
    await database.drop()
  })

  it('fails with a clear message and exit code 1 when the database URL is unusable', async () => {
    const data = makeDataDir()
    folders.push(data.remove)
    const server = serve(['--data-dir', data.dir, '--database-url', 'postgresql://nobody:wrong@127.0.0.1:1/none'])
    expect(await server.exited).toBe(1)
    expect(server.output()).toMatch(/hypercube: cannot start: .*ECONNREFUSED/)
  })

  it('--api-process runs the API in a process of its own that serves requests, stops with serve, and dies with it after kill -9', async () => {
    const { createTestDatabase } = await import('../support/test-env')
    const database = await createTestDatabase()
    const data = makeDataDir()
    folders.push(data.remove)
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    const start = async () => {
      const server = serve(['--data-dir', data.dir, '--database-url', database.url, '--port', '0', '--api-process'])
      const apiLine = await waitForOutput(server, /^API: .*$/m)
      const [, url, pid] = /^API: (\S+)\/v1 .*its own process, pid (\d+)/.exec(apiLine) ?? []
      expect(url, server.output()).toBeDefined()
      expect(await waitForOutput(server, /^UI: .*$/m)).toMatch(/^UI: http:\/\/127\.0\.0\.1:\d+\/\?login=/)
      return { server, url: url!, apiPid: Number(pid) }
    }

    const first = await start()
    expect(first.apiPid).not.toBe(first.server.child.pid)
    const token = (await import('node:fs')).readFileSync(join(data.dir, 'api-token'), 'utf8').trim()
    const response = await fetch(`${first.url}/v1/ml/experiments`, { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    process.kill(-first.server.child.pid!, 'SIGINT')
    expect(await first.server.exited, first.server.output()).toBe(0)
    expect(alive(first.apiPid)).toBe(false)

    // The app killed outright: its API process notices the parent is gone and exits.
    const second = await start()
    second.server.child.kill('SIGKILL')
    await second.server.exited
    const deadline = Date.now() + 10_000
    while (alive(second.apiPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(alive(second.apiPid)).toBe(false)
    await database.drop()
  })

  it('--default-artifact-root gives MLflow experiments <root>/<id> (a relative root from the folder serve started in), also with --api-process', async () => {
    const { createTestDatabase } = await import('../support/test-env')
    const database = await createTestDatabase()
    const data = makeDataDir()
    const workdir = makeDataDir('hypercube-cwd-')
    folders.push(data.remove, workdir.remove)
    const server = serve(['--data-dir', data.dir, '--database-url', database.url, '--port', '0', '--api-process', '--default-artifact-root', 'mlruns-here'], {}, workdir.dir)
    const [, url] = /^API: (\S+)\/v1 /.exec(await waitForOutput(server, /^API: .*$/m)) ?? []
    const token = (await import('node:fs')).readFileSync(join(data.dir, 'api-token'), 'utf8').trim()
    const mlflow = async (path: string, init: RequestInit = {}): Promise<Record<string, unknown>> => {
      const response = await fetch(`${url}/api/2.0/mlflow/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
      expect(response.status, path).toBe(200)
      return (await response.json()) as Record<string, unknown>
    }
    const { experiment_id: experimentId } = await mlflow('experiments/create', { method: 'POST', body: JSON.stringify({ name: 'rooted' }) })
    const { experiment } = await mlflow(`experiments/get?experiment_id=${String(experimentId)}`)
    expect((experiment as { artifact_location: string }).artifact_location).toBe(join(workdir.dir, 'mlruns-here', String(experimentId)))
    process.kill(-server.child.pid!, 'SIGINT')
    expect(await server.exited, server.output()).toBe(0)
    await database.drop()

    const empty = serve(['--default-artifact-root', ' '])
    expect(await empty.exited).toBe(2)
    expect(empty.output()).toContain('--default-artifact-root needs a URI or a folder')
  })

  it('fails naming the port, with exit code 1, when the --port it was given is taken (no silent move)', async () => {
    const { createServer } = await import('node:net')
    const { createTestDatabase } = await import('../support/test-env')
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const heldPort = (holder.address() as { port: number }).port
    const database = await createTestDatabase()
    const data = makeDataDir()
    folders.push(data.remove)
    try {
      const server = serve(['--data-dir', data.dir, '--database-url', database.url, '--port', String(heldPort)])
      expect(await server.exited).toBe(1)
      expect(server.output()).toMatch(new RegExp(`hypercube: cannot start: .*port ${heldPort}.*in use`))
      expect(server.output()).not.toContain('Hypercube ready')
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()))
      await database.drop()
    }
  })

  it('refuses a second serve on the same data folder, naming the first, and leaves the first working', async () => {
    const data = makeDataDir()
    folders.push(data.remove)
    const first = serve(['--data-dir', data.dir, '--port', '0'])
    await waitForOutput(first, /^Hypercube ready/m)
    const apiUrl = /^API: (\S+)\/v1/m.exec(await waitForOutput(first, /^API: .*$/m))![1]!
    const second = serve(['--data-dir', data.dir, '--port', '0'])
    expect(await second.exited, second.output()).toBe(1)
    expect(second.output()).toContain(`another Hypercube (pid ${first.child.pid}, API at ${apiUrl}`)
    // The first one's PostgreSQL was left alone: it still answers.
    const token = (await import('node:fs')).readFileSync(join(data.dir, 'api-token'), 'utf8').trim()
    expect((await fetch(`${apiUrl}/v1/ml/experiments`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    process.kill(-first.child.pid!, 'SIGINT')
    expect(await first.exited, first.output()).toBe(0)
    expect(existsSync(join(data.dir, 'hypercube.lock'))).toBe(false)
  })

  it('rejects unknown options with usage and exit code 2', async () => {
    const server = serve(['--no-such-option'])
    expect(await server.exited).toBe(2)
    expect(server.output()).toContain('Usage: hypercube serve')
  })
})
