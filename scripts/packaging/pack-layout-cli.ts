// npm run pack:layout — lays the app out for Linux with electron-builder and a stand-in for
// Electron's runtime (scripts/packaging/pack-layout.ts) into .scratch/pack-layout/, and prints
// where it went and the size estimate.
import { join } from 'node:path'
import { config } from '../../electron-builder.config'
import { formatMiB, packAppLayout } from './pack-layout'

const projectDir = join(import.meta.dirname, '..', '..')
const started = Date.now()
const result = await packAppLayout({ projectDir, outDir: join(projectDir, '.scratch', 'pack-layout'), config })
console.log(`packed in ${Date.now() - started} ms into ${result.appOutDir}`)
console.log(`app.asar ${formatMiB(result.bytes.asar)}, app.asar.unpacked ${formatMiB(result.bytes.unpacked)}, gzip-compressed ${formatMiB(result.bytes.gzip)}`)
console.log(`installer estimate: ${formatMiB(result.bytes.gzip)} of app + Electron's runtime (its release zips are about 90-110 MiB compressed; not downloadable here)`)
