/**
 * "Start at Login" (off until the user turns it on). macOS and Windows have an API for it
 * (app.setLoginItemSettings); on Linux Electron has none, so the XDG autostart entry is written
 * by hand: ~/.config/autostart/hypercube.desktop, which every freedesktop session starts.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'

export function linuxAutostartFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'autostart', 'hypercube.desktop')
}

/**
 * The program to start: an AppImage's own file ($APPIMAGE — the running executable is inside
 * its temporary mount, gone after exit), else the executable. Quoted per the Desktop Entry spec.
 */
export function linuxAutostartEntry(execPath: string, env: NodeJS.ProcessEnv = process.env): string {
  const program = env.APPIMAGE || execPath
  const quoted = `"${program.replace(/(["`$\\])/g, '\\$1')}"`
  return ['[Desktop Entry]', 'Type=Application', 'Name=Hypercube', `Exec=${quoted}`, 'X-GNOME-Autostart-enabled=true', 'NoDisplay=true', ''].join('\n')
}
