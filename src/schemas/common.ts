import { Type } from 'typebox'

/** RFC 9457 problem details, as every `/auth/*` and operations error is answered. */
export const Problem = Type.Object({
  type: Type.String({ description: 'A URI naming the kind of problem' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'Stable snake_case error code, e.g. `invalid_credentials`' })
}, { $id: 'Problem', description: 'RFC 9457 problem details (`application/problem+json`)' })

/** A response entry for an error status, documented as problem+json. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
})

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String({ format: 'email' }),
  createdAt: Type.String({ format: 'date-time' })
}, { $id: 'User', additionalProperties: false })

export const Email = Type.String({ minLength: 1, maxLength: 320, description: 'Trimmed and lowercased; at most 254 characters after that' })
export const Password = Type.String({ minLength: 1, maxLength: 4096, description: '8 to 1024 characters after Unicode NFKC normalisation' })
