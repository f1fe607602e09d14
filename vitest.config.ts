import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // The suites share one Docker engine and a 2-core machine; running files in parallel only
    // makes builds contend. Unit tests are fast either way.
    fileParallelism: false,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.{ts,tsx}", "test/integration/**/*.test.ts", "test/sim/**/*.test.ts"] },
      },
      {
        // The built CLI as a user runs it (exit codes, output): built once for the whole project.
        extends: true,
        test: { name: "cli", include: ["test/cli/**/*.test.ts"], globalSetup: ["test/cli/build-once.ts"] },
      },
      {
        // End to end: mlkube's real commands against the cluster simulator, or against real
        // kind/minikube with MLKUBE_E2E_CLUSTER=kind|minikube.
        extends: true,
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], globalSetup: ["test/e2e/support/global-setup.ts"], testTimeout: 600_000 },
      },
    ],
  },
});
