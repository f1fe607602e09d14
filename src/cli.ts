#!/usr/bin/env node
// Entry point: parse argv and hand over to one command. Command modules are imported lazily so
// `mlkube --help` stays fast (Ink, React and the Kubernetes client are heavy to load).
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "./package-root.js";
import { reportError } from "./ui/report-error.js";

// React (loaded later, by the dev UI) picks its build from NODE_ENV when first imported; its
// development build handled a third of the log lines per second in a measured flood.
process.env.NODE_ENV ??= "production";

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string };

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

function buildProgram(): Command {
  const program = new Command("mlkube")
    .description("The inner loop for machine-learning model servers on Kubernetes: edit, rebuild, redeploy, verify.")
    .version(version, "-v, --version")
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });

  withClusterOptions(
    program
      .command("dev")
      .description("Watch a model directory; rebuild, redeploy and smoke-test it on every change (interactive)")
      .argument("[dir]", "model directory", ".")
      .option("--build-arg <KEY=VALUE>", "build argument (repeatable), as with docker build", collectBuildArg, [])
      .option("--no-tui", "plain, timestamped lines instead of the interactive UI (automatic without a terminal, with TERM=dumb or with CI set)")
      .option("--json", "one JSON object per event (NDJSON; see docs/events.md)")
      .option("--once", "run one full iteration, print the results, exit 0 only if the rollout and every smoke test passed")
      .option("--cleanup", "delete the model's objects from the cluster on exit")
      .option(
        "-y, --yes",
        "do not ask: install the pinned kind into ~/.mlkube/bin if no cluster tool is installed, and re-create the cluster if it is deleted during the session",
      )
      .option("--no-live", "rebuild the image for every change instead of copying changed files into the running container"),
  ).action(
    async (
      dir: string,
      options: {
        buildArg: string[];
        provider?: ProviderKind;
        context?: string;
        tui?: boolean;
        json?: boolean;
        once?: boolean;
        cleanup?: boolean;
        yes?: boolean;
        live?: boolean;
      },
    ) => {
      // A session runs for hours: V8 is told to keep its heap small (see heap-tuning.ts).
      const { tuneHeapForLongSession } = await import("./engine/heap-tuning.js");
      const afterLoading = tuneHeapForLongSession();
      const { runDevCommand } = await import("./commands/dev/session.js");
      afterLoading();
      process.exitCode = await runDevCommand(dir, options);
    },
  );

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
      .option("--json", "with --dry-run, print the plan as JSON")
      .option("-y, --yes", "install the pinned kind into ~/.mlkube/bin without asking if no cluster tool is installed"),
  ).action(async (dir: string, options: { provider?: ProviderKind; context?: string; dryRun?: boolean; json?: boolean; yes?: boolean }) => {
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

  withClusterOptions(
    program
      .command("test")
      .description("Run the prediction smoke tests against the current deployment")
      .argument("[dir]", "model directory", ".")
      .option("--url <url>", "test the model server at this base URL instead of the cluster's deployment")
      .option("--json", "print the results as JSON")
      .option(
        "--print",
        "print the smoke tests generated from the server's description (OpenAPI, Open Inference Protocol, KServe v1) as mlkube.yaml text; run nothing",
      ),
  ).action(async (dir: string, options: { provider?: ProviderKind; context?: string; url?: string; json?: boolean; print?: boolean }) => {
    const { runTestCommand } = await import("./commands/test.js");
    process.exitCode = await runTestCommand(dir, options);
  });
  withClusterOptions(
    program
      .command("logs")
      .description("Print (and with -f follow) the logs of the model's pods")
      .argument("[dir]", "model directory", ".")
      .option("-f, --follow", "keep following, across restarts and rollouts")
      .option("--since <duration>", "only lines newer than this (e.g. 10m)")
      .option("--tail <lines>", "lines of history per container (default 100)")
      .option("--grep <text>", "only lines containing this text (any case); re:EXPR for a regular expression")
      .option("--pod <name>", "only pods whose name contains NAME; NAME/CONTAINER for one container"),
  ).action(
    async (
      dir: string,
      options: { provider?: ProviderKind; context?: string; follow?: boolean; since?: string; tail?: string; grep?: string; pod?: string },
    ) => {
      const { runLogsCommand } = await import("./commands/logs.js");
      process.exitCode = await runLogsCommand(dir, options);
    },
  );
  program
    .command("render")
    .description("Print the Kubernetes objects dev would apply, as YAML")
    .argument("[dir]", "model directory", ".")
    .option("--from <files...>", "your own manifests (files or directories) instead of mlkube.yaml's `manifests`")
    .option("--image <ref>", "image reference to run (default: the content tag `mlkube build` would produce)")
    .option("--include-secrets", "also apply the Secrets in your manifests (default: withheld and listed)")
    .option("--replicas <n>", "replicas for the model's Deployment")
    .option("--build-arg <KEY=VALUE>", "build argument (repeatable), as with docker build; changes the image tag", collectBuildArg, [])
    .action(async (dir: string, options: { from?: string[]; image?: string; includeSecrets?: boolean; replicas?: string; buildArg: string[] }) => {
      const { runRenderCommand } = await import("./commands/render.js");
      process.exitCode = await runRenderCommand(dir, options);
    });

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
    .argument("[dir]", "model directory (for its mlkube.yaml cluster settings)", ".")
    .option("--json", "print the checks as JSON")
    .option("--fix", "apply the safe fixes: start the local registry, install a pinned kind into ~/.mlkube/bin")
    .action(async (dir: string, options: { json?: boolean; fix?: boolean }) => {
      const { runDoctorCommand } = await import("./commands/doctor.js");
      process.exitCode = await runDoctorCommand(dir, options);
    });
  program
    .command("init")
    .description("Scaffold a working model directory from a template")
    .argument("[dir]", "directory to create the model in", ".")
    .option("--template <name>", "template to use (default: sklearn-flask; asked when interactive)")
    .option("--list", "list the templates")
    .action(async (dir: string, options: { template?: string; list?: boolean }) => {
      const { runInitCommand } = await import("./commands/init.js");
      process.exitCode = await runInitCommand(dir, options);
    });
  withClusterOptions(
    program
      .command("reproduce")
      .description("Run production manifests locally and replay recorded requests")
      .argument("<files...>", "production manifests (files or directories of YAML)")
      .option("--model <dir>", "build the model's image from this directory and run it (default: the image as written)")
      .option("--requests <file>", "recorded requests to replay (JSON Lines: request, optional response)")
      .option("--dry-run", "print what would be applied (YAML) and what was substituted; touch nothing")
      .option("--include-secrets", "apply the Secrets in the manifests (default: placeholders with the same keys)")
      .option("--build-arg <KEY=VALUE>", "build argument for --model (repeatable), as with docker build", collectBuildArg, [])
      .option("--cleanup", "delete the reproduction from the cluster after the report")
      .option("--json", "print the plan and the report as one JSON object"),
  ).action(
    async (
      files: string[],
      options: {
        model?: string;
        requests?: string;
        dryRun?: boolean;
        includeSecrets?: boolean;
        buildArg: string[];
        cleanup?: boolean;
        json?: boolean;
        provider?: ProviderKind;
        context?: string;
      },
    ) => {
      const { runReproduceCommand } = await import("./reproduce/command.js");
      process.exitCode = await runReproduceCommand(files, options);
    },
  );

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
