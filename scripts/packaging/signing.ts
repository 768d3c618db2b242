// Code signing and notarization, switched on by environment variables only: the repository holds
// no credentials, and a build without them still makes (unsigned) installers.
//
// macOS signing: CSC_LINK (.p12, path or base64) and CSC_KEY_PASSWORD, read by electron-builder.
// macOS notarization: one of
//   APPLE_API_KEY + APPLE_API_KEY_ID + APPLE_API_ISSUER           (App Store Connect API key)
//   APPLE_ID + APPLE_APP_SPECIFIC_PASSWORD + APPLE_TEAM_ID        (Apple ID)
//   APPLE_KEYCHAIN_PROFILE (+ APPLE_KEYCHAIN)                     (notarytool keychain profile)
// Windows signing: WIN_CSC_LINK / WIN_CSC_KEY_PASSWORD (or CSC_LINK), read by electron-builder.

const NOTARIZATION_CREDENTIALS = [
  ['APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER'],
  ['APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID'],
  ['APPLE_KEYCHAIN_PROFILE']
] as const

/** Notarize only when a complete set of credentials is in the environment (electron-builder reads them itself). */
export function notarizationEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return NOTARIZATION_CREDENTIALS.some((set) => set.every((name) => (env[name] ?? '') !== ''))
}

/** Signing on macOS needs a certificate; without one electron-builder signs ad hoc (runs locally, not notarizable). */
export function macSigningIdentityGiven(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.CSC_LINK ?? '') !== '' || (env.CSC_NAME ?? '') !== ''
}
