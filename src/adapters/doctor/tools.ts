import { join } from "node:path";
import type { DoctorCheck } from "../../core/doctor.js";
import type { Exec } from "../exec.js";
import { KIND_VERSION } from "../tools/kind-release.js";
import { findOnPath, isExecutable, pathDirectories } from "../tools/path-search.js";

interface ToolDeps {
  env: NodeJS.ProcessEnv;
  exec: Exec;
  /** mlkube's own tool cache (~/.mlkube/bin), where `doctor --fix` puts kind. */
  binDir: string;
}

export interface ToolsFound {
  kind: boolean;
  minikube: boolean;
}

interface Tool {
  name: "kind" | "minikube" | "kubectl";
  versionArgs: string[];
  install: string;
}

const TOOLS: Tool[] = [
  { name: "kind", versionArgs: ["version"], install: "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" },
  { name: "minikube", versionArgs: ["version", "--short"], install: "https://minikube.sigs.k8s.io/docs/start/" },
  { name: "kubectl", versionArgs: ["version", "--client", "-o", "json"], install: "https://kubernetes.io/docs/tasks/tools/" },
];

/** kind, minikube and kubectl: where each is and its version. Missing ones warn; the context check decides whether that fails. */
export async function checkTools(deps: ToolDeps): Promise<{ checks: DoctorCheck[]; found: ToolsFound }> {
  const checks: DoctorCheck[] = [];
  const found: ToolsFound = { kind: false, minikube: false };
  for (const tool of TOOLS) {
    const path = await findOnPath(tool.name, pathDirectories(deps.env));
    if (path) {
      if (tool.name !== "kubectl") found[tool.name] = true;
      checks.push(await versionCheck(tool, path, deps.exec));
      continue;
    }
    checks.push(await missingCheck(tool, deps, found));
  }
  return { checks, found };
}

async function versionCheck(tool: Tool, path: string, exec: Exec): Promise<DoctorCheck> {
  try {
    const { stdout } = await exec(path, tool.versionArgs, { timeoutMs: 10_000 });
    return { name: tool.name, status: "ok", detail: `${versionIn(stdout) ?? stdout.trim().split("\n")[0]} at ${path}` };
  } catch (error) {
    return {
      name: tool.name,
      status: "warn",
      detail: `${path} is there but '${tool.name} ${tool.versionArgs.join(" ")}' failed: ${(error as Error).message}`,
      fix: `reinstall ${tool.name}: ${tool.install}`,
    };
  }
}

async function missingCheck(tool: Tool, deps: ToolDeps, found: ToolsFound): Promise<DoctorCheck> {
  if (tool.name === "kind") {
    const cached = join(deps.binDir, "kind");
    if (await isExecutable(cached)) {
      // mlkube runs it from there; only the user's own kind commands need it on the PATH.
      return {
        name: "kind",
        status: "ok",
        detail: `installed by mlkube at ${cached} (mlkube uses it from there; to run kind yourself: export PATH="${deps.binDir}:$PATH")`,
      };
    }
    return {
      name: "kind",
      status: "warn",
      detail: "not installed: mlkube creates local clusters with kind",
      fix: `mlkube doctor --fix   (installs kind ${KIND_VERSION} into ${deps.binDir}, checksum verified; or see ${tool.install})`,
      autoFix: "install-kind",
    };
  }
  if (tool.name === "minikube") {
    // Either cluster tool will do: minikube missing matters only when kind is missing too.
    if (found.kind) return { name: "minikube", status: "ok", detail: "not installed (optional: kind is there)" };
    return { name: "minikube", status: "warn", detail: "not installed (optional when kind is installed)", fix: `install minikube: ${tool.install}` };
  }
  return {
    name: "kubectl",
    status: "warn",
    detail: "not installed: mlkube does not need it, but the fixes it suggests use it",
    fix: `install kubectl: ${tool.install}`,
  };
}

/** The first version-looking word: "kind v0.30.0 go1.24 linux/amd64" gives v0.30.0; kubectl's JSON its gitVersion. */
function versionIn(output: string): string | undefined {
  return /"gitVersion":\s*"([^"]+)"/.exec(output)?.[1] ?? /\bv?\d+\.\d+\.\d+[\w.+-]*/.exec(output)?.[0];
}
