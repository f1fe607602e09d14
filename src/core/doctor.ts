/**
 * `mlkube doctor`'s verdicts: each check is one line, ok / warn / fail, with the exact fix. The
 * adapters gather the facts (versions, free bytes, limits); the judgements that need no I/O live
 * here so they can be tested as tables.
 */

/** "skip": the check could not run because another failed first (no engine, no registry to ask). */
type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** The exact command or setting that fixes it. */
  fix?: string | undefined;
  /** What `mlkube doctor --fix` does about it by itself; only fixes that are safe to apply unasked. */
  autoFix?: "start-registry" | "install-kind" | undefined;
}

export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  return checks.some((check) => check.status === "fail") ? 1 : 0;
}

const GB = 1e9;
/** An ML image is about 1 GB and each edit adds layers: below these, builds soon fail. */
const DISK_WARN_BYTES = 10 * GB;
const DISK_FAIL_BYTES = 2 * GB;

export function diskCheck(path: string, role: string, freeBytes: number): DoctorCheck {
  const detail = `${(freeBytes / GB).toFixed(1)} GB free on ${path} (${role})`;
  if (freeBytes >= DISK_WARN_BYTES) return { name: "disk", status: "ok", detail };
  return {
    name: "disk",
    status: freeBytes < DISK_FAIL_BYTES ? "fail" : "warn",
    detail: `${detail}: image builds need room (warn below 10 GB, fail below 2 GB)`,
    fix: "docker system prune   (removes stopped containers, unused networks, dangling images and build cache)",
  };
}

export interface InotifyLimits {
  maxUserWatches: number;
  maxUserInstances: number;
}

/**
 * The watcher needs one inotify watch per directory, and kind's nodes need instances for their
 * pods (kind's known issues: "too many open files" below these).
 */
const MIN_WATCHES = 65536;
const MIN_INSTANCES = 512;
const SYSCTL_FILE = "/etc/sysctl.d/99-mlkube.conf";

/** `limits` undefined: not readable (not Linux, or /proc hidden). */
export function inotifyCheck(platform: NodeJS.Platform, limits: InotifyLimits | undefined): DoctorCheck {
  if (platform !== "linux") return { name: "watch", status: "ok", detail: `${platform} has no inotify limits to check` };
  if (!limits) return { name: "watch", status: "warn", detail: "cannot read /proc/sys/fs/inotify: file watching limits unknown" };
  const settings: string[] = [];
  const problems: string[] = [];
  if (limits.maxUserWatches < MIN_WATCHES) {
    problems.push(`max_user_watches is ${limits.maxUserWatches} (below ${MIN_WATCHES}: watching a large model directory fails)`);
    settings.push("fs.inotify.max_user_watches=524288");
  }
  if (limits.maxUserInstances < MIN_INSTANCES) {
    problems.push(`max_user_instances is ${limits.maxUserInstances} (below ${MIN_INSTANCES}: kind's pods fail with "too many open files")`);
    settings.push(`fs.inotify.max_user_instances=${MIN_INSTANCES}`);
  }
  if (problems.length === 0) {
    return { name: "watch", status: "ok", detail: `inotify max_user_watches ${limits.maxUserWatches}, max_user_instances ${limits.maxUserInstances}` };
  }
  // Applied now and kept across reboots.
  const fix = `sudo sysctl -w ${settings.join(" ")} && printf '${settings.join("\\n")}\\n' | sudo tee ${SYSCTL_FILE}`;
  return { name: "watch", status: "warn", detail: problems.join("; "), fix };
}

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"];
const LOCAL_HOSTS = ["127.0.0.1", "localhost"];

/**
 * With a proxy set, local calls (the registry on localhost:5001, the model on 127.0.0.1) go to the
 * proxy unless NO_PROXY names them, and fail there.
 */
export function proxyCheck(env: Readonly<Record<string, string | undefined>>): DoctorCheck {
  const proxies = PROXY_VARIABLES.filter((name) => env[name]?.trim());
  if (proxies.length === 0) return { name: "proxy", status: "ok", detail: "no proxy variables set" };
  const noProxyName = env.NO_PROXY !== undefined ? "NO_PROXY" : "no_proxy";
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const covers = (host: string) => noProxy.includes("*") || noProxy.includes(host) || (host.startsWith("127.") && noProxy.includes("127.0.0.0/8"));
  const missing = LOCAL_HOSTS.filter((host) => !covers(host));
  const set = proxies.join(", ");
  if (missing.length === 0) return { name: "proxy", status: "ok", detail: `${set} set; ${noProxyName} covers 127.0.0.1 and localhost` };
  return {
    name: "proxy",
    status: "warn",
    detail: `${set} set, but ${noProxyName} lacks ${missing.join(" and ")}: calls to the local registry and the model would go to the proxy`,
    fix: `export NO_PROXY="${[...noProxy, ...missing].join(",")}" no_proxy="${[...noProxy, ...missing].join(",")}"`,
  };
}
