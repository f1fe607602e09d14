import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildRequestFor } from "../../src/adapters/docker/build-request.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { UserError } from "../../src/errors.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function modelDir(yaml: string): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), "mlkube-secrets-"));
  dirs.push(parent);
  const dir = join(parent, "iris");
  await mkdir(dir);
  await writeFile(join(dir, "Dockerfile"), "FROM python:3.12-slim\nEXPOSE 5000\n");
  await writeFile(join(dir, "mlkube.yaml"), yaml);
  return dir;
}

function details(text: string): readonly string[] {
  try {
    parseConfig(text, "mlkube.yaml");
  } catch (error) {
    if (error instanceof UserError) return error.details;
    throw error;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("build.secrets in mlkube.yaml", () => {
  it("takes an id from an environment variable or a file; file paths are relative to mlkube.yaml, or under ~/", async () => {
    const dir = await modelDir(
      "build:\n  secrets:\n    - { id: pip-token, env: PIP_TOKEN }\n    - { id: netrc, file: ../secrets/netrc }\n    - { id: aws, file: ~/.aws/credentials }\n",
    );
    const config = await loadConfig(dir);
    expect(config.build.secrets).toEqual([
      { id: "pip-token", env: "PIP_TOKEN" },
      { id: "netrc", file: join(dir, "..", "secrets", "netrc") },
      { id: "aws", file: join(homedir(), ".aws", "credentials") },
    ]);
    expect(buildRequestFor(config).secrets).toEqual(config.build.secrets);
  });

  it("reports each mistake at its place: both sources, neither, a bad id, a repeated id", () => {
    expect(details("build:\n  secrets:\n    - { id: a, env: A, file: f }\n    - { id: b }\n")).toEqual([
      "mlkube.yaml:3:7 build.secrets[0]: give exactly one of env (an environment variable) or file (a path)",
      "mlkube.yaml:4:7 build.secrets[1]: give exactly one of env (an environment variable) or file (a path)",
    ]);
    expect(details("build:\n  secrets:\n    - { id: 'my token', env: 'PIP-TOKEN' }\n")).toEqual([
      'mlkube.yaml:3:13 build.secrets[0].id: expected letters, digits, ".", "_" and "-", such as "pip-token", found "my token"',
      'mlkube.yaml:3:30 build.secrets[0].env: expected an environment variable name, such as "PIP_TOKEN", found "PIP-TOKEN"',
    ]);
    expect(details("build:\n  secrets:\n    - { id: a, env: A }\n    - { id: a, env: B }\n")).toEqual([
      "mlkube.yaml:3:5 build.secrets: each secret id may appear once",
    ]);
  });
});
