/** The only shape of a user that leaves the service: never a hash, never internal columns. */
export interface PublicUser {
  id: string
  email: string
  createdAt: string
}

export const toPublicUser = (row: { id: string, email: string, created_at: Date }): PublicUser => ({
  id: row.id,
  email: row.email,
  createdAt: row.created_at.toISOString()
})
