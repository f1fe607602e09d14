import { readFile } from "node:fs/promises";
import { displayPath } from "../../config/errors.js";
import type { ResolvedConfig } from "../../config/load.js";
import { caseFromTest, parseRecordedRequests, type SmokeCase } from "../../core/smoke-cases.js";
import { UserError } from "../../errors.js";

/** The smoke cases of a model directory: its `tests:`, then the recorded `requests:` file, if any. */
export async function loadSmokeCases(config: Pick<ResolvedConfig, "tests" | "requests" | "configFile">): Promise<SmokeCase[]> {
  const where = config.configFile ? displayPath(config.configFile) : "mlkube.yaml";
  const cases: SmokeCase[] = [];
  for (const [index, test] of config.tests.entries()) {
    const bodyText = test.bodyFile === undefined ? undefined : await readInput(test.bodyFile, `bodyFile of tests[${index}] (${test.name}) in ${where}`);
    cases.push(caseFromTest(test, bodyText));
  }
  if (config.requests !== undefined) {
    cases.push(...parseRecordedRequests(await readInput(config.requests, `requests in ${where}`), displayPath(config.requests)));
  }
  return cases;
}

async function readInput(file: string, setting: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EISDIR") throw cause;
    throw new UserError("config", `${displayPath(file)} (the ${setting}) ${code === "ENOENT" ? "does not exist" : "is a directory"}.`, {
      hint: "Paths in mlkube.yaml are relative to the file itself; fix the path or create the file.",
      cause,
    });
  }
}
