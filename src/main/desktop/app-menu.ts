/**
 * The application menu's shape, built from plain data so a test can read it; the glue hands
 * it to Menu.buildFromTemplate. The usual roles (edit, view, window; the app menu on macOS)
 * plus the app's own entries: File → Open Review Bundle… (a bundle browsed read-only in a
 * window of its own), the data folder and the logs folder (opened by the OS's file manager),
 * and "Start at Login".
 */

export type MenuRole =
  | 'about'
  | 'services'
  | 'hide'
  | 'hideOthers'
  | 'unhide'
  | 'quit'
  | 'close'
  | 'undo'
  | 'redo'
  | 'cut'
  | 'copy'
  | 'paste'
  | 'pasteAndMatchStyle'
  | 'delete'
  | 'selectAll'
  | 'reload'
  | 'forceReload'
  | 'toggleDevTools'
  | 'resetZoom'
  | 'zoomIn'
  | 'zoomOut'
  | 'togglefullscreen'
  | 'minimize'
  | 'zoom'
  | 'front'
  | 'window'
  | 'appMenu'
  | 'fileMenu'
  | 'editMenu'
  | 'viewMenu'
  | 'windowMenu'

export interface MenuItemSpec {
  id?: string
  label?: string
  role?: MenuRole
  type?: 'normal' | 'separator' | 'submenu' | 'checkbox'
  checked?: boolean
  accelerator?: string
  submenu?: MenuItemSpec[]
  click?: (item: { checked: boolean }) => void
}

export interface MenuActions {
  /** File → Open Review Bundle…: choose a .hcube and review it read-only (review-window.ts). */
  openReviewBundle(): void
  openDataFolder(): void
  openLogsFolder(): void
  setOpenAtLogin(enabled: boolean): void
}

export interface MenuOptions {
  platform: NodeJS.Platform
  appName: string
  openAtLogin: boolean
  /** Developer tools and reload only in a development build: a user has no use for them. */
  development: boolean
}

const separator: MenuItemSpec = { type: 'separator' }

export function buildMenuTemplate(options: MenuOptions, actions: MenuActions): MenuItemSpec[] {
  const mac = options.platform === 'darwin'
  const startAtLogin: MenuItemSpec = {
    id: 'open-at-login',
    label: 'Start at Login',
    type: 'checkbox',
    checked: options.openAtLogin,
    click: (item) => actions.setOpenAtLogin(item.checked)
  }
  const folders: MenuItemSpec[] = [
    { id: 'open-data-folder', label: 'Open Data Folder', click: () => actions.openDataFolder() },
    { id: 'open-logs-folder', label: 'Open Logs Folder', click: () => actions.openLogsFolder() }
  ]
  const appMenu: MenuItemSpec[] = mac
    ? [
        {
          label: options.appName,
          submenu: [{ role: 'about' }, separator, startAtLogin, separator, { role: 'services' }, separator, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, separator, { role: 'quit' }]
        }
      ]
    : []
  const openReview: MenuItemSpec = { id: 'open-review-bundle', label: 'Open Review Bundle…', accelerator: 'CmdOrCtrl+O', click: () => actions.openReviewBundle() }
  const file: MenuItemSpec = {
    label: 'File',
    submenu: [openReview, separator, ...folders, ...(mac ? [] : [separator, startAtLogin]), separator, mac ? { role: 'close' } : { role: 'quit' }]
  }
  const view: MenuItemSpec = {
    label: 'View',
    submenu: [
      ...(options.development ? [{ role: 'reload' as const }, { role: 'forceReload' as const }, { role: 'toggleDevTools' as const }, separator] : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      separator,
      { role: 'togglefullscreen' }
    ]
  }
  return [...appMenu, file, { role: 'editMenu' }, view, { role: 'windowMenu' }]
}
