import type uPlot from 'uplot'
import { plottedCsv } from '../lib/chart-panels'
import { saveDownload } from '../lib/download'
import type { PlotLine } from '../lib/panel-plot'

/**
 * A chart panel's exports, from what uPlot drew: PNG (its canvas, on white), SVG (the same
 * lines, bands and axes as vectors) and CSV (the plotted columns: x and one column per line).
 */

export function downloadBlob(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob)
  saveDownload(url, fileName)
  // After the click has handed the URL to the download.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** The chart's canvas, axes included, at its device pixels, on a white background. */
export function chartPng(plot: uPlot): Promise<Blob> {
  const source = plot.ctx.canvas
  const canvas = document.createElement('canvas')
  canvas.width = source.width
  canvas.height = source.height
  const context = canvas.getContext('2d')!
  context.fillStyle = '#ffffff'
  context.fillRect(0, 0, canvas.width, canvas.height)
  context.drawImage(source, 0, 0)
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the browser could not encode the PNG'))), 'image/png'))
}

export function chartCsv(plot: uPlot, xLabel: string, lines: readonly PlotLine[]): string {
  return plottedCsv([xLabel, ...lines.map((line) => line.label)], plot.data as unknown as number[][])
}

const escapeXml = (text: string): string => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!)

/**
 * The chart as SVG in CSS pixels: the plotting area's frame, the axes' tick labels as uPlot
 * placed them, each band as a polygon and each line as polylines (split at gaps).
 */
export function chartSvg(plot: uPlot, title: string, lines: readonly PlotLine[], bands: ReadonlyArray<{ upper: number; lower: number; color: string }>, look: (line: PlotLine) => { stroke: string; width: number; fill?: string }): string {
  const ratio = plot.ctx.canvas.width / plot.width
  const left = plot.bbox.left / ratio
  const top = plot.bbox.top / ratio
  const width = plot.bbox.width / ratio
  const height = plot.bbox.height / ratio
  const data = plot.data
  const xs = data[0] as ArrayLike<number>
  const point = (i: number, column: number): [number, number] | null => {
    const value = data[column]![i]
    if (value === null || value === undefined) return null
    return [left + plot.valToPos(xs[i]!, 'x'), top + plot.valToPos(value, 'y')]
  }
  const parts: string[] = []
  parts.push(`<rect x="0" y="0" width="${plot.width}" height="${plot.height}" fill="#ffffff"/>`)
  parts.push(`<text x="${left}" y="14" font-family="sans-serif" font-size="13" font-weight="600">${escapeXml(title)}</text>`)
  parts.push(`<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#dfe3ea"/>`)
  for (const band of bands) {
    const upper: string[] = []
    const lower: string[] = []
    for (let i = 0; i < xs.length; i++) {
      const hi = point(i, band.upper + 1)
      const lo = point(i, band.lower + 1)
      if (hi && lo) {
        upper.push(`${hi[0].toFixed(2)},${hi[1].toFixed(2)}`)
        lower.unshift(`${lo[0].toFixed(2)},${lo[1].toFixed(2)}`)
      }
    }
    if (upper.length > 1) parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${look(lines[band.upper]!).fill ?? band.color}" stroke="none"/>`)
  }
  lines.forEach((line, index) => {
    const { stroke, width: strokeWidth } = look(line)
    if (strokeWidth === 0) return
    let run: string[] = []
    const flush = (): void => {
      if (run.length > 1) parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${stroke}" stroke-width="${strokeWidth}"${line.dash ? ` stroke-dasharray="${line.dash.join(' ')}"` : ''}><title>${escapeXml(line.label)}</title></polyline>`)
      run = []
    }
    for (let i = 0; i < xs.length; i++) {
      const p = point(i, index + 1)
      // uPlot spans missing points of a joined column (undefined); a null is a real gap.
      if (p) run.push(`${p[0].toFixed(2)},${p[1].toFixed(2)}`)
      else if (data[index + 1]![i] === null) flush()
    }
    flush()
  })
  // Tick labels where uPlot put them (its axes keep the splits and the texts it drew).
  plot.axes.forEach((axis, a) => {
    const internal = axis as uPlot.Axis & { _splits?: number[]; _values?: string[] }
    const splits = internal._splits ?? []
    const values = internal._values ?? []
    splits.forEach((split, i) => {
      const label = values[i]
      if (label === undefined || label === null || label === '') return
      if (a === 0) parts.push(`<text x="${(left + plot.valToPos(split, 'x')).toFixed(1)}" y="${top + height + 16}" font-family="sans-serif" font-size="11" text-anchor="middle">${escapeXml(String(label))}</text>`)
      else parts.push(`<text x="${left - 6}" y="${(top + plot.valToPos(split, 'y') + 4).toFixed(1)}" font-family="sans-serif" font-size="11" text-anchor="end">${escapeXml(String(label))}</text>`)
    })
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${plot.width}" height="${plot.height}" viewBox="0 0 ${plot.width} ${plot.height}">${parts.join('')}</svg>\n`
}
