import type { Stats } from 'node:fs'
import { lstat, mkdir, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { invalidArgument, notFound } from '../../shared/errors'

/** Folders the store creates: its owner's only (README, "Where data lives"). */
export const ARTIFACT_FOLDER_MODE = 0o700
/** Files the store writes: its owner's only. */
export const ARTIFACT_FILE_MODE = 0o600

/** Where a confined path led: its real location and what is there (undefined: nothing yet). */
export interface ConfinedPath {
  path: string
  stats: Stats | undefined
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code
}

/**
 * The artifact store's confinement policy, the one place that decides which file a request
 * may touch (STYLE.md point 14).
 *
 * Allowed: a chain of real folders below the real path of `<dataDir>/artifacts` — experiment,
 * run, then the client's sub-folders — ending in a regular file, a folder or nothing yet.
 * Denied: a symlink at any component below that root (the experiment folder, the run folder, a
 * sub-folder or the file itself), wherever it points, even back inside; a file where a folder
 * is needed. The root itself may be a symlink (artifacts kept on another disk): confinement is
 * against its real path.
 *
 * Every component is lstat-ed from the root down, so no link is ever followed; reads then open
 * the file with O_NOFOLLOW. Segments reach here already checked lexically (checkArtifactPath:
 * no '..', no '/' inside a segment). A link swapped in between the walk and the open is left
 * out: the data folder is private (mode 0700), so only its owner could plant one.
 */
export class ArtifactConfinement {
  constructor(readonly root: string) {}

  /**
   * The real location of `segments` below the root. With `createFolders`, missing folders
   * before the last segment are made (mode 0700), one at a time — `mkdir -p` would follow a
   * planted link. Without it, a missing folder on the way is not_found.
   */
  async resolve(segments: readonly string[], options: { createFolders?: boolean } = {}): Promise<ConfinedPath> {
    return this.walk(segments, options.createFolders ? segments.length - 1 : 0)
  }

  /** The real path of the folder `segments`, made (with the folders above it) if missing. */
  async folder(segments: readonly string[]): Promise<string> {
    return (await this.walk(segments, segments.length)).path
  }

  /** lstat-s each component from the real root down; makes the first `create` of them if missing. */
  private async walk(segments: readonly string[], create: number): Promise<ConfinedPath> {
    let current = await this.realRoot(create > 0)
    let stats: Stats | undefined
    for (let i = 0; i < segments.length; i++) {
      current = join(current, segments[i]!)
      const shown = segments.slice(0, i + 1).join('/')
      const mustBeFolder = i < segments.length - 1 || i < create
      stats = await lstat(current).catch((error) => (codeOf(error) === 'ENOENT' ? undefined : Promise.reject(error)))
      if (!stats && mustBeFolder) {
        if (i >= create) throw notFound(`artifact folder ${shown} does not exist`, 'path')
        // EEXIST: a concurrent write made it; the lstat below judges what is there.
        await mkdir(current, { mode: ARTIFACT_FOLDER_MODE }).catch((error) => (codeOf(error) === 'EEXIST' ? undefined : Promise.reject(error)))
        stats = await lstat(current)
      }
      if (stats?.isSymbolicLink()) symlinkRefused(shown)
      if (stats && mustBeFolder && !stats.isDirectory()) {
        if (i >= create) throw notFound(`artifact folder ${shown} does not exist`, 'path')
        throw invalidArgument(`path: ${shown} is a file, not a folder`, 'path')
      }
    }
    return { path: current, stats }
  }

  /** The real path of the root; created (mode 0700) when asked, else not_found if missing. */
  private async realRoot(create: boolean): Promise<string> {
    if (create) await mkdir(this.root, { recursive: true, mode: ARTIFACT_FOLDER_MODE })
    try {
      return await realpath(this.root)
    } catch (error) {
      if (codeOf(error) === 'ENOENT') throw notFound('no artifact has been stored yet', 'path')
      throw error
    }
  }
}

/** The one refusal for every symlink placement: a client error (4xx), field `path`. */
export function symlinkRefused(shown: string): never {
  throw invalidArgument(`path: leads outside the artifact store: ${shown} is a symlink, and the store follows none`, 'path')
}
