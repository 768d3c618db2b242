import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

// One build for three processes. The main build has several entries because the same
// core runs in several places: the Electron main process (index), the headless CLI (cli),
// the plugin host child process (plugin-host) and the worker thread for CPU-heavy jobs
// (compute-worker).
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          cli: resolve('src/main/cli.ts'),
          'plugin-host': resolve('src/main/plugins/plugin-host.ts'),
          'api-process': resolve('src/main/api/api-process.ts'),
          'compute-worker': resolve('src/main/workers/compute-worker.ts')
        }
      }
    }
  },
  preload: {
    build: {
      rollupOptions: {
        // A sandboxed preload cannot load ES modules: it must be one CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: resolve('src/renderer'),
    build: {
      rollupOptions: { input: resolve('src/renderer/index.html') }
    },
    plugins: [react()]
  }
})
