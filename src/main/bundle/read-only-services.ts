import { readOnly } from '../../shared/errors'
import type { CoreServices, DoorServices } from '../services/core-services'

/**
 * The services of a review (`hypercube review`): reads pass, every other call answers
 * read_only. What is a read goes by the services' naming (get…, list…, find…, open…, search…,
 * metric… — the read methods' names say so), so a write method added later is refused by
 * default instead of slipping through. Every door (the window's contract, /v1, the MLflow
 * adapter) calls these same objects, so one wrapper covers them all.
 */

const READ_METHOD = /^(get|list|find|open|read|search|keys|metric|is|leaderboard|count|describe|summar|preview|browse|stat|compare|has)|^deploymentHistory$/

/** Whether a service method only reads (by its name; see above). */
export function isReadMethod(name: string): boolean {
  return READ_METHOD.test(name)
}

function readOnlyProxy<T extends object>(service: T, message: string, extraReads: Partial<Record<string, (target: T) => (...args: unknown[]) => unknown>> = {}): T {
  return new Proxy(service, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown
      if (typeof property !== 'string' || typeof value !== 'function') return value
      const special = extraReads[property]
      if (special) return special(target)
      if (isReadMethod(property)) return (value as (...args: unknown[]) => unknown).bind(target)
      return () => Promise.reject(readOnly(message))
    }
  })
}

export function readOnlyServices(services: DoorServices, message: string): CoreServices {
  return {
    experiments: readOnlyProxy(services.experiments, message, {
      // The MLflow door makes sure the Default experiment exists before some reads: fine when it does.
      ensureDefault: (experiments) => () =>
        experiments.get(0).catch(() => {
          throw readOnly(message)
        })
    }),
    runs: readOnlyProxy(services.runs, message),
    models: readOnlyProxy(services.models, message),
    artifacts: readOnlyProxy(services.artifacts, message)
  }
}
