import { defineConfig } from 'vitest/config'

/**
 * `npm run test:faults`: the fault suite (issue 11). Each test drives whole `hypercube serve`
 * processes (the built CLI) and breaks them from outside — kill -9 of the app, of PostgreSQL,
 * disk full, descriptor exhaustion — so it is kept out of `npm test`'s projects and bounded in
 * time: the whole suite must stay under five minutes on a 2-core machine.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at once at most: each runs an app, its PostgreSQL and a load against them.
    fileParallelism: true,
    maxWorkers: 2,
    // The PostgreSQL server that tests built on test/support (startApiTestCore, createTestDatabase)
    // make their databases on; the scenarios that kill PostgreSQL run their own, inside serve.
    globalSetup: ['test/support/global-setup.ts']
  }
})
