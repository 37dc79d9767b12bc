import { ensureKeyRing, KeyNotReadyError, rotateKeyRing } from '../domain/keys/key-ring.js'
import { keyRingDeps } from '../domain/keys/key-ring-deps.js'
import { runWithDatabase } from './context.js'

// `npm run keys:rotate`: promote the published next key to current, retire the current one (it
// stays in the JWKS until its tokens have expired) and publish a new next key. Running instances
// pick the change up within KEY_RELOAD_INTERVAL_SECONDS (see src/plugins/keys.ts).
// A next key published too recently for verifiers to have cached it is not promoted: the command
// then changes nothing, says when to run it again in one line, and exits with code 1. Refusing
// (rather than waiting minutes) keeps the command predictable in scripts and runbooks.
await runWithDatabase('keys:rotate', async (config, database) => {
  const deps = keyRingDeps(config, database.db)
  await ensureKeyRing(deps)
  try {
    const result = await rotateKeyRing(deps)
    const printed = { retired: result.retired ?? null, current: result.current, next: result.next }
    process.stdout.write(`${JSON.stringify(printed)}\n`)
  } catch (error) {
    if (!(error instanceof KeyNotReadyError)) throw error
    process.stderr.write(`keys:rotate: ${error.message}\n`)
    process.exitCode = 1
  }
})
