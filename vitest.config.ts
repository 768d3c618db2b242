import { defineConfig } from 'vitest/config'

/** Starts (or, with HYPERCUBE_TEST_DATABASE_URL, points at) the one PostgreSQL of the run. */
const postgres = ['test/support/global-setup.ts']

export default defineConfig({
  test: {
    // Integration tests start real PostgreSQL servers and child processes: give them room,
    // and keep the number of files running at once to what a 2-core machine can carry.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
    // `vitest run` runs all three; `--project unit` (or a path filter such as `test/integration`)
    // runs some. Only projects with files in the run start their global setup, so unit tests
    // alone never start PostgreSQL.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: postgres } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: postgres } }
    ]
  }
})
