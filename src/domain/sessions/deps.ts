import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { Clock } from '../../lib/clock.js'
import type { SecretBox } from '../../lib/secret-box.js'
import type { AccessTokenDeps } from '../tokens/access-token.js'
import type { RefreshPolicy } from './policy.js'

/** Everything the session rules need; the service layer builds it once (src/services/index.ts). */
export interface SessionDeps {
  db: Kysely<Database>
  clock: Clock
  /** Encrypts a successor token for the grace window. */
  successorBox: SecretBox
  policy: RefreshPolicy
  accessTokens: AccessTokenDeps
  /** REFRESH_TOKEN_TTL: the absolute session lifetime. */
  sessionTtlSeconds: number
  /** MAX_SESSIONS_PER_USER; 0 means unlimited. */
  maxSessionsPerUser: number
  /** Told, once their revocation has committed, which sessions this instance revoked. */
  sessionsRevoked: (sessionIds: readonly string[]) => void
}
