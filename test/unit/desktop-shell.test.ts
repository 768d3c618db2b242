import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildMenuTemplate, type MenuActions, type MenuItemSpec } from '../../src/main/desktop/app-menu'
import { linuxAutostartEntry, linuxAutostartFile } from '../../src/main/desktop/login-item'
import { focusFirstWindow, profileDirFor, type FocusableWindow } from '../../src/main/desktop/single-instance'
import { DEFAULT_WINDOW_SIZE, parseWindowState, placeWindow, type Rectangle } from '../../src/main/desktop/window-state'

const laptop: Rectangle = { x: 0, y: 25, width: 1440, height: 875 }
const rightMonitor: Rectangle = { x: 1440, y: 0, width: 2560, height: 1400 }

describe('window state: the saved size and place, fitted to the displays there are now', () => {
  it('opens at the default size, placed by the OS, when nothing was saved', () => {
    expect(placeWindow(null, [laptop])).toEqual({ bounds: { width: DEFAULT_WINDOW_SIZE.width, height: DEFAULT_WINDOW_SIZE.height }, maximized: false })
  })

  it('keeps a saved place that is on a display, and the maximized flag', () => {
    const saved = { bounds: { x: 1600, y: 100, width: 1400, height: 900 }, maximized: true }
    expect(placeWindow(saved, [laptop, rightMonitor])).toEqual({ bounds: saved.bounds, maximized: true })
  })

  it('drops the place of a window saved on a monitor that is gone, keeping its size within the primary display', () => {
    const saved = { bounds: { x: 1600, y: 100, width: 2000, height: 1200 }, maximized: false }
    expect(placeWindow(saved, [laptop])).toEqual({ bounds: { width: 1440, height: 875 }, maximized: false })
  })

  it('pulls a window hanging off the edge back onto its display and shrinks one larger than it', () => {
    const partly = { bounds: { x: 1300, y: 700, width: 1000, height: 700 }, maximized: false }
    expect(placeWindow(partly, [laptop])).toEqual({ bounds: { x: 440, y: 200, width: 1000, height: 700 }, maximized: false })
    const huge = { bounds: { x: 0, y: 25, width: 5000, height: 3000 }, maximized: false }
    expect(placeWindow(huge, [laptop])).toEqual({ bounds: { x: 0, y: 25, width: 1440, height: 875 }, maximized: false })
  })

  it('does not keep a place where only a sliver of the title bar would show, nor one above the display', () => {
    const sliver = { bounds: { x: 1400, y: 100, width: 1000, height: 700 }, maximized: false }
    expect(placeWindow(sliver, [laptop]).bounds).toEqual({ width: 1000, height: 700 })
    const above = { bounds: { x: 100, y: -900, width: 1000, height: 700 }, maximized: false }
    expect(placeWindow(above, [laptop]).bounds).toEqual({ width: 1000, height: 700 })
  })

  it('never restores a window smaller than the minimum size', () => {
    const tiny = { bounds: { x: 10, y: 30, width: 50, height: 20 }, maximized: false }
    expect(placeWindow(tiny, [laptop]).bounds).toEqual({ x: 10, y: 30, width: 800, height: 560 })
  })

  it('reads back only a well-formed state', () => {
    expect(parseWindowState({ bounds: { x: -1200, y: 0, width: 1000, height: 700 }, maximized: false })).toEqual({ bounds: { x: -1200, y: 0, width: 1000, height: 700 }, maximized: false })
    for (const bad of [null, 'big', {}, { bounds: { x: 0, y: 0, width: 0, height: 700 } }, { bounds: { x: 0.5, y: 0, width: 10, height: 10 } }, { bounds: { x: 0, y: 0, width: 1e9, height: 10 } }, { bounds: { x: '0', y: 0, width: 10, height: 10 } }]) {
      expect(parseWindowState(bad), JSON.stringify(bad)).toBeNull()
    }
  })
})

function collect(items: MenuItemSpec[]): MenuItemSpec[] {
  return items.flatMap((item) => [item, ...collect(item.submenu ?? [])])
}

