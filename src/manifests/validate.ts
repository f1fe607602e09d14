/**
 * Validates objects before anything is applied: the apiVersion and kind must be ones Kubernetes
 * serves, every field must fit the Kubernetes schema (schema-check.ts), and the API server's own
 * rules must hold (rules.ts). Each problem names the file, the document, the field path and what is
 * wrong, with line:column when the object came from a YAML file.
 */
import type { Document, LineCounter } from "yaml";
import { describeValue, displayPath, formatPath, keyOffset, position, valueOffset } from "../config/errors.js";
import { closest } from "../core/suggest.js";
import { UserError } from "../errors.js";
import { KINDS, conventionalModel, isCustomResource, kindInfo } from "./kinds.js";
import { loadKubeSchema, type KubeSchema } from "./kube-schema.js";
import { checkName, checkRules } from "./rules.js";
import { checkAgainstSchema, type Path, type SchemaProblem } from "./schema-check.js";
import { describeObject, isRecord, stringAt, type JsonRecord } from "./types.js";

/** An object to validate, and the YAML it came from when it came from a file. */
interface ValidationInput {
  value: unknown;
  file?: string | undefined;
  document?: number | undefined;
  yaml?: Document | undefined;
  lineCounter?: LineCounter | undefined;
  /** How to name an object without a file: "generated" (the default) or "rendered". */
  describedAs?: string | undefined;
}

interface ManifestProblem {
  file?: string | undefined;
  document?: number | undefined;
  /** `line:column` in the file, when known. */
  position?: string | undefined;
  /** `Deployment iris-sklearn`, or `generated Deployment iris-sklearn` for an object without a file. */
  object: string;
  path: Path;
  message: string;
}

interface ValidationResult {
  problems: ManifestProblem[];
  /** Notes on objects mlkube could not check (custom resources). */
  notes: string[];
}

export async function validateManifests(inputs: readonly ValidationInput[]): Promise<ValidationResult> {
  const schema = await loadKubeSchema();
  const problems: ManifestProblem[] = [];
  const notes: string[] = [];
  for (const input of inputs) {
    const checked = checkObject(input.value, schema);
    if (checked.note !== undefined) notes.push(`${whereFrom(input)}: ${checked.note}`);
    problems.push(...locate(checked.problems, input));
  }
  problems.push(...duplicates(inputs));
  return { problems, notes };
}

/** Throws one UserError listing every problem, or returns when there is none. */
export function assertNoProblems(problems: readonly ManifestProblem[]): void {
  if (problems.length === 0) return;
  const count = problems.length === 1 ? "1 error" : `${problems.length} errors`;
  throw new UserError("manifest", `The Kubernetes manifests have ${count}; nothing was applied.`, {
    details: problems.map(formatProblem),
    hint: "Fix the fields listed above. `kubectl explain KIND.FIELD` (e.g. `kubectl explain deployment.spec.template.spec.containers`) describes each field.",
  });
}

/** `production/deployment.yaml:20:13 (document 1, Deployment iris) spec.replicas: expected ...` */
export function formatProblem(problem: ManifestProblem): string {
  const field = formatPath(problem.path);
  const what = field === "" ? problem.message : `${field}: ${problem.message}`;
  if (problem.file === undefined) return `${problem.object}: ${what}`;
  const at = problem.position === undefined ? "" : `:${problem.position}`;
  return `${displayPath(problem.file)}${at} (document ${problem.document ?? 1}, ${problem.object}) ${what}`;
}

function checkObject(value: unknown, schema: KubeSchema): { problems: SchemaProblem[]; note?: string } {
  if (!isRecord(value)) {
    return { problems: [{ path: [], message: `expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found ${describeValue(value)}` }] };
  }
  const identity = checkIdentity(value, schema);
  if ("problems" in identity) return identity;
  // A custom resource still needs a name: mlkube labels, applies and prunes it by name.
  if (identity.model === undefined)
    return {
      problems: checkName(value),
      note: `a custom resource (${String(value.apiVersion)}): mlkube cannot check its fields, and the cluster needs its CustomResourceDefinition`,
    };
  const explainRoot = String(value.kind).toLowerCase();
  return { problems: [...checkAgainstSchema(value, identity.model, schema, explainRoot), ...checkRules(value)] };
}

