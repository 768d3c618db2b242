import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  checkModelVersionSource,
  checkNoRelativePath,
  experimentArtifactLocation,
  isLocalUri,
  localUriToPath,
  resolvePath,
  resolveUriIfLocal,
  unquote,
  urlParse,
  type SourceOwner
} from '../../src/main/services/mlflow-source-policy'
import { MlflowError } from '../../src/main/services/mlflow-schemas'

async function refusal(work: () => Promise<unknown>): Promise<MlflowError> {
  try {
    await work()
  } catch (error) {
    if (error instanceof MlflowError) return error
    throw error
  }
  throw new Error('expected a refusal')
}

const folder = mkdtempSync(join(tmpdir(), 'source-policy-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
const runArtifacts = join(folder, 'exp', 'run', 'artifacts')
mkdirSync(runArtifacts, { recursive: true })
const run = (id = 'abc'): SourceOwner => ({ field: 'run_id', id, artifactLocation: async () => `file://${runArtifacts}` })
const remoteRun: SourceOwner = { field: 'run_id', id: 'abc', artifactLocation: async () => 'mlflow-artifacts:/1/abc/artifacts' }

describe('URIs read as urllib.parse reads them', () => {
  it('splits scheme, host and path', () => {
    expect(urlParse('mlflow-artifacts://User@Host:9000/models/x?q=1#f')).toEqual({
      scheme: 'mlflow-artifacts',
      netloc: 'User@Host:9000',
      path: '/models/x',
      params: '',
      query: 'q=1',
      fragment: 'f',
      hostname: 'host'
    })
    expect(urlParse('/tmp/a')).toMatchObject({ scheme: '', netloc: '', path: '/tmp/a', query: '', fragment: '', hostname: undefined })
    expect(urlParse('file:///tmp/a')).toMatchObject({ scheme: 'file', path: '/tmp/a', hostname: undefined })
    expect(urlParse('http://h/a;p')).toMatchObject({ path: '/a' })
    expect(urlParse('1abc:/x')).toMatchObject({ scheme: '', path: '1abc:/x' })
    expect(unquote('a%2F%2e%2E%e2%82%ac')).toBe('a/..€')
  })

  it.each(['/tmp/x', 'relative/path', 'file:///tmp/x', 'file://localhost/tmp/x', 'file://127.0.0.1/x', 'file:relative'])('%j is local', (uri) => {
    expect(isLocalUri(uri)).toBe(true)
  })

  it.each(['mlflow-artifacts:/1/x', 's3://bucket/x', 'runs:/abc/model', 'models:/m-1', 'http://localhost/x', 'databricks'])('%j is not local', (uri) => {
    expect(isLocalUri(uri)).toBe(false)
  })

  it('a file: URI naming another host is not a valid remote uri (400 here, where MLflow answers 500)', () => {
    expect(() => isLocalUri('file://123.456.789.123/path')).toThrow(/is not a valid remote uri/)
    expect(localUriToPath('file:///tmp/a%20b')).toBe('/tmp/a b')
  })
})

describe('paths resolved as pathlib resolves them', () => {
  it('makes relative paths absolute, applies .. after following a symlink, keeps missing parts', async () => {
    const target = join(folder, 'real', 'deep')
    mkdirSync(target, { recursive: true })
    symlinkSync(target, join(folder, 'link'))
    // (path.join would apply the '..' lexically, so these are written out)
    expect(await resolvePath(`${folder}/link/../x`)).toBe(join(folder, 'real', 'x'))
    expect(await resolvePath(`${folder}/missing/../y`)).toBe(join(folder, 'y'))
    expect(await resolvePath('a/./b', '/base')).toBe('/base/a/b')
    expect(await resolvePath('', '/base')).toBe('/base')
  })
})

describe('model-version sources', () => {
  it.each([
    [runArtifacts, run()],
    [`file://${runArtifacts}/model`, run()],
    [`${runArtifacts}/model/..`, run()],
    ['mlflow-artifacts:/models', run('')],
    ['mlflow-artifacts:/models///', run()],
    ['mlflow-artifacts://host:9000/models/artifact/..../', run()],
    ['runs:/abc/model', run('')],
    ['models:/m-0123', run('')],
    ['s3://bucket/path/to/model', run()]
  ])('allows %j', async (source, owner) => {
    await expect(checkModelVersionSource(source, owner)).resolves.toBeUndefined()
  })

  it.each([
    [runArtifacts, run(''), `'${runArtifacts}'. To use a local path as a model version source, the run_id request parameter has to be specified`],
    ['/tmp', run(), "Invalid model version source: '/tmp'. To use a local path"],
    [`${runArtifacts}/../../other`, run(), 'To use a local path as a model version source'],
    [runArtifacts, remoteRun, 'To use a local path as a model version source'],
    ['file:///path/to/model', { field: 'model_id', id: 'm-1', artifactLocation: async () => 'mlflow-artifacts:/1/models/m-1/artifacts' } as SourceOwner, 'the model_id request parameter'],
    ['mlflow-artifacts://host:9000/models/../../../', run(), 'If supplying a source as an http, https,'],
    ['s3a://bucket/a/../../', run(), 'If supplying a source as an http, https,'],
    ['mlflow-artifacts://host:9000/models/..%2f..%2fartifacts', run(), 'If supplying a source as an http, https,'],
    ['mlflow-artifacts://host:9000/models/%252e%252e/x', run(), 'If supplying a source as an http, https,'],
    ['mlflow-artifacts://host:9000/models/artifact%00', run(), 'If supplying a source as an http, https,'],
    ['dbfs:/abc/artifacts/a%3f/../../../', run(), 'Invalid model version source'],
    ['s3://bucket', run(), 'an absolute path must be provided'],
    ['runs:relative/model', run(), 'an absolute path must be provided']
  ])('denies %j', async (source, owner, message) => {
    const error = await refusal(() => checkModelVersionSource(source, owner))
    expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE')
    expect(error.message).toContain(message)
  })

  it('quotes the source as given in the relative-path refusal', async () => {
    const error = await refusal(() => checkNoRelativePath('http://host/a/../b'))
    expect(error.message).toBe(
      "Invalid model version source: 'http://host/a/../b'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path."
    )
  })
})

describe("an experiment's artifact_location (MLflow's create_experiment)", () => {
  it.each([
    ['my_location', '/srv/cwd/my_location'],
    ['./a//b/', '/srv/cwd/a/b'],
    ['a/../b', '/srv/cwd/a/../b'],
    ['file:rel/x', 'file:///srv/cwd/rel/x'],
    ['/abs/path', '/abs/path'],
    ['file:///abs/path', 'file:///abs/path'],
    ['s3://bucket/x?versionId=3', 's3://bucket/x?versionId=3'],
    ['mlflow-artifacts:/7', 'mlflow-artifacts:/7']
  ])('allows %j, stored as %j (a relative local path resolved against the working folder)', (given, stored) => {
    expect(experimentArtifactLocation(given, '/srv/cwd')).toBe(stored)
  })

  it.each([
    ['file:///x#frag', "'artifact_location' URL can't include fragments or params."],
    ['http://host/x;p=1', "'artifact_location' URL can't include fragments or params."],
    ['s3://b/x?p=../y', 'Invalid query string'],
    ['s3://b/x?p=%2e%2e/y', 'Invalid query string'],
    ['s3://b/x?p=%25252E%25252E', 'Invalid query string'],
    // '.' percent-encoded eleven times over: still changing after MLflow's ten decodes.
    [`s3://b/x?p=%${'25'.repeat(11)}2E`, 'Failed to decode url'],
    ['file://remote-host/x', 'is not a valid remote uri']
  ])('refuses %j: %s', (given, message) => {
    let refused: unknown
    try {
      experimentArtifactLocation(given, '/srv/cwd')
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(MlflowError)
    expect((refused as MlflowError).message).toContain(message)
  })

  it('resolves serve\'s --default-artifact-root the same way, without the query checks', () => {
    expect(resolveUriIfLocal('mlruns', '/home/me')).toBe('/home/me/mlruns')
    expect(resolveUriIfLocal('s3://bucket/root', '/home/me')).toBe('s3://bucket/root')
  })
})
