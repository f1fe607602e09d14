import { connectKube, readKubeConfig } from "../adapters/kube/client.js";
import { followLogs, type LogLine } from "../adapters/kube/logs.js";
import { loadConfig } from "../config/load.js";
import { lineFilter, parseSearch, parseSourceQuery } from "../engine/log-filter.js";
import { UserError } from "../errors.js";
import { PRUNE_LABEL, labelSelector } from "../manifests/labels.js";
import { providerFor, type ClusterCommandOptions } from "./cluster-options.js";

interface LogsOptions extends ClusterCommandOptions {
  follow?: boolean;
  since?: string;
  tail?: string;
  /** Text, or `re:` and a regular expression, as the dev view's `/` search. */
  grep?: string;
  /** NAME or NAME/CONTAINER; NAME is any part of the pod's name. */
  pod?: string;
}

/** `mlkube logs [DIR] [-f] [--since 10m] [--grep TEXT|re:REGEX] [--pod NAME[/CONTAINER]]`: the model's pod logs outside the UI, each line prefixed with pod/container. */
export async function runLogsCommand(dir: string, options: LogsOptions): Promise<number> {
  // A usage mistake is reported before anything is asked of the cluster.
  const sinceSeconds = options.since ? parseDuration(options.since) : undefined;
  const grep = parseSearch(options.grep ?? "");
  if (grep.error !== undefined) {
    throw new UserError("usage", `--grep ${options.grep}: ${grep.error}.`, {
      hint: "Fix the expression, or drop the re: prefix to search for the text as written.",
    });
  }
  const source = options.pod ? parseSourceQuery(options.pod) : undefined;
  const shows = lineFilter(grep, source);
  const config = await loadConfig(dir);
  const provider = await providerFor(dir, options);
  const status = await provider.status();
  if (!status.running)
    throw new UserError("cluster", `The cluster of context '${provider.choice.context}' is not running.`, {
      hint: "Start it with 'mlkube up' (or 'mlkube dev', which also deploys the model).",
    });
  const kube = connectKube(provider.choice.context, readKubeConfig());
  const selector = labelSelector({ [PRUNE_LABEL]: config.name });
  const pods = await kube.core.listNamespacedPod({ namespace: config.namespace, labelSelector: selector });
  if (pods.items.length === 0 && !options.follow) {
    throw new UserError("cluster", `No pods of ${config.name} in namespace ${config.namespace}.`, { hint: "Deploy the model with 'mlkube dev' first." });
  }
  const names = pods.items.map((pod) => pod.metadata?.name ?? "");
  if (source && !options.follow && !names.some((name) => name.includes(source.pod))) {
    throw new UserError("usage", `--pod ${options.pod}: no pod of ${config.name} has '${source.pod}' in its name.`, { hint: `Its pods: ${names.join(", ")}.` });
  }
  const colour = podColours(process.stdout.isTTY === true && !process.env.NO_COLOR);
  const print = (line: LogLine) => {
    if (shows(line)) process.stdout.write(`${colour(line.pod)}${line.pod}/${line.container}${colour.reset} | ${line.text}\n`);
  };
  const follower = followLogs(kube, { namespace: config.namespace, selector }, print, {
    follow: options.follow === true,
    sinceSeconds,
    tailLines: options.tail ? Number(options.tail) : options.since ? undefined : 100,
    onNotice: (notice) => {
      if (source && !notice.pod.includes(source.pod)) return;
      process.stdout.write([`${notice.pod}: ${notice.message}`, ...(notice.lines ?? []).map((line) => `    ${line}`)].join("\n") + "\n");
    },
  });
  if (!options.follow) {
    await follower.done;
    return 0;
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  follower.stop();
  return 0;
}

/** "90s", "10m", "2h" as seconds, as kubectl logs --since takes them. */
function parseDuration(text: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text.trim());
  if (!match) throw new UserError("usage", `--since ${text} is not a duration.`, { hint: "Use a number with s, m or h, e.g. --since 10m." });
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

/** One colour per pod, stable for the pod's name; none when output is not a terminal or NO_COLOR is set. */
function podColours(enabled: boolean): ((pod: string) => string) & { reset: string } {
  const palette = [36, 33, 35, 32, 34, 31];
  const pick = ((pod: string) => {
    if (!enabled) return "";
    let hash = 0;
    for (const char of pod) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return `\x1b[${palette[hash % palette.length]}m`;
  }) as ((pod: string) => string) & { reset: string };
  pick.reset = enabled ? "\x1b[0m" : "";
  return pick;
}
