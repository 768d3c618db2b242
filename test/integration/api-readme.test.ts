import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appRoot } from '../../src/main/paths'
import { startApiTestCore } from '../support/api-env'

let api: Awaited<ReturnType<typeof startApiTestCore>>

beforeAll(async () => {
  api = await startApiTestCore()
})
afterAll(async () => {
  await api?.close()
})

/** The code block after `<!-- readme-example: name -->` in README.md, exactly as a reader sees it. */
function readmeExample(name: string): string {
  const readme = readFileSync(join(appRoot(), 'README.md'), 'utf8')
  const match = new RegExp(`<!-- readme-example: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (!match) throw new Error(`README.md has no example marked ${name}`)
  return match[1]!
}

/** Runs an example in a child process; asynchronously, because the server runs in this process. */
async function runExample(command: string, args: string[], cwd?: string): Promise<string> {
  const child = spawn(command, args, { cwd, env: { ...process.env, HYPERCUBE_URL: api.url, HYPERCUBE_TOKEN: api.token } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  expect(code, `${stdout}\n${stderr}`).toBe(0)
  return stdout
}

describe("the README's training-script examples work as written", () => {
  it('curl', async () => {
    const output = await runExample('bash', ['-euo', 'pipefail', '-c', readmeExample('curl')])
    expect(output).toContain('"inserted":2')
    const experiment = (await api.client.listExperiments()).find((e) => e.name === 'bert-finetuning')!
    const [run] = await api.client.listRuns(experiment.experiment_id)
    expect(run!.status).toBe('completed')
    const loss = run!.metrics!.find((m) => m.key === 'loss')!
    expect([loss.count, loss.last_step, Number.isNaN(loss.last_value)]).toEqual([3, 300n, true])
  })

  it('curl: a file PUT to a run and downloaded again (issue 14: the upload route the run page names)', async () => {
    // The example writes its files where it runs: a folder of its own.
    const folder = mkdtempSync(join(tmpdir(), 'readme-artifacts-'))
    try {
      const output = await runExample('bash', ['-euo', 'pipefail', '-c', readmeExample('curl-artifacts')], folder)
      expect(output).toContain('"path":"eval/loss.csv"')
      expect(output.trim().endsWith('same bytes')).toBe(true)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
    const experiment = (await api.client.listExperiments()).find((e) => e.name === 'artifact-upload')!
    const [run] = await api.client.listRuns(experiment.experiment_id)
    const listed = await fetch(`${api.url}/v1/ml/runs/${run!.run_id}/artifacts`, { headers: { Authorization: `Bearer ${api.token}` } })
    const { artifacts } = (await listed.json()) as { artifacts: Array<{ path: string; size_bytes: number; blake3: string }> }
    expect(artifacts.map((artifact) => [artifact.path, artifact.size_bytes])).toEqual([['eval/loss.csv', 'epoch,loss\n1,0.9\n2,0.6\n'.length]])
    expect(artifacts[0]!.blake3).toMatch(/^[0-9a-f]{64}$/)
  })

  it('python requests', async () => {
    const output = await runExample('python3', ['-c', readmeExample('python')])
    expect(output.trim()).toBe('5000 points, buckets')
    const experiment = (await api.client.listExperiments()).find((e) => e.name === 'resnet-sweep')!
    const [run] = await api.client.listRuns(experiment.experiment_id)
    expect(run!.status).toBe('completed')
    expect(run!.metrics!.find((m) => m.key === 'loss')!.count).toBe(5000)
  })
})
