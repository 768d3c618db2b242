import { readFileSync } from 'node:fs'
import pg from 'pg'
import initSqlJs from 'sql.js'

/**
 * Copies an MLflow SQLite store into an empty PostgreSQL database, table by table with the
 * types MLflow's schema declares (SQLAlchemy's VARCHAR(n), BIGINT, FLOAT, BOOLEAN, TEXT, JSON),
 * so the importer can be tested against an MLflow store in PostgreSQL — what a team's
 * `mlflow server --backend-store-uri postgresql://…` keeps — with the same data and ground truth.
 */
export async function copyMlflowSqliteToPostgres(sqlitePath: string, url: string): Promise<void> {
  const SQL = await initSqlJs()
  const source = new SQL.Database(readFileSync(sqlitePath))
  const target = new pg.Client({ connectionString: url })
  await target.connect()
  try {
    const tables = source.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]!.values.map((row) => String(row[0]))
    for (const table of tables) {
      const columns = source.exec(`PRAGMA table_info("${table}")`)[0]!.values.map((row) => ({ name: String(row[1]), type: String(row[2]).toUpperCase() }))
      const pgType = (type: string): string =>
        type.startsWith('VARCHAR') ? type.toLowerCase() : ({ INTEGER: 'bigint', BIGINT: 'bigint', FLOAT: 'double precision', BOOLEAN: 'boolean', TEXT: 'text', JSON: 'json' } as Record<string, string>)[type] ?? 'text'
      await target.query(`CREATE TABLE "${table}" (${columns.map((column) => `"${column.name}" ${pgType(column.type)}`).join(', ')})`)
      const statement = source.prepare(`SELECT * FROM "${table}"`)
      try {
        while (statement.step()) {
          const values = statement.get(null, { useBigInt: true }).map((value, i) => {
            if (value === null || value === undefined) return null
            if (columns[i]!.type === 'BOOLEAN') return Number(value) === 1
            return typeof value === 'bigint' ? value.toString() : value
          })
          await target.query(`INSERT INTO "${table}" VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`, values)
        }
      } finally {
        statement.free()
      }
    }
  } finally {
    source.close()
    await target.end()
  }
}
