import { app, BrowserWindow, ipcMain, shell, type IpcMainInvokeEvent } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../shared/contract-channels'
import { startCore, type Core } from './core'
import { defaultDataDir } from './paths'
import { UtilityProcessChildSpawner, UtilityProcessPluginHostSpawner } from './electron/utility-process-spawner'

/**
 * The Electron shell: a hardened window around the same core `hypercube serve` runs.
 * Everything of substance lives in the core; this file only wires windows and IPC.
 */

const here = dirname(fileURLToPath(import.meta.url))
const rendererIndex = join(here, '../renderer/index.html')
let core: Core | undefined
let quitting = false

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? ''
  if (process.env.ELECTRON_RENDERER_URL && url.startsWith(process.env.ELECTRON_RENDERER_URL)) return true
  return url.startsWith(pathToFileURL(rendererIndex).href)
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    show: false,
    title: 'Hypercube',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true
    }
  })
  window.once('ready-to-show', () => window.show())
  if (process.env.ELECTRON_RENDERER_URL) void window.loadURL(process.env.ELECTRON_RENDERER_URL)
  else void window.loadFile(rendererIndex)
  return window
}

// One app per user: a second launch hands over to the first (which shows its window) and quits.
// The data folder's own lock (instance-lock.ts) also refuses a second app started another way.
const isFirstInstance = app.requestSingleInstanceLock()
if (!isFirstInstance) {
  app.quit()
} else {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows()
    if (!window) return
    if (window.isMinimized()) window.restore()
    window.focus()
  })
}

app.on('web-contents-created', (_event, contents) => {
  // The renderer never navigates away or opens windows; links open in the user's browser.
  contents.on('will-navigate', (event) => event.preventDefault())
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
})

app.whenReady().then(async () => {
  if (!isFirstInstance) return
  try {
    core = await startCore({
      dataDir: process.env.HYPERCUBE_DATA_DIR ?? defaultDataDir(),
      // Plugin hosts as Electron utility processes, running the plugin-host entry of this build.
      plugins: { spawner: new UtilityProcessPluginHostSpawner(), hostScript: join(here, 'plugin-host.js') },
      // The HTTP door (/v1, MLflow) in a utilityProcess of its own: ingest never delays the window's IPC.
      http: { process: { spawner: new UtilityProcessChildSpawner(), script: join(here, 'api-process.js') } }
    })
  } catch (error) {
    const { dialog } = await import('electron')
    dialog.showErrorBox('Hypercube cannot start', (error as Error).message)
    app.exit(1)
    return
  }
  const contract = core.contract
  ipcMain.handle(INVOKE_CHANNEL, (event, name: unknown, input: unknown) => {
    if (!isTrustedSender(event)) return { ok: false, error: { code: 'invalid_argument', message: 'untrusted sender' } }
    return contract.dispatch(name, input)
  })
  // Pushed events go to every window; each window's subscription ends with the window.
  app.on('browser-window-created', (_event, window) => {
    const contents = window.webContents
    const subscription = contract.subscribe((pushed) => {
      if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, pushed)
    })
    contents.once('destroyed', () => subscription.dispose())
  })
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

app.on('before-quit', (event) => {
  // Stop the database cleanly before the process goes.
  if (quitting || !core) return
  event.preventDefault()
  quitting = true
  void core.close().finally(() => app.quit())
})
