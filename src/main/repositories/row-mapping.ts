import type { JsonObject, Tags } from '../../shared/domain'

// pg returns int8 as a decimal string (it cannot know the value fits a JS number),
// timestamptz as a Date and jsonb already parsed.

export function toId(value: unknown): number {
  return Number(value)
}

export function toOptionalId(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value)
}

export function toOptionalNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value)
}

export function toBigInt(value: unknown): bigint {
  return BigInt(value as string)
}

export function toOptionalBigInt(value: unknown): bigint | null {
  return value === null || value === undefined ? null : BigInt(value as string)
}

export function toIso(value: unknown): string {
  return (value as Date).toISOString()
}

export function toOptionalIso(value: unknown): string | null {
  return value === null || value === undefined ? null : (value as Date).toISOString()
}

export function toJsonObject(value: unknown): JsonObject {
  return (value ?? {}) as JsonObject
}

export function toTags(value: unknown): Tags {
  return (value ?? {}) as Tags
}

export function toOptionalString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value)
}
