import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "fixtures/**", "bench/results/**", "schema/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        fetch: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits or catches is an error that vanishes (or an
    // unhandled rejection that ends the process), which the dev loop must never have.
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  {
    // core/ is the pure decision layer: no I/O, no adapters, no React. Tests cover it as tables.
    // reproduce/ keeps its pure parts (the plan's substitutions, findings, the report) to the same rule.
    files: ["src/core/**/*.ts", "src/reproduce/{changes,cloud,findings,placeholder-secrets,quantity,replicas,report,substitution}.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fs", "path", "child_process", "net", "http", "https", "os", "stream"],
              message: "This module is pure: no Node I/O. Put effects in engine/ or adapters/.",
            },
            {
              group: ["**/adapters/**", "**/engine/**", "**/ui/**", "**/commands/**", "**/deploy/**"],
              message: "A pure module must not depend on adapters, engine, deploy, ui or commands.",
            },
            { group: ["dockerode", "execa", "chokidar", "@kubernetes/*", "ink", "react"], message: "This module is pure: no I/O libraries or React." },
          ],
        },
      ],
    },
  },
);
