// The desktop settings' Electron side: the window's remembered place, "Start at Login" and the
// application menu. What to do is decided in src/main/desktop/; this applies it.
import { app, BrowserWindow, Menu, screen, shell, type BrowserWindowConstructorOptions, type MenuItemConstructorOptions } from 'electron'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { buildMenuTemplate, type MenuItemSpec } from '../desktop/app-menu'
import { linuxAutostartEntry, linuxAutostartFile } from '../desktop/login-item'
import { placeWindow } from '../desktop/window-state'
import { logsDir } from '../logging'
import { readSettings, writeSettings } from '../settings'

/** Size and place for a new window: the saved ones, fitted to the displays there are now. */
export function windowPlacement(dataDir: string): { options: Pick<BrowserWindowConstructorOptions, 'x' | 'y' | 'width' | 'height'>; maximized: boolean } {
  const primary = screen.getPrimaryDisplay()
  const displays = [primary, ...screen.getAllDisplays().filter((display) => display.id !== primary.id)]
  const placement = placeWindow(readSettings(dataDir).window, displays.map((display) => display.workArea))
  return { options: placement.bounds, maximized: placement.maximized }
}

/** Saves the window's normal (not maximized) bounds and whether it is maximized, when it closes. */
export function rememberWindowState(window: BrowserWindow, dataDir: string): void {
  window.on('close', () => {
    try {
      writeSettings(dataDir, { window: { bounds: window.getNormalBounds(), maximized: window.isMaximized() } })
    } catch {
      // Not being able to remember the window's place must not keep the app from closing.
    }
  })
}

export function setOpenAtLogin(enabled: boolean, dataDir: string): void {
  writeSettings(dataDir, { openAtLogin: enabled })
  applyOpenAtLogin(enabled)
}

/** Makes the OS's login items agree with the setting (on start too: the user may have changed it there). */
export function applyOpenAtLogin(enabled: boolean): void {
  if (!app.isPackaged) return // a development build is not something to start at login
  if (process.platform === 'linux') {
    const file = linuxAutostartFile()
    if (enabled) {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, linuxAutostartEntry(process.execPath))
    } else {
      rmSync(file, { force: true })
    }
    return
  }
  app.setLoginItemSettings({ openAtLogin: enabled })
}

function toElectron(items: MenuItemSpec[]): MenuItemConstructorOptions[] {
  return items.map(({ submenu, click, ...rest }) => ({
    ...rest,
    ...(submenu ? { submenu: toElectron(submenu) } : {}),
    ...(click ? { click: (item: Electron.MenuItem) => click({ checked: item.checked }) } : {})
  }))
}

export function installApplicationMenu(dataDir: string, openReviewBundle: () => void): void {
  const template = buildMenuTemplate(
    { platform: process.platform, appName: app.getName(), openAtLogin: readSettings(dataDir).openAtLogin, development: !app.isPackaged },
    {
      openReviewBundle,
      openDataFolder: () => void shell.openPath(dataDir),
      openLogsFolder: () => void shell.openPath(logsDir(dataDir)),
      setOpenAtLogin: (enabled) => setOpenAtLogin(enabled, dataDir)
    }
  )
  Menu.setApplicationMenu(Menu.buildFromTemplate(toElectron(template)))
}
