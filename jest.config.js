// Tests are TypeScript ESM, transpiled by swc (no type-check: `npm run typecheck` does that),
// run under node --experimental-vm-modules so ESM-only dependencies load as they do in production.
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { target: "es2023", parser: { syntax: "typescript" } },
        module: { type: "es6" },
      },
    ],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  globalSetup: "<rootDir>/test/global-setup.js",
  setupFiles: ["<rootDir>/test/setup-env.js"],
  testTimeout: 120000,
};
