// npm run plugin:new <name> [-- --dir <parent>]
// Scaffolds a plugin folder (native/<name> by default) that builds and passes plugin:check.
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { BUNDLED_PLUGINS_DIR } from '../src/main/plugins/plugin-build'
import { scaffoldPlugin } from '../src/main/plugins/scaffold'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { dir: { type: 'string' } } })
const name = positionals[0]
if (!name) {
  console.error('usage: npm run plugin:new <name> [-- --dir <parent folder>]')
  process.exit(2)
}
try {
  const result = await scaffoldPlugin(name, values.dir ?? BUNDLED_PLUGINS_DIR)
  const shown = relative(process.cwd(), result.dir) || '.'
  console.log(`created ${shown}: ${result.files.join(', ')}`)
  console.log(`next: npm run plugin:check ${shown}    (build + conformance suite)`)
  console.log(`      npm run plugin:dev ${shown} -- --data-dir <dataDir>    (hot reload into a running serve)`)
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
