import type { Endpoint } from "../adapters/cluster/provider.js";
import { selectProvider, type ClusterFlags } from "../adapters/cluster/select.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { connectKube, ensureKubeReachable, readKubeConfig, type KubeAccess } from "../adapters/kube/client.js";
import { loadSmokeCases } from "../adapters/probe/cases.js";
import { discoverSmokeTests, type DiscoveredTests } from "../adapters/probe/discover-tests.js";
import { runSmokeTests } from "../adapters/probe/http.js";
import { displayPath } from "../config/errors.js";
import { loadConfig, type ResolvedConfig } from "../config/load.js";
import { describeMismatch } from "../core/expectations.js";
import { describeGenerated, generatedTestsYaml, noTestsFound } from "../core/generated-tests.js";
import { caseFromTest, type SmokeCase } from "../core/smoke-cases.js";
import type { SmokeResult } from "../core/smoke-results.js";
import { combineRuns, describeAnsweredBy, type VerificationRun } from "../core/verification.js";
import type { DeployTarget } from "../core/deploy-target.js";
import { deployedTarget } from "../deploy/target.js";
import { verifyNewVersion } from "../deploy/verify.js";
import { UserError } from "../errors.js";

interface TestCommandOptions extends ClusterFlags {
  url?: string;
  json?: boolean;
  /** Print the tests generated from the server's description as mlkube.yaml text; run nothing. */
  print?: boolean;
}

/** The model as deployed: the URL, and the Deployment whose pods are tested one by one. */
interface Deployed {
  kube: KubeAccess;
  target: DeployTarget;
}

/**
 * `mlkube test`: the smoke tests against the deployed model (or --url); exit 1 when any fails.
 * The deployed model is verified as `mlkube dev` verifies it (src/deploy/verify.ts): on each ready
 * pod of the Deployment's current version, then through the URL once the Service routes to those
 * pods alone, so a pass never comes from an old pod still terminating.
 * Without tests in mlkube.yaml, the ones the server's own description gives (issue #16.3).
 */
export async function runTestCommand(dir: string, options: TestCommandOptions): Promise<number> {
  const config = await loadConfig(dir);
  const configured = options.print ? [] : await loadSmokeCases(config);
  const deployed = options.url ? undefined : await deployedModel(config, options);
  const endpoint: Pick<Endpoint, "url" | "lastError" | "close"> = deployed?.endpoint ?? { url: options.url ?? "", close: async () => undefined };
  try {
    if (options.print) {
      const discovered = await discoverOrExplain(endpoint.url, config, "to print");
      process.stdout.write(generatedTestsYaml(discovered.tests));
      return 0;
    }
    let cases = configured;
    if (cases.length === 0) {
      const discovered = await discoverOrExplain(endpoint.url, config, "to run");
      cases = discovered.tests.map((test) => caseFromTest(test.test));
      if (!options.json) process.stdout.write(`${describeGenerated(discovered.tests)}\n`);
    }
    return deployed ? await verifyDeployed(deployed, endpoint, cases, options) : await runCases(endpoint, cases, options);
  } finally {
    await endpoint.close();
  }
}

/** --url: the cases once against that server. */
async function runCases(endpoint: Pick<Endpoint, "url">, cases: SmokeCase[], options: TestCommandOptions): Promise<number> {
  const started = performance.now();
  const width = Math.max(...cases.map((smokeCase) => smokeCase.name.length));
  const results = await runSmokeTests(endpoint.url, cases, {
    onResult: options.json ? undefined : (result) => process.stdout.write(formatResult(result, width)),
  });
  return report(endpoint.url, [{ target: endpoint.url, via: "url", results }], started, options);
}

