/** Who is asking, for the session list and the audit trail (the routes fill it from the request). */
export interface RequestContext {
  ip: string | null
  userAgent: string | null
}
