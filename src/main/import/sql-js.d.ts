// sql.js ships no types; this declares the part the MLflow SQLite reader uses.
declare module 'sql.js' {
  export type SqlValue = number | bigint | string | Uint8Array | null
  export interface Statement {
    bind(values?: SqlValue[]): boolean
    step(): boolean
    get(params?: SqlValue[] | null, config?: { useBigInt?: boolean }): SqlValue[]
    getColumnNames(): string[]
    free(): boolean
  }
  export interface Database {
    prepare(sql: string): Statement
    close(): void
  }
  export interface SqlJsStatic {
    Database: new (data?: Uint8Array) => Database
  }
  export default function initSqlJs(config?: { locateFile?: (file: string) => string }): Promise<SqlJsStatic>
}
