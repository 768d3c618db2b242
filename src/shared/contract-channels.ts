/**
 * The Electron IPC channel names of the contract. Kept apart from contract.ts (which holds
 * the zod schemas) so the sandboxed preload, which must be one self-contained file, imports
 * two strings and not a schema library.
 */

/** The single channel that carries contract calls (renderer → main, invoke/handle). */
export const INVOKE_CHANNEL = 'hypercube:invoke'
/** The single channel that carries pushed events (main → renderer). */
export const EVENT_CHANNEL = 'hypercube:event'
