import { z } from 'zod'
import { DomainError, isDomainError } from '../../../shared/errors'
import type { AnyRoute } from '../route-table'

/**
 * Services name fields in camelCase (`runId`, `finalMetrics.acc`); the /v1 API speaks
 * snake_case (`run_id`, `final_metrics.acc`). An error must name the field as the client sent
 * it, so the first segment of a service's field is converted, and only that one: the rest of a
 * path is the user's own key (`hyperparameters.learningRate` stays as it was logged).
 */
export function toApiFieldName(field: string, overrides: Readonly<Record<string, string>> = {}): string {
  const dot = field.search(/[.[]/)
  const head = dot < 0 ? field : field.slice(0, dot)
  const rest = dot < 0 ? '' : field.slice(dot)
  return (overrides[head] ?? head.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)) + rest
}

/** Wraps routes so a DomainError from a service names the field in the API's spelling. */
export function withApiFieldNames(routes: AnyRoute[], overrides: Readonly<Record<string, string>> = {}): AnyRoute[] {
  return routes.map((route) => ({
    ...route,
    handler: async (input) => {
      try {
        return await route.handler(input)
      } catch (error) {
        if (!isDomainError(error) || error.field === undefined) throw error
        const field = toApiFieldName(error.field, overrides)
        if (field === error.field) throw error
        const message = error.message.startsWith(`${error.field}:`) ? `${field}${error.message.slice(error.field.length)}` : error.message
        throw new DomainError(error.code, message, field)
      }
    }
  }))
}

/**
 * An id in a URL path: canonical decimal digits only. `Number()` (and z.coerce) would also take
 * `0x10`, `1e1`, ` 1` or `1.0`, so two spellings would name one resource; those are refused.
 */
export function pathId<Schema extends z.ZodType<number, number>>(schema: Schema) {
  return z
    .string()
    .regex(/^(0|[1-9]\d{0,15})$/, 'must be an id in decimal digits (no sign, spaces, leading zeros, exponent or hex)')
    .transform(Number)
    .pipe(schema)
}
