import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely'

/** Row types of the schema in migrations/. They stay inside `src/db`; repositories map them out. */
type CreatedAt = ColumnType<Date, Date | undefined, never>
type Timestamp = ColumnType<Date, Date | undefined, Date>
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>

export interface UsersTable {
  id: string
  email: string
  password_hash: string
  created_at: CreatedAt
  updated_at: Timestamp
  password_changed_at: Timestamp
}

export interface SessionsTable {
  id: string
  user_id: string
  client_id: string
  delivery: 'cookie' | 'body'
  scope: string | null
  user_agent: string | null
  ip: string | null
  created_at: CreatedAt
  last_used_at: Timestamp
  expires_at: Date
  revoked_at: NullableTimestamp
  revoked_reason: string | null
}

export interface RefreshTokensTable {
  id: string
  session_id: string
  token_hash: string
  created_at: CreatedAt
  spent_at: NullableTimestamp
  replaced_by: string | null
  successor_ciphertext: string | null
}

export interface SigningKeysTable {
  kid: string
  alg: string
  state: 'next' | 'current' | 'retired'
  public_jwk: ColumnType<Record<string, unknown>, string, string>
  private_jwk_ciphertext: string
  created_at: CreatedAt
  activated_at: NullableTimestamp
  retired_at: NullableTimestamp
  publish_until: NullableTimestamp
}

export interface OAuthClientsTable {
  client_id: string
  secret_hash: string
  name: string | null
  scope: string | null
  created_at: CreatedAt
  revoked_at: NullableTimestamp
}

export interface LoginThrottlesTable {
  email: string
  /** The client address (an IPv6 address by its /64 prefix) the attempts came from. */
  source: string
  failures: ColumnType<number, number | undefined, number>
  /** Attempts admitted whose password check has not finished yet. */
  pending: ColumnType<number, number | undefined, number>
  pending_since: NullableTimestamp
  window_started_at: Timestamp
  blocked_until: NullableTimestamp
  /** The answer the last upsert gave (read back by RETURNING). */
  verdict: ColumnType<string, string | undefined, string>
}

export interface AuditEventsTable {
  id: string
  type: string
  user_id: string | null
  session_id: string | null
  client_id: string | null
  ip: string | null
  user_agent: string | null
  detail: ColumnType<Record<string, unknown> | null, string | null, never>
  created_at: CreatedAt
}

export interface SessionRevocationsTable {
  seq: ColumnType<string, never, never>
  /** xid8 as text: a 64-bit transaction id, never wrapping. */
  tx: ColumnType<string, never, never>
  session_id: string
  reason: string
  revoked_at: Date
}

export interface UserRolesTable {
  user_id: string
  role: string
  created_at: CreatedAt
}

export interface ResourceServersTable {
  uri: string
  /** Space-separated scopes a client may be granted for this resource; '' for none. */
  scope: string
  ttl_seconds: number | null
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
  oauth_clients: OAuthClientsTable
  login_throttles: LoginThrottlesTable
  audit_events: AuditEventsTable
  session_revocations: SessionRevocationsTable
  user_roles: UserRolesTable
  resource_servers: ResourceServersTable
}

export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type RefreshTokenRow = Selectable<RefreshTokensTable>
export type SigningKeyRow = Selectable<SigningKeysTable>
