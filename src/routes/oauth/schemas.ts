import { Type } from 'typebox'

const Param = Type.String({ maxLength: 4096 })

/** A form (or JSON) body of string parameters; unknown ones are ignored, as RFC 6749 §3.2 requires. */
export const oauthBody = (properties: Record<string, ReturnType<typeof Type.String>>) =>
  Type.Object(properties, { additionalProperties: Param })

export const OAuthParam = Param

/** A token parameter: any length is a token we do not know (invalid_grant / RFC 7009's 200), not a 400. */
export const OAuthTokenParam = Type.String()

export const OAuthError = Type.Object({
  error: Type.String({
    description: 'invalid_request, invalid_client, invalid_grant, unsupported_grant_type, invalid_scope, …'
  }),
  error_description: Type.String()
}, { $id: 'OAuthError', description: 'RFC 6749 §5.2 error response' })

export const oauthErrorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: Type.Ref('OAuthError') } }
})

export const OAUTH_CONSUMES = ['application/x-www-form-urlencoded', 'application/json']
