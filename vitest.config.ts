import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one Docker engine and a 2-core machine; running files in parallel
    // only makes builds contend. Unit tests are fast either way.
    fileParallelism: false,
    reporters: ["default"],
  },
});
