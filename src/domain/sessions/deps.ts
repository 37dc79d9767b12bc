import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { Clock } from '../../lib/clock.js'
import type { SecretBox } from '../../lib/secret-box.js'
import type { AccessTokenDeps } from '../tokens/access-token.js'
import type { RefreshPolicy } from './policy.js'

/** Everything the session rules need; routes build it once (see src/plugins/sessions.ts). */
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
}

/** Who is asking, for the session list and the audit trail. */
export interface RequestContext {
  ip: string | null
  userAgent: string | null
}

export type Delivery = 'cookie' | 'body'

/** What a login or a refresh hands back; the route decides how the refresh token travels. */
export interface IssuedTokens {
  accessToken: string
  expiresIn: number
  refreshToken: string
  /** Seconds until the session's absolute expiry (never extended by rotation). */
  refreshExpiresIn: number
  sessionId: string
  userId: string
  delivery: Delivery
}
