import { pingDatabase } from '../db/repositories/health.js'
import { serviceUnavailable } from '../errors.js'
import type { ServiceDeps } from './index.js'

export interface OperationServices {
  /** Readiness: resolves while the database answers; service_unavailable otherwise. */
  checkDatabase: () => Promise<void>
}

export function createOperationServices (deps: ServiceDeps): OperationServices {
  return {
    async checkDatabase () {
      try {
        await pingDatabase(deps.db)
      } catch (error) {
        throw serviceUnavailable('The database does not answer', error)
      }
    }
  }
}
