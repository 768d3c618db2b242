// npm run pack:layout — packs the app for this platform as electron-builder would (no Electron
// binary needed) into .scratch/pack-layout/ and prints what went where and the size estimate.
import { join } from 'node:path'
import { config } from '../../electron-builder.config'
import { formatMiB, packAppLayout } from './pack-layout'

const projectDir = join(import.meta.dirname, '..', '..')
const started = Date.now()
const result = await packAppLayout({ projectDir, outDir: join(projectDir, '.scratch', 'pack-layout'), config })
console.log(`packed ${result.files.length} files (${result.unpacked.length} unpacked) in ${Date.now() - started} ms into ${result.resourcesDir}`)
console.log(`app.asar ${formatMiB(result.bytes.asar)}, app.asar.unpacked ${formatMiB(result.bytes.unpacked)}, gzip-compressed payload ${formatMiB(result.bytes.gzip)}`)
console.log(`installer estimate: ${formatMiB(result.bytes.gzip)} of app payload + Electron's runtime (its release zips are about 90-110 MiB compressed per platform; not downloadable here)`)
