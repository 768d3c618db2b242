/**
 * The runs table as a file: the columns shown, in their order, and the rows shown, in their
 * order (filter, name search and sort applied). Values are the ones the cells format, at full
 * precision (a metric shown as 0.1235 exports as 0.123456789), so the file is data, not a picture.
 */

export interface ExportColumn {
  /** The column id (`name`, `params.lr`, `metrics.val_loss`, `tags.team`…): the CSV header and JSON key. */
  id: string
  value: (rowIndex: number) => unknown
}

export function runsToJson(columns: readonly ExportColumn[], rowCount: number): string {
  const rows = Array.from({ length: rowCount }, (_, index) => {
    const row: Record<string, unknown> = {}
    for (const column of columns) row[column.id] = jsonValue(column.value(index))
    return row
  })
  return `${JSON.stringify(rows, null, 2)}\n`
}

export function runsToCsv(columns: readonly ExportColumn[], rowCount: number): string {
  const lines = [columns.map((column) => csvField(column.id)).join(',')]
  for (let index = 0; index < rowCount; index++) lines.push(columns.map((column) => csvField(csvText(column.value(index)))).join(','))
  return `${lines.join('\r\n')}\r\n`
}

/** JSON has no NaN or infinities: they become null, as a missing value does. */
function jsonValue(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  if (typeof value === 'bigint') return value.toString()
  return value
}

function csvText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value)
}

/** RFC 4180: quoted when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