/** The deployed model: each pod of its current version, then the URL (the pods' results first, one block per pod). */
async function verifyDeployed(
  deployed: Deployed,
  endpoint: Pick<Endpoint, "url" | "lastError">,
  cases: SmokeCase[],
  options: TestCommandOptions,
): Promise<number> {
  const started = performance.now();
  const runs = await verifyNewVersion(deployed.kube, { ...deployed.target, url: endpoint.url, urlError: endpoint.lastError }, cases, {
    progress: options.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  if (!options.json) {
    const width = Math.max(...cases.map((smokeCase) => smokeCase.name.length));
    for (const run of runs) {
      process.stdout.write(`${run.via === "pod" ? `pod ${run.target} (through the API server)` : run.target}:\n`);
      for (const result of run.results) process.stdout.write(formatResult(result, width));
    }
  }
  return report(endpoint.url, runs, started, options);
}

/** The verdict: a test passes only where it passed on every target tested. */
function report(url: string, runs: VerificationRun[], started: number, options: TestCommandOptions): number {
  const tests = combineRuns(runs);
  const failed = tests.filter((test) => !test.passed).length;
  if (options.json) {
    // results: what the URL answered (a user's curl), as before pods were tested one by one.
    const results = runs.find((run) => run.via === "url")?.results ?? [];
    process.stdout.write(`${JSON.stringify({ url, passed: failed === 0, total: tests.length, failed, results, tests, runs })}\n`);
  } else {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const where = runs.length > 1 ? describeAnsweredBy(runs.map((run) => (run.via === "url" ? "url" : run.target))).replace(/url$/, url) : url;
    process.stdout.write(`${tests.length - failed} passed, ${failed} failed (${where}, ${seconds} s)\n`);
  }
  return failed === 0 ? 0 : 1;
}

/** The generated tests, or an error saying what mlkube.yaml lacks and what the server was asked. */
async function discoverOrExplain(url: string, config: ResolvedConfig, purpose: string): Promise<DiscoveredTests> {
  const discovered = await discoverSmokeTests(url, config.name);
  if (discovered.tests.length > 0) return discovered;
  const where = config.configFile ? displayPath(config.configFile) : `${displayPath(config.dir)} (no mlkube.yaml)`;
  const lead = purpose === "to run" ? `There are no smoke tests to run: ${where} has neither tests nor requests, and` : "There is nothing to print:";
  throw new UserError("config", `${lead} the server at ${url} describes no request to test (${noTestsFound(discovered)}).`, {
    hint: "Add tests to mlkube.yaml, e.g.\n  tests:\n    - path: /predict\n      body: { features: [5.1, 3.5, 1.4, 0.2] }\n      expect: { status: 200 }",
  });
}

function formatResult(result: SmokeResult, width: number): string {
  const latency = !result.latency
    ? "-"
    : result.requests > 1
      ? `p50 ${ms(result.latency.p50)}, p95 ${ms(result.latency.p95)} (${result.requests} requests)`
      : ms(result.latency.p50);
  const lines = [`${result.passed ? "pass" : "FAIL"}  ${result.name.padEnd(width)}  ${latency}`];
  const indent = "      ";
  if (!result.passed && result.requests > 1) lines.push(`${indent}failed on ${result.failedRequests} of ${result.requests} requests; the worst:`);
  for (const failure of result.failures) lines.push(`${indent}${describeMismatch(failure)}`);
  // A wrong status usually comes with the server's reason in the body.
  if (result.failures.some((failure) => failure.what === "status") && result.response && result.response.bodyLength > 0) {
    lines.push(`${indent}body: ${result.response.bodyText.slice(0, 200).replace(/\s+/g, " ").trim()}`);
  }
  return `${lines.join("\n")}\n`;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/**
 * The deployed model, without creating or changing anything: the Deployment and Service mlkube
 * applied, and the URL the cluster gives this machine for the Service's NodePort (as `mlkube dev` has it).
 */
async function deployedModel(config: ResolvedConfig, flags: ClusterFlags): Promise<Deployed & { endpoint: Endpoint }> {
  const docker = connectDocker();
  await ensureDockerReachable(docker);
  const provider = await selectProvider({ cluster: config.cluster, service: config.service }, flags, { docker });
  const status = await provider.status();
  const context = provider.choice.context;
  if (!status.running) {
    const state = status.exists ? "is not running or does not answer" : "does not exist yet";
    throw new UserError("cluster", `The cluster (context ${context}) ${state}: there is no deployment to test.`, {
      hint: "Run 'mlkube dev' to create the cluster and deploy the model ('mlkube up' creates the cluster alone), or test a running server with --url.",
    });
  }
  const kube = connectKube(context, readKubeConfig());
  await ensureKubeReachable(kube);
  const target = await deployedTarget(kube, config, context);
  const endpoint = await provider.endpoint(kube, { namespace: target.namespace, name: target.service ?? target.deployment, nodePort: target.nodePort });
  return { kube, target, endpoint };
}
