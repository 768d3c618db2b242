import { execFileSync } from 'node:child_process'
import { userInfo } from 'node:os'

/**
 * The name recorded for reviews and deploys made from the app when Settings names nobody: the
 * OS user's full name (the GECOS field of their passwd entry on Linux, the account's full name
 * on macOS), else the login name, else "local user" (no passwd entry, as in some containers).
 */
export function osUserFullName(): string {
  let login: string
  try {
    login = userInfo().username
  } catch {
    return 'local user'
  }
  return fullNameOf(login) ?? login
}

function fullNameOf(login: string): string | null {
  try {
    if (process.platform === 'linux') {
      // getent asks NSS, so LDAP and sssd accounts are found as well as /etc/passwd ones.
      const entry = execFileSync('getent', ['passwd', login], { encoding: 'utf8', timeout: 2_000 })
      return gecosFullName(entry)
    }
    if (process.platform === 'darwin') {
      const name = execFileSync('id', ['-F', login], { encoding: 'utf8', timeout: 2_000 }).trim()
      return name === '' ? null : name
    }
  } catch {
    // No getent / id, or no entry: fall back to the login name.
  }
  return null
}

/** The full name in a passwd line: the GECOS field up to its first comma (room, phones follow). */
export function gecosFullName(passwdLine: string): string | null {
  const gecos = passwdLine.trim().split(':')[4]
  const name = gecos?.split(',')[0]?.trim()
  return name ? name : null
}
