import { signAccessToken } from '../tokens/access-token.js'
import type { ResourceServer } from '../authorization/resources.js'
import { accessTokenDepsFor } from './access-cap.js'
import type { SessionDeps } from './deps.js'

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

/** The session a token pair is issued for, as login and rotation both know it. */
export interface IssuedSession {
  id: string
  userId: string
  clientId: string
  delivery: Delivery
  scope: string | undefined
  roles: string[]
  expiresAt: Date
}

/**
 * The one place a token pair is put together: an access token for the session (for `resource`
 * when one is given, never outliving the session) and the refresh token the caller generated.
 */
export async function issueTokens (
  deps: SessionDeps, session: IssuedSession, refreshToken: string, resource: ResourceServer | undefined, now: Date
): Promise<IssuedTokens> {
  const subject = {
    sub: session.userId,
    sid: session.id,
    clientId: session.clientId,
    scope: session.scope,
    roles: session.roles
  }
  const access = await signAccessToken(accessTokenDepsFor(deps.accessTokens, resource, session.expiresAt), subject)
  return {
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken,
    refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000)),
    sessionId: session.id,
    userId: session.userId,
    delivery: session.delivery
  }
}
