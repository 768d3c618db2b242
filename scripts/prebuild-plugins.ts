// Makes this platform's prebuilds of the bundled plugins: native/<plugin>/prebuilds/<platform
// key>/<plugin>.node with its prebuild.json (BLAKE3, N-API version). CI runs it once per
// platform of the release matrix (.github/workflows/release.yml) and gathers the folders before
// packaging, so the installed app never compiles. A fresh local build is reused, else built.
//
//   tsx scripts/prebuild-plugins.ts [plugin-dir ...]
import { resolve } from 'node:path'
import { BUNDLED_PLUGINS_DIR, listPluginSourceDirs, writePrebuild } from '../src/main/plugins/plugin-build'

const explicit = process.argv.slice(2).filter((arg) => !arg.startsWith('--')).map((dir) => resolve(dir))
const dirs = explicit.length > 0 ? explicit : await listPluginSourceDirs(BUNDLED_PLUGINS_DIR)
let failed = 0
for (const dir of dirs) {
  try {
    const record = await writePrebuild(dir)
    console.log(`prebuilt ${record.name} for ${record.platformKey}: ${record.path} blake3 ${record.blake3.slice(0, 16)}…`)
  } catch (error) {
    failed++
    console.error(`failed to prebuild ${dir}:\n${(error as Error).message}`)
  }
}
if (failed > 0) process.exit(1)
