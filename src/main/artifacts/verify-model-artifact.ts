import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ModelArtifactVerification } from '../../shared/contract'
import type { ModelVersion } from '../../shared/domain'
import { runComputeJob } from '../workers/compute-worker-client'

/**
 * Hashes a model version's local artifact with BLAKE3 and compares it with the registered
 * checksum. A model can be gigabytes, so the hashing runs on a compute worker thread.
 */
export async function verifyModelArtifact(version: ModelVersion): Promise<ModelArtifactVerification> {
  const uri = version.artifactUri
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : isAbsolute(uri) ? uri : null
  const base = { versionId: version.id, expectedBlake3: version.artifactBlake3 }
  if (!path) return { ...base, verified: null, actualBlake3: null, reason: 'the artifact is not a local file' }
  if (!existsSync(path)) return { ...base, verified: false, actualBlake3: null, reason: `the file ${path} does not exist` }
  const { blake3: actualBlake3 } = await runComputeJob('blake3File', { path })
  if (!version.artifactBlake3) return { ...base, verified: null, actualBlake3, reason: 'no BLAKE3 was registered with this version' }
  return { ...base, verified: actualBlake3 === version.artifactBlake3, actualBlake3, reason: null }
}
