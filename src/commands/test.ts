import { mappedPortEndpoint, portForwardEndpoint } from "../adapters/cluster/endpoint.js";
import type { Endpoint } from "../adapters/cluster/provider.js";
import { selectProvider, type ClusterFlags } from "../adapters/cluster/select.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { connectKube, ensureKubeReachable, isNotFound, readKubeConfig } from "../adapters/kube/client.js";
import { loadSmokeCases } from "../adapters/probe/cases.js";
import { discoverSmokeTests, type DiscoveredTests } from "../adapters/probe/discover-tests.js";
import { runSmokeTests } from "../adapters/probe/http.js";
import { displayPath } from "../config/errors.js";
import { loadConfig, type ResolvedConfig } from "../config/load.js";
import { describeMismatch } from "../core/expectations.js";
import { describeGenerated, generatedTestsYaml, noTestsFound } from "../core/generated-tests.js";
import { caseFromTest, type SmokeCase } from "../core/smoke-cases.js";
import type { SmokeResult } from "../core/smoke-results.js";
import { UserError } from "../errors.js";

interface TestCommandOptions extends ClusterFlags {
  url?: string;
  json?: boolean;
  /** Print the tests generated from the server's description as mlkube.yaml text; run nothing. */
  print?: boolean;
}

/**
 * `mlkube test`: the smoke tests against the deployed model (or --url); exit 1 when any fails.
 * Without tests in mlkube.yaml, the ones the server's own description gives (issue #16.3).
 */
export async function runTestCommand(dir: string, options: TestCommandOptions): Promise<number> {
  const config = await loadConfig(dir);
  const configured = options.print ? [] : await loadSmokeCases(config);
  const endpoint = options.url ? { url: options.url, close: async () => undefined } : await modelEndpoint(config, options);
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
    return await runCases(endpoint, cases, options);
  } finally {
    await endpoint.close();
  }
}

async function runCases(endpoint: Pick<Endpoint, "url" | "lastError">, cases: SmokeCase[], options: TestCommandOptions): Promise<number> {
  const started = performance.now();
  const width = Math.max(...cases.map((smokeCase) => smokeCase.name.length));
  const results = await runSmokeTests(endpoint.url, cases, {
    transportError: endpoint.lastError,
    onResult: options.json ? undefined : (result) => process.stdout.write(formatResult(result, width)),
  });
  const failed = results.filter((result) => !result.passed).length;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ url: endpoint.url, passed: failed === 0, total: results.length, failed, results })}\n`);
  } else {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(`${results.length - failed} passed, ${failed} failed (${endpoint.url}, ${seconds} s)\n`);
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
 * The deployed model's URL, without creating or changing anything: the NodePort when the cluster
 * maps it to 127.0.0.1, otherwise a port-forward to a ready pod.
 */
async function modelEndpoint(config: ResolvedConfig, flags: ClusterFlags): Promise<Pick<Endpoint, "url" | "close" | "lastError">> {
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
  const { name, namespace } = config;
  const service = await kube.core.readNamespacedService({ name, namespace }).catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
    throw new UserError("cluster", `The model is not deployed: there is no Service ${namespace}/${name} in context ${context}.`, {
      hint: "Deploy it with 'mlkube dev', or test a running server with --url.",
    });
  });
  const nodePort = service.spec?.ports?.find((port) => port.nodePort)?.nodePort ?? config.service.nodePort;
  return status.mappedNodePorts.includes(nodePort) ? mappedPortEndpoint(nodePort) : portForwardEndpoint(kube, { namespace, name, nodePort });
}