describe('application menu', () => {
  const calls: string[] = []
  const actions: MenuActions = {
    openReviewBundle: () => calls.push('review'),
    openDataFolder: () => calls.push('data'),
    openLogsFolder: () => calls.push('logs'),
    setOpenAtLogin: (enabled) => calls.push(`login:${enabled}`)
  }

  it('on macOS: the app menu with About, Start at Login, Services, Hide and Quit; File, Edit, View and Window', () => {
    const template = buildMenuTemplate({ platform: 'darwin', appName: 'Hypercube', openAtLogin: false, development: false }, actions)
    expect(template.map((item) => item.label ?? item.role)).toEqual(['Hypercube', 'File', 'editMenu', 'View', 'windowMenu'])
    expect(template[0].submenu!.map((item) => item.role ?? item.label ?? item.type)).toEqual(['about', 'separator', 'Start at Login', 'separator', 'services', 'separator', 'hide', 'hideOthers', 'unhide', 'separator', 'quit'])
    expect(template[1].submenu!.map((item) => item.role ?? item.label ?? item.type)).toEqual(['Open Review Bundle…', 'separator', 'Open Data Folder', 'Open Logs Folder', 'separator', 'close'])
  })

  it('on Windows and Linux: Start at Login and Quit in File', () => {
    for (const platform of ['win32', 'linux'] as const) {
      const template = buildMenuTemplate({ platform, appName: 'Hypercube', openAtLogin: true, development: false }, actions)
      expect(template.map((item) => item.label ?? item.role)).toEqual(['File', 'editMenu', 'View', 'windowMenu'])
      expect(template[0].submenu!.map((item) => item.role ?? item.label ?? item.type)).toEqual(['Open Review Bundle…', 'separator', 'Open Data Folder', 'Open Logs Folder', 'separator', 'Start at Login', 'separator', 'quit'])
      expect(collect(template).find((item) => item.id === 'open-at-login')).toMatchObject({ type: 'checkbox', checked: true })
    }
  })

  it('offers developer tools and reload only in a development build', () => {
    const roles = (development: boolean) => collect(buildMenuTemplate({ platform: 'linux', appName: 'Hypercube', openAtLogin: false, development }, actions)).map((item) => item.role)
    expect(roles(false)).not.toContain('toggleDevTools')
    expect(roles(false)).not.toContain('reload')
    expect(roles(true)).toEqual(expect.arrayContaining(['toggleDevTools', 'reload', 'forceReload']))
    expect(roles(false)).toEqual(expect.arrayContaining(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen', 'editMenu', 'windowMenu']))
  })

  it('wires its own entries to the actions', () => {
    calls.length = 0
    const items = collect(buildMenuTemplate({ platform: 'linux', appName: 'Hypercube', openAtLogin: false, development: false }, actions))
    items.find((item) => item.id === 'open-data-folder')!.click!({ checked: false })
    items.find((item) => item.id === 'open-logs-folder')!.click!({ checked: false })
    items.find((item) => item.id === 'open-at-login')!.click!({ checked: true })
    items.find((item) => item.id === 'open-review-bundle')!.click!({ checked: false })
    expect(calls).toEqual(['data', 'logs', 'login:true', 'review'])
    // Ctrl+O (Cmd+O on macOS), as "Open…" is everywhere.
    expect(items.find((item) => item.id === 'open-review-bundle')).toMatchObject({ label: 'Open Review Bundle…', accelerator: 'CmdOrCtrl+O' })
  })
})

describe('start at login on Linux: an XDG autostart entry', () => {
  it('lives in $XDG_CONFIG_HOME/autostart and starts the AppImage file itself when run from one', () => {
    expect(linuxAutostartFile({ XDG_CONFIG_HOME: '/home/ana/.config' })).toBe('/home/ana/.config/autostart/hypercube.desktop')
    expect(linuxAutostartEntry('/tmp/.mount_Hyper/hypercube', { APPIMAGE: '/home/ana/Apps/Hypercube.AppImage' })).toContain('Exec="/home/ana/Apps/Hypercube.AppImage"\n')
    expect(linuxAutostartEntry('/opt/Hypercube/hypercube', {})).toBe('[Desktop Entry]\nType=Application\nName=Hypercube\nExec="/opt/Hypercube/hypercube"\nX-GNOME-Autostart-enabled=true\nNoDisplay=true\n')
  })

  it('quotes a path with spaces, quotes and dollar signs as the Desktop Entry spec asks', () => {
    expect(linuxAutostartEntry('/opt/My "Apps"/$HOME/hypercube', {})).toContain('Exec="/opt/My \\"Apps\\"/\\$HOME/hypercube"')
  })
})

describe('single instance: a second launch brings the first window back', () => {
  function fakeWindow(state: { minimized: boolean; visible: boolean }): FocusableWindow & { calls: string[] } {
    const calls: string[] = []
    return {
      calls,
      isMinimized: () => state.minimized,
      restore: () => calls.push('restore'),
      isVisible: () => state.visible,
      show: () => calls.push('show'),
      focus: () => calls.push('focus')
    }
  }

  it('restores a minimized window, shows a hidden one, and focuses it', () => {
    const minimized = fakeWindow({ minimized: true, visible: true })
    expect(focusFirstWindow(minimized)).toBe(true)
    expect(minimized.calls).toEqual(['restore', 'focus'])
    const hidden = fakeWindow({ minimized: false, visible: false })
    focusFirstWindow(hidden)
    expect(hidden.calls).toEqual(['show', 'focus'])
  })

  it('does nothing while the first instance has no window yet', () => {
    expect(focusFirstWindow(undefined)).toBe(false)
  })

  it('is one app per data folder when a data folder is given, else one per user', () => {
    expect(profileDirFor({ HYPERCUBE_DATA_DIR: '/tmp/a' }, '/tmp/a')).toBe(join('/tmp/a', 'electron-profile'))
    expect(profileDirFor({}, '/home/ana/.local/share/hypercube')).toBeNull()
  })
})
