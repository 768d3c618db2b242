// sql.js ships no types; this declares the part the MLflow SQLite reader, its tests and
// bench:import use (@types/sql.js has no BigInt results: steps are int64).
declare module 'sql.js' {
  export type SqlValue = number | bigint | string | Uint8Array | null
  export interface Statement {
    bind(values?: SqlValue[]): boolean
    step(): boolean
    get(params?: SqlValue[] | null, config?: { useBigInt?: boolean }): SqlValue[]
    getColumnNames(): string[]
    /** Binds, steps once and resets: for INSERTs. */
    run(values?: SqlValue[]): void
    free(): boolean
  }
  export interface QueryExecResult {
    columns: string[]
    values: SqlValue[][]
  }
  export interface Database {
    prepare(sql: string): Statement
    run(sql: string, params?: SqlValue[]): Database
    exec(sql: string, params?: SqlValue[]): QueryExecResult[]
    /** The database as an SQLite file's bytes. */
    export(): Uint8Array
    close(): void
  }
  export interface SqlJsStatic {
    Database: new (data?: Uint8Array) => Database
  }
  export default function initSqlJs(config?: { locateFile?: (file: string) => string }): Promise<SqlJsStatic>
}
