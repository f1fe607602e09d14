import { stringify } from "yaml";
import { loadConfig, outsideWarning } from "../config/load.js";

interface ConfigCommandOptions {
  json?: boolean;
}

/**
 * `mlkube config [DIR]`: prints the resolved configuration, defaults filled in, as YAML (or JSON).
 * Configuration errors propagate as UserErrors; the CLI prints them and exits 1.
 */
export async function runConfigCommand(
  dir: string,
  options: ConfigCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const { outsidePaths = [], ...config } = await loadConfig(dir);
  for (const line of outsidePaths) err.write(`${outsideWarning(line)}\n`);
  // lineWidth 0: never fold long strings, so the output can be copied back into mlkube.yaml.
  out.write(options.json ? `${JSON.stringify(config, null, 2)}\n` : stringify(config, { lineWidth: 0 }));
  return 0;
}
