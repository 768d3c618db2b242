import { spawn } from 'node:child_process'
import { join } from 'node:path'

/** The CLI as `npm run build` writes it: tests run it as a user would, in a process of its own. */
export const builtCli = join(import.meta.dirname, '..', '..', 'out', 'main', 'cli.js')

/** Runs the built CLI to its end; `env` replaces the process's environment when given. */
export async function runBuiltCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [builtCli, ...args], env ? { env } : {})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout, stderr }
}