/** The model describing the object; undefined model for a custom resource. */
function checkIdentity(object: JsonRecord, schema: KubeSchema): { model: string | undefined } | { problems: SchemaProblem[] } {
  const apiVersion = object.apiVersion;
  const kind = object.kind;
  const problems: SchemaProblem[] = [];
  if (typeof apiVersion !== "string")
    problems.push({
      path: ["apiVersion"],
      message:
        apiVersion === undefined
          ? "required field is missing (e.g. apps/v1 for a Deployment, v1 for a Service)"
          : `expected a string, found ${describeValue(apiVersion)}`,
    });
  if (typeof kind !== "string")
    problems.push({
      path: ["kind"],
      message: kind === undefined ? "required field is missing (e.g. Deployment, Service)" : `expected a string, found ${describeValue(kind)}`,
    });
  if (typeof apiVersion !== "string" || typeof kind !== "string") return { problems };

  const known = kindInfo(apiVersion, kind);
  if (known) return { model: known.model };
  if (isCustomResource(apiVersion)) return { model: undefined };

  const servedAs = KINDS.filter((info) => info.kind === kind).map((info) => info.apiVersion);
  if (servedAs.length > 0) {
    return { problems: [{ path: ["apiVersion"], message: `${kind} is served as ${servedAs.join(" or ")}, not ${apiVersion}` }] };
  }
  // A built-in kind the table leaves out (a Lease, a CSIDriver): its fields can still be checked.
  const conventional = conventionalModel(apiVersion, kind);
  if (schema.model(conventional)?.fields.has("kind")) return { model: conventional };
  if (KINDS.some((info) => info.apiVersion === apiVersion)) {
    const suggestion = closest(
      kind,
      KINDS.map((info) => info.kind),
    );
    return { problems: [{ path: ["kind"], message: `unknown kind ${kind} in ${apiVersion}${suggestion ? `, did you mean ${suggestion}?` : ""}` }] };
  }
  const suggestion = closest(apiVersion, [...new Set(KINDS.map((info) => info.apiVersion))]);
  return { problems: [{ path: ["apiVersion"], message: `unknown apiVersion ${apiVersion}${suggestion ? `, did you mean ${suggestion}?` : ""}` }] };
}

/** Two documents for the same object: the second would silently replace the first. */
function duplicates(inputs: readonly ValidationInput[]): ManifestProblem[] {
  const seen = new Map<string, ValidationInput>();
  const problems: ManifestProblem[] = [];
  for (const input of inputs) {
    if (!isRecord(input.value) || typeof input.value.kind !== "string") continue;
    const name = stringAt(input.value.metadata, "name");
    if (name === undefined) continue;
    const key = `${input.value.kind}/${stringAt(input.value.metadata, "namespace") ?? ""}/${name}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, input);
      continue;
    }
    problems.push(
      ...locate([{ path: ["metadata", "name"], message: `${describeObject(input.value)} is defined twice; the first is ${whereFrom(first)}` }], input),
    );
  }
  return problems;
}

function locate(problems: readonly SchemaProblem[], input: ValidationInput): ManifestProblem[] {
  const described = isRecord(input.value) ? describeObject(input.value) : "document";
  const object = input.file === undefined ? `${input.describedAs ?? "generated"} ${described}` : described;
  const located = problems.map((problem) => {
    const offset = offsetOf(problem, input);
    return {
      offset: offset ?? 0,
      problem: {
        file: input.file,
        document: input.document,
        position: offset !== undefined && input.lineCounter ? position(input.lineCounter, offset) : undefined,
        object,
        path: problem.path,
        message: problem.message,
      },
    };
  });
  // File order reads best: a user fixes them top to bottom.
  return located.sort((a, b) => a.offset - b.offset).map(({ problem }) => problem);
}

function offsetOf(problem: SchemaProblem, input: ValidationInput): number | undefined {
  if (input.yaml === undefined) return undefined;
  const key = problem.path.at(-1);
  if (problem.atKey && key !== undefined) return keyOffset(input.yaml, problem.path.slice(0, -1), String(key));
  return valueOffset(input.yaml, problem.path);
}

function whereFrom(input: ValidationInput): string {
  const object = isRecord(input.value) ? describeObject(input.value) : "document";
  return input.file === undefined ? `${input.describedAs ?? "generated"} ${object}` : `${displayPath(input.file)} (document ${input.document ?? 1}, ${object})`;
}
