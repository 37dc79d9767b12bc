// Redocly CLI plugin with this repository's own lint rules (loaded from redocly.yaml).

const CLIENT_ERROR = /^4(\d\d|XX)$/i

const hasEntries = (list) => Array.isArray(list) && list.length > 0
const asksForCredentials = (security) => Array.isArray(security) &&
  security.some((requirement) => Object.keys(requirement).length > 0)

/**
 * Redocly's operation-4xx-response asks every operation for a 4xx, but an operation that takes no
 * input at all (no body, no parameter, no credentials: /health/live, the JWKS) cannot answer one,
 * and inventing one would document an answer the service never gives. This rule asks it of every
 * operation that takes input, which is every operation a client can get wrong.
 */
function operation4xxResponseWhenInput () {
  let rootSecurity
  let pathParameters
  return {
    Root: {
      enter (root) { rootSecurity = root.security }
    },
    PathItem: {
      enter (pathItem) { pathParameters = pathItem.parameters },
      Operation (operation, { report, location }) {
        const takesInput = operation.requestBody !== undefined ||
          hasEntries(operation.parameters) || hasEntries(pathParameters) ||
          asksForCredentials(operation.security ?? rootSecurity)
        if (!takesInput) return
        if (Object.keys(operation.responses ?? {}).some((code) => CLIENT_ERROR.test(code))) return
        report({
          message: 'An operation that takes input (a body, a parameter or credentials) must document a 4XX response.',
          location: location.child(['responses'])
        })
      }
    }
  }
}

export default function tokenServiceRules () {
  return {
    id: 'token-service',
    rules: {
      oas3: { 'operation-4xx-response-when-input': operation4xxResponseWhenInput }
    }
  }
}
