/** Which PostgreSQL the core runs on, as the UI and the logs describe it. */
export interface DatabaseInfo {
  mode: 'embedded' | 'external'
  serverVersion: string
  /** Human-readable, password-free: where the data is. */
  description: string
}

/** postgresql://user:secret@host:5432/db → "host:5432/db", never the password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`
  } catch {
    return 'a server given by URL'
  }
}
