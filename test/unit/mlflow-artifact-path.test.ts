import { describe, expect, it } from 'vitest'
import { isSafeArtifactPath } from '../../src/main/services/mlflow-schemas'

/** MLflow's validate_path_is_safe (mlflow/utils/uri.py) as the door applies it: what passes, what is "Invalid path". */
describe('isSafeArtifactPath', () => {
  it('takes relative paths below the run', () => {
    for (const path of ['', 'model', 'model/MLmodel', 'a/b/c.txt', 'a..b/c', '...', 'dir/', 'C:relative', 'a\\b', '100%', '%zz']) {
      expect(isSafeArtifactPath(path), path).toBe(true)
    }
  })

  it('refuses paths that leave it, also when URL-encoded (once or twice)', () => {
    for (const path of [
      '../path',
      'a/../../b',
      '..',
      '/etc/passwd',
      'a#b',
      '%2E%2E/x',
      '%252E%252E/x',
      '%2Fetc%2Fpasswd',
      'file:///etc/passwd',
      'file:/etc/passwd',
      'C:\\Windows',
      'C:/Windows',
      '\\\\server\\share\\x'
    ]) {
      expect(isSafeArtifactPath(path), path).toBe(false)
    }
  })
})
