import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** One row of the table: a measured scenario and the ceiling it is held against. */
export interface Row {
  work: string
  connections: number | string
  perSecond: number
  p50ms?: number
  p99ms?: number
  errors?: number
  non2xx?: number
  ceiling?: { name: string, perSecond: number }
  goal?: number
  note?: string
  /** The service's peak RSS (VmHWM) once this scenario was done. */
  rssMiB?: number
}

const fmt = (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? '—' : value.toLocaleString('en-US')

export function ratio (row: Row): number | undefined {
  if (row.ceiling === undefined || row.ceiling.perSecond === 0) return undefined
  return Math.round(row.perSecond / row.ceiling.perSecond * 100) / 100
}

export function markdownTable (rows: readonly Row[]): string {
  const lines = [
    '| work | conns | req/s | p50 ms | p99 ms | errors | non-2xx | ceiling | ceiling req/s | ratio | goal | ' +
      'peak RSS MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: |'
  ]
  for (const row of rows) {
    const r = ratio(row)
    const verdict = r !== undefined && row.goal !== undefined && r >= row.goal ? 'met' : '**not met**'
    const goal = row.goal === undefined || r === undefined ? '' : `≥ ${row.goal} ${verdict}`
    const cells = [
      `${row.work}${row.note === undefined ? '' : ` (${row.note})`}`, String(row.connections), fmt(row.perSecond),
      fmt(row.p50ms), fmt(row.p99ms), fmt(row.errors), fmt(row.non2xx), row.ceiling?.name ?? '',
      fmt(row.ceiling?.perSecond),
      r === undefined ? '' : r.toFixed(2), goal, String(row.rssMiB ?? '')
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

const START = '<!-- bench:start (written by npm run bench; edit outside these markers) -->'
const END = '<!-- bench:end -->'

/** Replace the generated part of docs/BENCHMARKS.md, keeping what people wrote around it. */
export function writeBenchmarksDoc (path: string, generated: string): void {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    text = `# Benchmarks\n\n${START}\n${END}\n`
  }
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  const block = `${START}\n${generated.trim()}\n${END}`
  mkdirSync(dirname(path), { recursive: true })
  const replaced = start >= 0 && end > start
    ? text.slice(0, start) + block + text.slice(end + END.length)
    : `${text.trimEnd()}\n\n${block}\n`
  writeFileSync(path, replaced)
}
