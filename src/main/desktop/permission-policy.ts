/**
 * Which web permissions the window gets (STYLE 14). Electron grants every permission request
 * by default; the app needs one: writing text to the clipboard (Settings' "copy token").
 * Everything else — camera, microphone, geolocation, notifications, MIDI, HID/serial/USB,
 * screen capture, pointer lock, opening external protocols, reading the clipboard — is
 * denied, and so is any permission asked by a frame that is not the app's own page.
 */
import { isAppUrl } from './navigation-policy'

/** The permissions the app's page uses, and why. */
export const GRANTED_PERMISSIONS: ReadonlyMap<string, string> = new Map([
  ['clipboard-sanitized-write', "Settings' copy buttons write the API token as plain text"]
])

/** setPermissionRequestHandler: grant only a used permission, only to the app's page. */
export function decidePermissionRequest(permission: string, requestingUrl: string, devServerUrl?: string): boolean {
  return GRANTED_PERMISSIONS.has(permission) && isAppUrl(requestingUrl, devServerUrl)
}

/** setPermissionCheckHandler: the same answer to "would it be granted?". */
export function decidePermissionCheck(permission: string, requestingOrigin: string, devServerUrl?: string): boolean {
  return decidePermissionRequest(permission, requestingOrigin, devServerUrl)
}

/** setDevicePermissionHandler (HID, serial, USB): the app uses no devices. */
export function decideDevicePermission(): false {
  return false
}
