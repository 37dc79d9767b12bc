import type { Kysely } from 'kysely'
import { newId } from '../../lib/random.js'
import type { Database } from '../database.js'

export type AuditEventType =
  | 'user_registered' | 'login_succeeded' | 'login_failed'
  | 'refresh_succeeded' | 'refresh_grace' | 'refresh_reuse_detected'
  | 'logout' | 'logout_all' | 'password_changed' | 'session_revoked' | 'token_revoked' | 'client_token_issued'

export interface AuditEvent {
  type: AuditEventType
  userId?: string | null
  sessionId?: string | null
  clientId?: string | null
  ip?: string | null
  userAgent?: string | null
  detail?: Record<string, unknown>
}

/** Append to the audit trail. Never pass a password, a token or a hash in `detail`. */
export async function insertAuditEvent (db: Kysely<Database>, event: AuditEvent, now: Date): Promise<void> {
  await db.insertInto('audit_events').values({
    id: newId(now.getTime()),
    type: event.type,
    user_id: event.userId ?? null,
    session_id: event.sessionId ?? null,
    client_id: event.clientId ?? null,
    ip: event.ip ?? null,
    user_agent: event.userAgent ?? null,
    detail: event.detail === undefined ? null : JSON.stringify(event.detail),
    created_at: now
  }).execute()
}
