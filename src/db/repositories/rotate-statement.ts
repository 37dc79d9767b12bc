import { sql, type Kysely } from 'kysely'
import type { Database } from '../database.js'

export type RotationVerdict = 'rotate' | 'grace' | 'reused' | 'revoked' | 'expired' | 'mismatch'

export interface RotationInput {
  tokenHash: string
  /** The successor, prepared before the call: used only when the verdict is `rotate`. */
  next: { id: string, tokenHash: string, ciphertext: string }
  graceSeconds: number
  idleSeconds: number
  /** When set, a session started by another client is refused (`mismatch`) and nothing is spent. */
  clientId: string | null
  /** When set, a cookie-delivery session is refused (`mismatch`): its token must not reach a body. */
  bodyDeliveryOnly: boolean
  auditId: string
  /** The time to judge by; null: the database's clock (statement_timestamp()), shared by all instances. */
  at: Date | null
  ip: string | null
  userAgent: string | null
}

export interface RotationRow {
  verdict: RotationVerdict
  session_id: string
  user_id: string
  client_id: string
  delivery: 'cookie' | 'body'
  scope: string | null
  expires_at: Date
  /** The database's clock at the statement: every decision above was taken against it. */
  now: Date
  /** For `grace`: the sealed current token of the session, and that token's id (its seal's context). */
  successor_ciphertext: string | null
  successor_id: string | null
  /** The user's roles joined by spaces (null when none), read in the same statement. */
  roles: string | null
}

/**
 * The whole rotation as one statement, so a refresh costs one round trip and needs no session
 * state (it runs unchanged behind PgBouncer in transaction mode):
 * - `s` locks the session; `t` then locks the presented token. Under READ COMMITTED a row lock
 *   returns the newest committed version, so a request that queued behind a rotation sees the
 *   token as spent and its successor's ciphertext, even though the statement's snapshot is older.
 * - `j` judges on the database's clock (statement_timestamp()), so instances with skewed clocks
 *   agree, unless the caller passes the time (`at`: a test clock). A foreign client or a cookie
 *   session at the OAuth endpoint is refused before anything else: such a caller must learn
 *   nothing and spend nothing. A predecessor's ciphertext is cleared as soon as its successor is
 *   spent, so "ciphertext present" means "successor current".
 * - the writes happen only for their verdict; the insert reads `spend` so that the old token is
 *   spent before the new one exists (one unspent token per session is a unique index).
 * Reuse is only reported: the caller revokes the family in its own transaction.
 */
export async function rotateByHash (db: Kysely<Database>, input: RotationInput): Promise<RotationRow | undefined> {
  const result = await sql<RotationRow>`
    WITH presented AS (
      SELECT id, session_id FROM refresh_tokens WHERE token_hash = ${input.tokenHash}
    ), s AS (
      SELECT id, user_id, client_id, delivery, scope, expires_at, revoked_at, last_used_at FROM sessions
      WHERE id = (SELECT session_id FROM presented) FOR UPDATE
    ), t AS (
      SELECT id, spent_at, replaced_by, successor_ciphertext FROM refresh_tokens
      WHERE id = (SELECT id FROM presented) AND EXISTS (SELECT 1 FROM s) FOR UPDATE
    ), clock AS (
      SELECT COALESCE(${input.at}::timestamptz, statement_timestamp()) AS now
    ), j AS (
      SELECT s.*, t.id AS token_id, t.spent_at, t.replaced_by, t.successor_ciphertext, clock.now,
        CASE
          WHEN ${input.clientId}::text IS NOT NULL AND s.client_id <> ${input.clientId}::text THEN 'mismatch'
          WHEN ${input.bodyDeliveryOnly}::boolean AND s.delivery <> 'body' THEN 'mismatch'
          WHEN s.revoked_at IS NOT NULL THEN 'revoked'
          WHEN clock.now >= s.expires_at THEN 'expired'
          WHEN clock.now >= s.last_used_at + ${input.idleSeconds}::integer * interval '1 second' THEN 'expired'
          WHEN t.spent_at IS NULL THEN 'rotate'
          WHEN ${input.graceSeconds}::integer > 0 AND t.successor_ciphertext IS NOT NULL
            AND clock.now - t.spent_at <= ${input.graceSeconds}::integer * interval '1 second' THEN 'grace'
          ELSE 'reused'
        END AS verdict
      FROM s JOIN t ON true JOIN clock ON true
    ), spend AS (
      UPDATE refresh_tokens SET spent_at = j.now, replaced_by = ${input.next.id}::uuid,
        successor_ciphertext = ${input.next.ciphertext}
      FROM j WHERE refresh_tokens.id = j.token_id AND j.verdict = 'rotate'
      RETURNING refresh_tokens.session_id, j.now
    ), cleared AS (
      UPDATE refresh_tokens SET successor_ciphertext = NULL
      FROM j WHERE j.verdict = 'rotate' AND refresh_tokens.session_id = j.id
        AND refresh_tokens.successor_ciphertext IS NOT NULL AND refresh_tokens.id <> j.token_id
    ), inserted AS (
      INSERT INTO refresh_tokens (id, session_id, token_hash, created_at)
      SELECT ${input.next.id}::uuid, spend.session_id, ${input.next.tokenHash}, spend.now FROM spend
    ), touched AS (
      UPDATE sessions SET last_used_at = j.now
      FROM j WHERE sessions.id = j.id AND j.verdict IN ('rotate', 'grace')
    ), audited AS (
      INSERT INTO audit_events (id, type, user_id, session_id, ip, user_agent, created_at)
      SELECT ${input.auditId}::uuid, CASE j.verdict WHEN 'rotate' THEN 'refresh_succeeded' ELSE 'refresh_grace' END,
        j.user_id, j.id, ${input.ip}, ${input.userAgent}, j.now
      FROM j WHERE j.verdict IN ('rotate', 'grace')
    )
    SELECT verdict, id AS session_id, user_id, client_id, delivery, scope, expires_at, now,
      CASE WHEN verdict = 'grace' THEN successor_ciphertext END AS successor_ciphertext,
      CASE WHEN verdict = 'grace' THEN replaced_by END AS successor_id,
      CASE WHEN verdict IN ('rotate', 'grace') THEN
        (SELECT string_agg(role, ' ') FROM user_roles WHERE user_roles.user_id = j.user_id) END AS roles
    FROM j`.execute(db)
  return result.rows[0]
}
