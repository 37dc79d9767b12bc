import type { Migration } from 'kysely'
import * as initialSchema from './2026-11-22T00-initial-schema.js'
import * as loginThrottlePerSource from './2026-12-02T01-login-throttle-per-source.js'
import * as sessionRevocations from './2026-12-03T00-session-revocations.js'
import * as rolesAndResources from './2026-12-04T00-roles-and-resources.js'

/**
 * Every migration, by name, in order. A static list (rather than a folder scan) works the same
 * from TypeScript sources in tests and from compiled JavaScript in production.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-22T00-initial-schema': initialSchema,
  '2026-12-02T01-login-throttle-per-source': loginThrottlePerSource,
  '2026-12-03T00-session-revocations': sessionRevocations,
  '2026-12-04T00-roles-and-resources': rolesAndResources
}
