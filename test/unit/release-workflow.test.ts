import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { config } from '../../electron-builder.config'
import { REPO_ROOT } from '../../src/main/plugins/plugin-build'

// The release workflow cannot run here (it needs GitHub's macOS, Windows and arm64 runners and
// Electron's binary); this keeps its matrix in step with the packaging configuration.
interface Step {
  run?: string
  uses?: string
}
interface Job {
  strategy?: { matrix: { include: Array<Record<string, string>> } }
  steps: Step[]
}
const workflow = parse(readFileSync(join(REPO_ROOT, '.github', 'workflows', 'release.yml'), 'utf8')) as { jobs: Record<string, Job> }

describe('release workflow', () => {
  it('prebuilds the plugins for every platform key the app can run on, musl included', () => {
    const keys = workflow.jobs['prebuild-plugins'].strategy!.matrix.include.map((entry) => entry.key).sort()
    expect(keys).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64-glibc', 'linux-x64-glibc', 'linux-x64-musl', 'win32-arm64', 'win32-x64'])
    const runs = workflow.jobs['prebuild-plugins'].steps.map((step) => step.run ?? '')
    expect(runs).toContain('npm run plugins:prebuild')
  })

  it('makes installers on each platform and CPU electron-builder.config.ts targets', () => {
    const built = workflow.jobs.package.strategy!.matrix.include.map((entry) => `${entry.platform}-${entry.arch}`).sort()
    const targeted = [
      ...config.mac.target.flatMap((target) => target.arch.map((arch) => `darwin-${arch}`)),
      ...config.win.target.flatMap((target) => target.arch.map((arch) => `win32-${arch}`)),
      ...config.linux.target.flatMap((target) => target.arch.map((arch) => `linux-${arch}`))
    ]
    expect(built).toEqual([...new Set(targeted)].sort())
    expect(workflow.jobs.package.steps.map((step) => step.run ?? '')).toContain('npm run dist')
  })

  it('runs the Electron window tests under xvfb-run', () => {
    const runs = workflow.jobs['electron-e2e'].steps.map((step) => step.run ?? '').join('\n')
    expect(runs).toMatch(/xvfb-run .*npx vitest run test\/e2e\/ui-electron/)
  })
})
