import { existsSync } from 'node:fs'
import { homedir, platform } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The per-user data folder, the same for the desktop app and `hypercube serve`, so both see
 * the same experiments: Linux $XDG_DATA_HOME/hypercube (~/.local/share/hypercube), macOS
 * ~/Library/Application Support/Hypercube, Windows %APPDATA%\Hypercube.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HYPERCUBE_DATA_DIR) return resolve(env.HYPERCUBE_DATA_DIR)
  switch (platform()) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Hypercube')
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Hypercube')
    default:
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'hypercube')
  }
}

/**
 * The folder holding migrations/ and native/: the checkout (or the unpacked app). Found by
 * walking up from this file, which works from src/main (tests), out/main (the build) alike.
 */
export function appRoot(): string {
  if (process.env.HYPERCUBE_APP_ROOT) return resolve(process.env.HYPERCUBE_APP_ROOT)
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'migrations')) && existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the Hypercube app folder (with migrations/); set HYPERCUBE_APP_ROOT')
    dir = parent
  }
}

export function migrationsDir(root = appRoot()): string {
  return join(root, 'migrations')
}
