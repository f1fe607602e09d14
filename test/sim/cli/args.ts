/**
 * Command-line parsing with the conventions of cobra/pflag, which kind and minikube use:
 * `--flag value`, `--flag=value`, `-f value`, `-fvalue`, booleans as `--flag` or `--flag=false`,
 * string slices repeated or comma separated, `--` ends the flags, and flags may come anywhere among
 * the positional arguments.
 */

export type FlagType = "string" | "bool" | "strings";
export interface FlagSpec {
  type: FlagType;
  short?: string;
}
export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {}

export function parseArgs(argv: string[], specs: FlagSpecs): { positionals: string[]; flags: FlagValues } {
  const positionals: string[] = [];
  const flags: FlagValues = {};
  const byShort = new Map(
    Object.entries(specs)
      .filter(([, spec]) => spec.short)
      .map(([name, spec]) => [spec.short as string, name]),
  );
  const set = (name: string, value: string | true): void => {
    const spec = specs[name] as FlagSpec;
    if (spec.type === "bool") {
      if (value !== true && !["true", "false", "1", "0"].includes(value))
        throw new UsageError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
      flags[name] = value === true || value === "true" || value === "1";
    } else if (spec.type === "strings") {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), ...String(value).split(",").filter(Boolean)];
    } else {
      flags[name] = String(value);
    }
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const spec = specs[name];
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) set(name, arg.slice(eq + 1));
      else if (spec.type === "bool") set(name, true);
      else if (i + 1 < argv.length) set(name, argv[++i] as string);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const letter = arg[1] as string;
      const name = byShort.get(letter);
      if (!name) throw new UsageError(`unknown shorthand flag: '${letter}' in ${arg}`);
      const spec = specs[name] as FlagSpec;
      const rest = arg.slice(2).replace(/^=/, "");
      if (spec.type === "bool") set(name, rest === "" ? true : rest);
      else if (rest !== "") set(name, rest);
      else if (i + 1 < argv.length) set(name, argv[++i] as string);
      else throw new UsageError(`flag needs an argument: '${letter}' in -${letter}`);
      continue;
    }
    positionals.push(arg);
  }
  return { positionals, flags };
}

/** Go's time.ParseDuration for the forms people type: 0, 30s, 5m, 1m30s, 1.5h, 500ms. */
export function parseGoDuration(text: string): number {
  if (text === "0") return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text)
    throw new UsageError(`invalid argument "${text}" for "--wait" flag: time: invalid duration "${text}"`);
  return parts.reduce((total, part) => total + Number(part[1]) * (units[part[2] as string] as number), 0);
}

/** Go's Duration.String() after rounding to seconds, as kind prints waits: 5m0s, 12s, 1h0m0s. */
export function formatGoDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  if (total === 0) return "0s";
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
