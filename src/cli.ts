#!/usr/bin/env node
// Entry point: parse argv and hand over to one command. Command modules are imported lazily so
// `mlkube --help` stays fast (Ink, React and the Kubernetes client are heavy to load).
import { Command, Option } from "commander";
import { createRequire } from "node:module";
import { reportError } from "./ui/report-error.js";

const require = createRequire(import.meta.url);
const { version } = require("../package.json") as { version: string };

function collectBuildArg(value: string, previous: string[]): string[] {
  return [...previous, value];
}

type ProviderKind = "kind" | "minikube" | "context";

/** --provider and --context, shared by every command that talks to a cluster. */
function withClusterOptions(command: Command): Command {
  return command
    .addOption(new Option("--provider <provider>", "cluster provider (default: detected)").choices(["kind", "minikube", "context"]))
    .option("--context <name>", "kube context to use");
}

function notYet(command: string, issue: string) {
  return async () => {
    const { UserError } = await import("./errors.js");
    throw new UserError("not-implemented", `mlkube ${command} is not available in this version yet.`, {
      hint: `It is planned (${issue}); run 'mlkube --help' for what works today.`,
    });
  };
}

export function buildProgram(): Command {
  const program = new Command("mlkube")
    .description("The inner loop for machine-learning model servers on Kubernetes: edit, rebuild, redeploy, verify.")
    .version(version, "-v, --version")
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });

  program
    .command("dev")
    .description("Watch a model directory; rebuild, redeploy and smoke-test it on every change (interactive)")
    .argument("[dir]", "model directory", ".")
    .option("--build-arg <KEY=VALUE>", "build argument (repeatable), as with docker build", collectBuildArg, [])
    .addOption(new Option("--provider <provider>", "cluster provider (default: detected)").choices(["kind", "minikube", "context"]))
    .option("--context <name>", "kube context to use")
    .action(notYet("dev", "the dev-loop issue"));

  program
    .command("build")
    .description("Build the model image once and print its content-derived reference")
    .argument("[dir]", "model directory", ".")
    .option("--build-arg <KEY=VALUE>", "build argument (repeatable), as with docker build", collectBuildArg, [])
    .option("--json", "print a JSON object: reference, cached, durationMs")
    .action(async (dir: string, options: { buildArg: string[]; json?: boolean }) => {
      const { runBuildCommand } = await import("./commands/build.js");
      process.exitCode = await runBuildCommand(dir, options);
    });

  withClusterOptions(
    program
      .command("up")
      .description("Create the local cluster and image registry when missing")
      .argument("[dir]", "model directory (for its mlkube.yaml cluster settings)", ".")
      .option("--dry-run", "print the plan (cluster configuration, registry, steps) and do nothing")
      .option("--json", "with --dry-run, print the plan as JSON"),
  ).action(async (dir: string, options: { provider?: ProviderKind; context?: string; dryRun?: boolean; json?: boolean }) => {
    const { runUpCommand } = await import("./commands/up.js");
    process.exitCode = await runUpCommand(dir, options);
  });

  withClusterOptions(
    program
      .command("down")
      .description("Delete the cluster mlkube created (--all: and the registry)")
      .argument("[dir]", "model directory (for its mlkube.yaml cluster settings)", ".")
      .option("--all", "also remove the local registry container")
      .option("-y, --yes", "do not ask before deleting"),
  ).action(async (dir: string, options: { provider?: ProviderKind; context?: string; all?: boolean; yes?: boolean }) => {
    const { runDownCommand } = await import("./commands/down.js");
    process.exitCode = await runDownCommand(dir, options);
  });

  withClusterOptions(
    program
      .command("status")
      .description("Show the cluster, registry, nodes, deployments and endpoint URLs")
      .argument("[dir]", "model directory (for its mlkube.yaml cluster settings)", ".")
      .option("--json", "print JSON for scripts"),
  ).action(async (dir: string, options: { provider?: ProviderKind; context?: string; json?: boolean }) => {
    const { runStatusCommand } = await import("./commands/status.js");
    process.exitCode = await runStatusCommand(dir, options);
  });

  program
    .command("test")
    .description("Run the prediction smoke tests against the current deployment")
    .action(notYet("test", "the smoke-test issue"));
  program
    .command("logs")
    .description("Print (and with -f follow) the logs of the model's pods")
    .action(notYet("logs", "the Kubernetes issue"));
  program
    .command("render")
    .description("Print the Kubernetes objects dev would apply, as YAML")
    .action(notYet("render", "the Kubernetes issue"));

  program
    .command("config")
    .description("Print the resolved configuration (defaults filled in), or its errors")
    .argument("[dir]", "model directory", ".")
    .option("--json", "print JSON instead of YAML")
    .action(async (dir: string, options: { json?: boolean }) => {
      const { runConfigCommand } = await import("./commands/config.js");
      process.exitCode = await runConfigCommand(dir, options);
    });

  program
    .command("doctor")
    .description("Check Docker, cluster tools, context, registry, ports and watch limits")
    .action(notYet("doctor", "the onboarding issue"));
  program
    .command("init")
    .description("Scaffold a working model directory from a template")
    .action(notYet("init", "the onboarding issue"));
  program
    .command("reproduce")
    .description("Run production manifests locally and replay recorded requests")
    .action(notYet("reproduce", "the reproduce issue"));

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    process.exitCode = reportError(error, process.stderr);
  }
}

await main();
