import { app, BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron'
import { mkdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../shared/contract-channels'
import { startCore, type Core } from './core'
import { APP_INDEX_URL, isAppUrl } from './desktop/navigation-policy'
import { focusFirstWindow, profileDirFor } from './desktop/single-instance'
import { applyOpenAtLogin, installApplicationMenu, rememberWindowState, windowPlacement } from './electron/desktop-settings'
import { allowReviewOrigin, installNavigationRules, installPermissionHandlers, registerAppScheme, serveAppScheme } from './electron/hardening'
import { chosenBundle, planReviewWindow, reviewBundleDialog } from './desktop/review-window'
import { chosenSavePath, exportSaveDialog } from './desktop/export-save'
import { installLiveRunsBadge } from './electron/live-runs-badge'
import { UtilityProcessChildSpawner, UtilityProcessPluginHostSpawner } from './electron/utility-process-spawner'
import { appLayout, defaultDataDir } from './paths'
import { readSettings } from './settings'

/**
 * The Electron shell: a hardened window around the same core `hypercube serve` runs.
 * Everything of substance lives in the core, and every security decision in src/main/desktop/
 * (README, "Security"); this file only wires windows and IPC.
 */

const here = dirname(fileURLToPath(import.meta.url))
// Set only by electron-vite in `npm run dev`: the renderer then comes from its dev server.
const devServerUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL
const dataDir = defaultDataDir()
let core: Core | undefined
let quitting = false

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame
  return frame !== null && frame.parent === null && isAppUrl(frame.url, devServerUrl)
}

function createWindow(): BrowserWindow {
  const placement = windowPlacement(dataDir)
  const window = new BrowserWindow({
    ...placement.options,
    show: false,
    title: 'Hypercube',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false
    }
  })
  if (placement.maximized) window.maximize()
  rememberWindowState(window, dataDir)
  window.once('ready-to-show', () => window.show())
  void window.loadURL(devServerUrl ?? APP_INDEX_URL)
  return window
}

/**
 * File → Open Review Bundle…: the bundle is checked and served read-only by a core of its own
 * (the core's review host), in a window of its own on that loopback server — no preload, so
 * no bridge to this app's core; its "Import into my workspace" imports through this app's
 * services. Closing the window closes the review (server stopped, folder removed).
 */
async function openReviewBundle(): Promise<void> {
  const reviews = core?.reviews
  if (!reviews) return
  const { dialog } = await import('electron')
  const file = chosenBundle(await dialog.showOpenDialog(reviewBundleDialog()))
  if (file === null) return
  try {
    const { review, loginUrl } = await reviews.open(file, { name: basename(file), ownsFile: false })
    const plan = planReviewWindow(file, { origin: review.origin, loginUrl })
    const window = new BrowserWindow({
      width: 1280,
      height: 860,
      title: plan.title,
      webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, spellcheck: false }
    })
    allowReviewOrigin(window.webContents, plan.origin)
    window.once('closed', () => void reviews.close(review.reviewId).catch(() => undefined))
    void window.loadURL(plan.url)
  } catch (error) {
    dialog.showErrorBox('Cannot open the review bundle', (error as Error).message)
  }
}

// Every renderer sandboxed, whatever a window's own options say.
app.enableSandbox()
registerAppScheme()
installNavigationRules(devServerUrl)

// One app per user (per data folder, when one is given): a second launch hands over to the first
// (which shows its window) and quits. The data folder's own lock (instance-lock.ts) also refuses
// a second app started another way.
const profileDir = profileDirFor(process.env, dataDir)
if (profileDir) {
  // The lock is a file in it, so it must exist before the lock is asked for; 0700 like the data folder.
  mkdirSync(profileDir, { recursive: true, mode: 0o700 })
  app.setPath('userData', profileDir)
}
const isFirstInstance = app.requestSingleInstanceLock()
if (!isFirstInstance) {
  app.quit()
} else {
  app.on('second-instance', () => {
    focusFirstWindow(BrowserWindow.getAllWindows()[0])
  })
}

app.whenReady().then(async () => {
  if (!isFirstInstance) return
  installPermissionHandlers(devServerUrl)
  serveAppScheme(appLayout().rendererDir)
  // Before the core starts, so Electron's default menu (with developer tools) is never shown.
  installApplicationMenu(dataDir, () => void openReviewBundle())
  try {
    core = await startCore({
      dataDir,
      // Plugin hosts as Electron utility processes, running the plugin-host entry of this build.
      plugins: { spawner: new UtilityProcessPluginHostSpawner(), hostScript: join(here, 'plugin-host.js') },
      // The HTTP door (/v1, MLflow) in a utilityProcess of its own: ingest never delays the window's IPC.
      http: { process: { spawner: new UtilityProcessChildSpawner(), script: join(here, 'api-process.js') } },
      // An export from the window is saved by main where the user chooses (never held by the renderer).
      chooseExportPath: async (fileName) => {
        const { dialog } = await import('electron')
        const spec = exportSaveDialog(fileName, app.getPath('downloads'))
        const parent = BrowserWindow.getFocusedWindow()
        return chosenSavePath(await (parent ? dialog.showSaveDialog(parent, spec) : dialog.showSaveDialog(spec)))
      }
    })
  } catch (error) {
    const { dialog } = await import('electron')
    dialog.showErrorBox('Hypercube cannot start', (error as Error).message)
    app.exit(1)
    return
  }
  applyOpenAtLogin(readSettings(dataDir).openAtLogin)
  const badge = installLiveRunsBadge(core)
  app.once('before-quit', () => badge.dispose())
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
