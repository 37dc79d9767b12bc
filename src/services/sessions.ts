import { resolveResource } from '../domain/authorization/resources.js'
import { authenticateClientIfPresented, type ClientCredentials } from '../domain/clients/clients.js'
import type { RequestContext } from '../domain/request-context.js'
import { findLiveSessionsOfUser } from '../db/repositories/sessions.js'
import type { LiveSession } from '../domain/sessions/live-session-cache.js'
import { findLiveSessionWithUser, isSessionLive, type SessionUser } from '../domain/sessions/liveness.js'
import {
  revokeAllUserSessions, revokeSessionOfRefreshToken, revokeUserSession
} from '../domain/sessions/revocation.js'
import { rotateRefreshToken, type RotationOutcome } from '../domain/sessions/rotation.js'
import { verifyAccessToken, type AccessTokenClaims } from '../domain/tokens/access-token.js'
import { toPublicUser, type PublicUser } from '../domain/users.js'
import { invalidToken } from '../errors.js'
import type { ServiceDeps } from './index.js'
import type { Wiring } from './wiring.js'

/** Who a valid user access token speaks for, with its live session's user. */
export interface Caller {
  /** The user id. */
  sub: string
  /** The session of the token (only user tokens are callers). */
  sid: string
  claims: AccessTokenClaims
  /** The session's user, read with the session (so /auth/me costs one query); undefined if deleted. */
  user: SessionUser | undefined
}

export interface RefreshRequest {
  refreshToken: string
  /** A registered resource server's URI (RFC 8707); none: this service's AUDIENCE. */
  resource: string | undefined
  /** The OAuth endpoint: the client presented (if any); a session of another client is refused. */
  client?: ClientCredentials | undefined
  /** The OAuth endpoint answers in a body: a cookie session's token is refused there, unspent. */
  bodyDeliveryOnly?: boolean
}

/** What a refresh came to: `rotated`, or why not (the caller renders it and may clear a cookie). */
export type RefreshOutcome = RotationOutcome

export interface SessionView {
  id: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  userAgent: string | null
  ip: string | null
  current: boolean
}

export interface SessionServices {
  /** The caller of a bearer token: invalid_token unless it verifies and its session is live. */
  authenticate: (accessToken: string) => Promise<Caller>
  /** Rotate a refresh token (both /auth/refresh and /oauth/token): invalid_target, invalid_client thrown. */
  refresh: (input: RefreshRequest, context: RequestContext) => Promise<RefreshOutcome>
  /** End the session of a refresh token (unknown ones are ignored) or of the caller. */
  logout: (target: { refreshToken: string } | { caller: Caller }, context: RequestContext) => Promise<void>
  logoutAll: (caller: Caller, context: RequestContext) => Promise<void>
  listSessions: (caller: Caller) => Promise<SessionView[]>
  /** `not_found` for a session that is not the caller's, or none at all: the two look the same. */
  revokeSession: (caller: Caller, sessionId: string, context: RequestContext) => Promise<'revoked' | 'not_found'>
  me: (caller: Caller) => PublicUser
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function createSessionServices (deps: ServiceDeps, wiring: Wiring): SessionServices {
  const { db, clock, metrics } = deps
  const idleSeconds = deps.config.SESSION_IDLE_TTL
  const { revocation, liveSessions } = wiring

  // The session of a bearer call, from the cache while a live verdict is fresh, else from the database.
  async function liveSessionOf (sessionId: string): Promise<LiveSession | undefined> {
    const now = clock.now()
    const cached = liveSessions.get(sessionId)
    // Absolute and idle expiry are judged again at every use; an end the copy shows is checked afresh.
    if (cached !== undefined && isSessionLive(cached.session, now, idleSeconds)) return cached
    const readStarted = liveSessions.readStarted()
    const live = await findLiveSessionWithUser(db, sessionId, now, idleSeconds)
    if (live !== undefined) liveSessions.remember(sessionId, live, readStarted)
    return live
  }

  return {
    async authenticate (accessToken) {
      const claims = await verifyAccessToken(wiring.accessTokens, accessToken)
      // Every use case of a caller acts on a user and their session; a client_credentials token has neither.
      if (claims.sid === undefined) throw invalidToken('This endpoint requires a user access token')
      const live = await liveSessionOf(claims.sid)
      if (live === undefined) throw invalidToken('The session of this access token has ended')
      // A token whose sub is not its session's user was not issued by us for this session.
      const user = live.user?.id === claims.sub ? live.user : undefined
      return { sub: claims.sub, sid: claims.sid, claims, user }
    },

    async refresh (input, context) {
      // RFC 6749 §6: a token is bound to the client of its session.
      const clientId = await authenticateClientIfPresented(db, input.client)
      // Resolved before the rotation: an unknown resource is invalid_target with nothing spent.
      const resource = await resolveResource(db, input.resource)
      const binding = { clientId, bodyDeliveryOnly: input.bodyDeliveryOnly }
      const outcome = await rotateRefreshToken(wiring.sessions, input.refreshToken, context, binding, resource)
      if (outcome.kind === 'rotated') {
        metrics.refreshed(outcome.grace ? 'grace' : 'ok')
        metrics.tokenIssued('refresh_token')
      } else {
        metrics.refreshed(outcome.kind)
        if (outcome.kind === 'reused') metrics.reuseDetected()
      }
      return outcome
    },

    async logout (target, context) {
      if ('refreshToken' in target) {
        await revokeSessionOfRefreshToken(revocation, target.refreshToken, 'logout', context)
      } else {
        await revokeUserSession(revocation, target.caller.sub, target.caller.sid, 'logout', context)
      }
    },

    async logoutAll (caller, context) {
      await revokeAllUserSessions(revocation, caller.sub, 'logout_all', context)
    },

    async listSessions (caller) {
      const now = clock.now()
      return (await findLiveSessionsOfUser(db, caller.sub, now))
        .filter((session) => isSessionLive(session, now, idleSeconds))
        .map((session) => ({
          id: session.id,
          createdAt: session.created_at.toISOString(),
          lastUsedAt: session.last_used_at.toISOString(),
          expiresAt: session.expires_at.toISOString(),
          userAgent: session.user_agent,
          ip: session.ip,
          current: session.id === caller.sid
        }))
    },

    async revokeSession (caller, sessionId, context) {
      if (!UUID.test(sessionId)) return 'not_found'
      const id = sessionId.toLowerCase()
      const revoked = await revokeUserSession(revocation, caller.sub, id, 'session_revoked', context)
      return revoked ? 'revoked' : 'not_found'
    },

    me (caller) {
      // A deleted user, or a sub that is not the session's user, has no profile here.
      if (caller.user === undefined) throw invalidToken('The access token does not belong to a user')
      return toPublicUser(caller.user)
    }
  }
}
