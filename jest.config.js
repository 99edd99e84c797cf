/** Unit tests run offline in seconds; integration tests need the test bed (scripts/testbed/testbed up). */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
};

module.exports = {
  // Integration tests wait for rollouts; a stuck one fails by its own deadline first.
  testTimeout: 300_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/setup-jest.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // The kubeadm tests need the bed's kubeadm cluster (testbed up --kubeadm) and change its CA: their own project,
      // run after this one by scripts/test.sh, or alone on a fresh bed by npm run test:kubeadm.
      // The pipeline kit's jobs run npm ci in a clone each (6 to 17 min): their own project, run after this one by
      // scripts/test.sh on the same bed, or alone on a bed of its own by npm run test:pipeline.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/kubeadm/', '<rootDir>/test/integration/pipeline.test.ts'],
    },
    { ...common, displayName: 'kubeadm', testMatch: ['<rootDir>/test/integration/kubeadm/**/*.test.ts'] },
    { ...common, displayName: 'pipeline', testMatch: ['<rootDir>/test/integration/pipeline.test.ts'] },
  ],
};
