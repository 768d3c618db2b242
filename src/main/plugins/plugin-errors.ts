import { DomainError, type ErrorCode } from '../../shared/errors'
import { PluginError, type PluginErrorCode } from '../../shared/plugins'

/**
 * A plugin failure as the doors report it. A plugin that crashed, timed out, answered
 * nonsense or is not running is a dependency that cannot serve right now (unavailable, 503),
 * never a bug of ours (internal, 500) nor the caller's fault; a plugin refusing the input it
 * was given (a wrong dimension) is the caller's (invalid_argument); an unknown plugin name is
 * not_found. The message keeps the plugin's name and what happened.
 */
const ERROR_CODE_BY_PLUGIN_CODE: Record<PluginErrorCode, ErrorCode> = {
  call_failed: 'invalid_argument',
  plugin_not_found: 'not_found',
  plugin_disabled: 'unavailable',
  host_crashed: 'unavailable',
  call_timeout: 'unavailable',
  invalid_result: 'unavailable',
  plugin_unavailable: 'unavailable',
  registry_closed: 'unavailable',
  manifest_invalid: 'unavailable',
  unsupported_platform: 'unavailable',
  binary_missing: 'unavailable',
  wrong_platform: 'unavailable',
  wrong_arch: 'unavailable',
  not_a_library: 'unavailable',
  checksum_missing: 'unavailable',
  checksum_mismatch: 'unavailable',
  napi_version_too_new: 'unavailable',
  plugin_api_mismatch: 'unavailable',
  identity_mismatch: 'unavailable',
  missing_exports: 'unavailable',
  initialize_failed: 'unavailable',
  load_failed: 'unavailable',
  load_timeout: 'unavailable'
}

/** Maps a PluginError to a DomainError; anything else is returned as it is. */
export function toDomainError(error: unknown): unknown {
  if (!(error instanceof PluginError)) return error
  const code = ERROR_CODE_BY_PLUGIN_CODE[error.code]
  return new DomainError(code, error.message, code === 'not_found' ? 'plugin' : undefined)
}
