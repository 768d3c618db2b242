#!/usr/bin/env node
// The `hypercube` command. The CLI is part of the electron-vite build (out/main/cli.js).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write('hypercube: the app is not built yet; run `npm run build` in the Hypercube folder\n')
  process.exit(1)
}
await import(pathToFileURL(cli).href)
