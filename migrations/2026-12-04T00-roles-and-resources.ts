import { sql, type Kysely } from 'kysely'

/**
 * Roles per user (carried in the `roles` claim of every user access token) and the registry of
 * resource servers (RFC 8707): the services a token may be minted for, each with the scopes a
 * client may be granted for it and an optional cap on the token lifetime. Roles go with their
 * user; a resource's URI is its identity and is compared exactly.
 */
export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE user_roles (
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, role)
    )`.execute(db)
  await sql`
    CREATE TABLE resource_servers (
      uri text PRIMARY KEY,
      scope text NOT NULL DEFAULT '',
      ttl_seconds integer CHECK (ttl_seconds > 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE resource_servers`.execute(db)
  await sql`DROP TABLE user_roles`.execute(db)
}
