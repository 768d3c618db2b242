// Builds every plugin under native/ (or the folders given) with node-gyp and records each
// binary's BLAKE3 in its git-ignored build/plugin-build.json. Runs on `npm install`
// (postinstall), so a clean clone's `npm install && npm test` has the plugins built.
// With --prefer-prebuilds (the postinstall), a plugin that has a verified prebuild for this
// platform (prebuilds/<platform key>/, see `npm run plugins:prebuild`) is not compiled: an
// install from a package with prebuilds needs no C++ toolchain.
//
//   tsx scripts/build-plugins.ts [--incremental] [--prefer-prebuilds] [plugin-dir ...]
import { resolve } from 'node:path'
import { BUNDLED_PLUGINS_DIR, buildPlugin, listPluginSourceDirs, usablePrebuild } from '../src/main/plugins/plugin-build'

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const incremental = args.includes('--incremental')
  const preferPrebuilds = args.includes('--prefer-prebuilds')
  const explicit = args.filter((arg) => !arg.startsWith('--')).map((dir) => resolve(dir))
  const dirs = explicit.length > 0 ? explicit : await listPluginSourceDirs(BUNDLED_PLUGINS_DIR)
  // Two at a time: each plugin is one translation unit, so parallelism across plugins is what helps.
  const queue = [...dirs]
  const failures: string[] = []
  const worker = async (): Promise<void> => {
    for (let dir = queue.shift(); dir; dir = queue.shift()) {
      const started = Date.now()
      const prebuild = preferPrebuilds ? await usablePrebuild(dir) : null
      if (prebuild) {
        console.log(`using the prebuild of ${prebuild.name} (${prebuild.platformKey}) ${prebuild.path}; not compiling`)
        continue
      }
      try {
        const record = await buildPlugin(dir, { clean: !incremental })
        console.log(`built ${record.name} (${record.platformKey}) ${record.path} blake3 ${record.blake3.slice(0, 16)}… in ${Date.now() - started} ms`)
      } catch (error) {
        failures.push(dir)
        console.error(`failed to build ${dir}:\n${(error as Error).message}`)
      }
    }
  }
  await Promise.all([worker(), worker()])
  if (failures.length > 0) {
    console.error(`${failures.length} plugin(s) failed to build`)
    process.exit(1)
  }
}

await main()
