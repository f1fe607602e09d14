/**
 * The Kubernetes schema, as @kubernetes/client-node ships it: every model class generated from the
 * Kubernetes OpenAPI (v1.34 for client-node 1.4) lists its fields and their types in a static
 * `attributeTypeMap`, and its generated declaration file marks the required ones (`'name': string`
 * against `'image'?: string`). Reading both keeps the field names, types and required lists in
 * step with the client that applies the objects.
 *
 * The models are imported from client-node's models module rather than the package entry: the
 * entry also loads the whole HTTP and auth stack (1.3 s against 0.3 s), and `render` needs none of
 * it. The package has no exports map, the version is pinned (~1.4) and a unit test fails if the
 * path moves.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const MODELS_MODULE = "@kubernetes/client-node/dist/gen/models/all.js";

/** One field of a model: its JSON name and the generator's type string. */
interface FieldInfo {
  name: string;
  /** e.g. `string`, `number`, `V1PodSpec`, `Array<V1Container>`, `{ [key: string]: string; }`, `IntOrString`. */
  type: string;
  /** e.g. `int32`, `int64`, `int-or-string`, `date-time`. */
  format: string;
}

export interface ModelSchema {
  name: string;
  fields: ReadonlyMap<string, FieldInfo>;
  required: readonly string[];
}

interface ModelClass {
  attributeTypeMap?: readonly { name: string; baseName: string; type: string; format: string }[];
}

export interface KubeSchema {
  model(name: string): ModelSchema | undefined;
}

let loaded: Promise<KubeSchema> | undefined;

/** Loads the models once per process. */
export function loadKubeSchema(): Promise<KubeSchema> {
  loaded ??= import("@kubernetes/client-node/dist/gen/models/all.js").then((models) => schemaFrom(models as unknown as Record<string, unknown>));
  return loaded;
}

function schemaFrom(models: Record<string, unknown>): KubeSchema {
  const declarationsDir = dirname(createRequire(import.meta.url).resolve(MODELS_MODULE));
  const cache = new Map<string, ModelSchema | undefined>();
  return {
    model(name) {
      if (!cache.has(name)) {
        const attributes = (models[name] as ModelClass | undefined)?.attributeTypeMap;
        cache.set(
          name,
          attributes && {
            name,
            fields: new Map(attributes.map((field) => [field.baseName, { name: field.baseName, type: field.type, format: field.format }])),
            required: requiredFields(join(declarationsDir, `${name}.d.ts`)),
          },
        );
      }
      return cache.get(name);
    },
  };
}

/** The properties a generated declaration file declares without `?`: the OpenAPI `required` list. */
function requiredFields(declarationFile: string): string[] {
  // A missing file is a broken install, and checking without it would pass invalid manifests:
  // let the error surface (it is reported as a bug in mlkube).
  const text = readFileSync(declarationFile, "utf8");
  return [...text.matchAll(/^\s+'([^']+)':/gm)].map((match) => match[1] ?? "");
}
