import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * `npm run lint:openapi [file]`: Redocly CLI lint of openapi.yaml (or `file`) with redocly.yaml.
 * Redocly exits 0 on warnings; here a warning fails as an error does, and so does a problem hidden
 * by an ignore file, so "valid" means nothing was reported at all. No telemetry, no update check:
 * the lint runs offline.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const file = process.argv[2] ?? 'openapi.yaml'
const redocly = fileURLToPath(new URL('../node_modules/@redocly/cli/bin/cli.js', import.meta.url))

interface LintReport {
  totals: { errors: number, warnings: number, ignored: number }
  problems: Array<{ ruleId: string, severity: string, message: string, location: Array<{ pointer?: string }> }>
}

const args = [redocly, 'lint', file, '--config', 'redocly.yaml', '--lint-config', 'error', '--format', 'json']
const run = spawnSync(process.execPath, args, {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
})

let report: LintReport | undefined
try {
  report = JSON.parse(run.stdout) as LintReport
} catch {
  report = undefined
}
if (report === undefined) {
  process.stderr.write(`redocly lint did not report (exit ${String(run.status)}):\n${run.stdout}${run.stderr}`)
  process.exit(1)
}

for (const problem of report.problems) {
  const pointer = problem.location[0]?.pointer ?? ''
  process.stdout.write(`${problem.severity} ${problem.ruleId} ${pointer}: ${problem.message}\n`)
}
const { errors, warnings, ignored } = report.totals
process.stdout.write(`${file}: ${errors} errors, ${warnings} warnings, ${ignored} ignored\n`)
process.exit(run.status === 0 && errors + warnings + ignored === 0 ? 0 : 1)
