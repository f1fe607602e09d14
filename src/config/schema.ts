/**
 * The one definition of `mlkube.yaml`. The TypeScript types, the validation (with its error
 * messages) and the JSON Schema editors use are all derived from the zod schema below, so they
 * cannot drift apart. Keep every field described: the descriptions end up in editor tooltips.
 *
 * Some defaults depend on things outside the file (the name comes from the directory, the port
 * from the Dockerfile, the image repository from the name); those fields are optional here and
 * filled in by load.ts.
 */
import { z } from "zod";

/**
 * How error messages name what a field accepts ("expected <phrase>, found ..."), for fields where
 * the generic wording ("a string") would not help. Kept out of the global registry so these
 * phrases do not leak into the JSON Schema.
 */
/**
 * The watcher's quiet window. Every millisecond of it is in each edit's time to verified, and a
 * save (an editor's write, or its write-and-rename) lands within a few: 100 ms is well above that,
 * where webpack waits 20 and watchexec 50. Writers that pause longer mid-change (a checkout, a
 * model written in chunks) make several events, and a burst gets at least 400 ms (watcher.ts).
 */
export const DEFAULT_DEBOUNCE_MS = 100;

export const expectedPhrases = z.registry<{ expected: string }>();

/** Registers the phrase error messages use for this schema. Returns the same schema. */
function expecting<T extends z.ZodType>(schema: T, expected: string): T {
  expectedPhrases.add(schema as z.ZodType, { expected });
  return schema;
}

/**
 * Describes a field and registers its error phrase. describe() returns a copy, so the phrase must
 * be registered on that copy: this helper keeps the order right.
 */
/** kind maps each port separately: a long range is a long `docker run` and many host ports taken. */
const MAX_MAPPED_NODE_PORTS = 20;
const NODE_PORT_RANGE_PHRASE = `a NodePort range FIRST-LAST within 30000-32767, at most ${MAX_MAPPED_NODE_PORTS} ports, such as "30180-30184"`;

/** The ports of a validated cluster.nodePorts range. */
export function nodePortRange(range: string): number[] {
  const [first, last] = range.split("-").map(Number) as [number, number];
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

function field<T extends z.ZodType>(schema: T, description: string, expected?: string): T {
  const described = schema.describe(description);
  return expected === undefined ? described : expecting(described, expected);
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Any JSON value (request bodies, expected responses); one shared definition in the JSON Schema.
 * Written out rather than z.json() so errors can say "a JSON value": YAML's .inf and .nan are
 * the only values from a YAML file that are not JSON.
 */
const jsonValue: z.ZodType<JsonValue> = z
  .lazy(() =>
    expecting(
      z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
      "a JSON value (numbers must be finite)",
    ),
  )
  .meta({ id: "JsonValue", description: "Any JSON value." });

/** Kubernetes object names (Deployments, Services, namespaces): a DNS-1123 label. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_PHRASE = 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters, e.g. "iris-model")';
/** Service names are stricter than other names (DNS-1035): they must start with a letter. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_NAME_PHRASE = 'a DNS-1035 label (starts with a lowercase letter; then letters, digits and "-", at most 63 characters, e.g. "iris-model")';

/**
 * A Kubernetes resource quantity: a non-negative decimal with an optional binary (Ki, Mi, ...),
 * decimal (m, k, M, G, ...) or exponent (e3) suffix, as in "500m", "1", "256Mi", "1G".
 */
const QUANTITY = /^(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;
const QUANTITY_PHRASE = 'a Kubernetes quantity such as "500m", "1", "256Mi" or "1G"';

/** An image repository without tag or digest; mlkube picks the tag from the image content. */
const REPOSITORY = /^([a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d+)?\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/;
/** A registry address: host or host:port, as in "localhost:5001" or "registry.local". */
const REGISTRY_HOST = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d{1,5})?$/;
const REGISTRY_PHRASE = '"auto", "off", or a registry address host[:port] such as "localhost:5001"';

/**
 * The response paths `expect.jsonPath` understands: dotted keys and [index] steps, optionally
 * starting at `$`, as in "prediction[0]", "$.scores[1].label" or "[0].label".
 */
const JSON_PATH = /^(\$|[A-Za-z_][\w-]*|\[\d+\])(\.[A-Za-z_][\w-]*|\[\d+\])*$/;

const stringMap = (description: string) => field(z.record(z.string(), z.string()), description, "a mapping of names to strings").default({});

/**
 * Quantities are strings, but YAML turns `cpu: 1` or `cpu: 0.5` into numbers, and Kubernetes
 * accepts those in its own manifests, so numbers are accepted and normalized to strings.
 */
const quantity = expecting(z.union([expecting(z.string().regex(QUANTITY), QUANTITY_PHRASE), expecting(z.number().min(0), QUANTITY_PHRASE)]), QUANTITY_PHRASE)
  .transform(String)
  .optional();

const resourceList = (description: string) =>
  z
    .strictObject({
      cpu: field(quantity, 'CPU, in cores ("1", "0.5") or millicores ("500m").'),
      memory: field(quantity, 'Memory, in bytes with a suffix ("256Mi", "1Gi", "1G").'),
    })
    .describe(description)
    .prefault({});

const seconds = (description: string, minimum: number, byDefault: number) =>
  field(z.int().min(minimum), `${description} Default: ${byDefault}.`).default(byDefault);

/** Readiness and liveness probes share a shape but not their defaults (see deploy.probes). */
function probe(description: string, defaults: { initialDelaySeconds: number; periodSeconds: number; timeoutSeconds: number; failureThreshold: number }) {
  return z
    .strictObject({
      path: field(
        z.string().regex(/^\//),
        "HTTP path to GET on the model port. Default: none, so no path is guessed: readiness waits for the port to accept connections and then asks the server's well-known health endpoints (/v2/health/ready, /v1/models/NAME, /ping, /readyz, /healthz, /health, /), using the first that answers 2xx; liveness only checks that the port accepts connections.",
        'a path starting with "/"',
      ).default("/"),
      initialDelaySeconds: seconds("Seconds to wait after the container starts before the first probe.", 0, defaults.initialDelaySeconds),
      periodSeconds: seconds("Seconds between probes.", 1, defaults.periodSeconds),
      timeoutSeconds: seconds("Seconds after which one probe counts as failed.", 1, defaults.timeoutSeconds),
      failureThreshold: seconds("Failed probes in a row before the probe as a whole fails.", 1, defaults.failureThreshold),
    })
    .describe(description)
    .prefault({});
}

const expectSchema = z
  .strictObject({
    status: field(z.int().min(100).max(599), "Expected HTTP status code. Default: 200.").default(200),
    json: jsonValue.optional().describe("The response body must equal this JSON value exactly (numbers within `tolerance`)."),
    jsonSubset: field(
      z.record(z.string(), jsonValue),
      "The response must be a JSON object containing these keys with these values (recursively).",
      "a mapping of response keys to expected JSON values",
    ).optional(),
    jsonPath: field(
      z.record(expecting(z.string().regex(JSON_PATH), 'a path such as "prediction[0]" or "$.scores[1].label"'), jsonValue),
      'Expected values at paths in the JSON response, e.g. `"prediction[0]": 1`.',
      "a mapping of response paths to expected JSON values",
    ).optional(),
    tolerance: field(z.number().min(0), "Allowed absolute difference when comparing numbers. Default: 0.").default(0),
    contains: z.string().optional().describe("The response body must contain this text."),
    latencyMs: field(
      z.number().positive(),
      "Fail when the response takes longer than this many milliseconds.",
      "a number of milliseconds greater than 0",
    ).optional(),
  })
  .describe("What the response must look like.")
  .prefault({});

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

export const smokeTestSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('Name shown in results. Default: "<METHOD> <path>".'),
    method: z.enum(HTTP_METHODS).optional().describe("HTTP method. Default: POST when a body or bodyFile is given, else GET."),
    path: field(z.string().regex(/^\//), 'Request path, e.g. "/predict".', 'a path starting with "/"'),
    headers: stringMap("Request headers."),
    body: jsonValue.optional().describe("Request body: any JSON value, sent as application/json."),
    bodyFile: z.string().min(1).optional().describe("File whose content is the request body, relative to mlkube.yaml."),
    repeat: field(z.int().min(1), "Send the request this many times (for latency and flakiness). Default: 1.").default(1),
    expect: expectSchema,
  })
  .refine((test) => test.body === undefined || test.bodyFile === undefined, {
    message: "set either `body` or `bodyFile`, not both",
    path: ["bodyFile"],
    // Also check items that have other errors, so every mistake is reported in one run.
    when: (payload) => typeof payload.value === "object" && payload.value !== null,
  })
  .transform(({ name, method, path, headers, body, bodyFile, repeat, expect }) => {
    const resolvedMethod = method ?? (body !== undefined || bodyFile !== undefined ? "POST" : "GET");
    return { name: name ?? `${resolvedMethod} ${path}`, method: resolvedMethod, path, headers, body, bodyFile, repeat, expect };
  })
  .describe("An HTTP request sent to the deployed model after each rollout, and what it must answer.");

/** A container path in a sync rule: absolute, since the container's working directory is not mlkube's to know. */
const CONTAINER_PATH_PHRASE = 'an absolute container path such as "/app/" or "/app/model.pkl"';

const syncRule = z
  .strictObject({
    src: field(
      z.string().min(1),
      'A file, a directory (everything under it) or a pattern ("*.py", "conf/*.yaml"), relative to mlkube.yaml.',
      'a file, directory or pattern relative to mlkube.yaml, such as "app.py" or "src/"',
    ),
    dest: field(
      z.string().regex(/^\//),
      'Where it goes in the container: a directory ending in "/" (files keep their names, a directory\'s contents go under it) or a file path.',
      CONTAINER_PATH_PHRASE,
    ),
  })
  .refine((rule) => typeof rule.src !== "string" || typeof rule.dest !== "string" || !/[*?[]/.test(rule.src) || /\/\.?$/.test(rule.dest), {
    message: 'a pattern can match several files, so dest must be a directory: end it with "/"',
    path: ["dest"],
    // Also check rules that have other errors, so every mistake is reported in one run.
    when: (payload) => typeof payload.value === "object" && payload.value !== null,
  })
  .describe("Files under `src` are copied to `dest` in the running container, as `COPY src dest` would put them.");

/** A build secret's id, as `RUN --mount=type=secret,id=...` names it (and the docker CLI's --secret accepts). */
const SECRET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const buildSecret = z
  .strictObject({
    id: field(z.string().regex(SECRET_ID), "The id a `RUN --mount=type=secret,id=ID` asks for.", 'letters, digits, ".", "_" and "-", such as "pip-token"'),
    env: field(
      z.string().regex(ENV_NAME),
      "Take the value from this environment variable of the shell that runs mlkube.",
      'an environment variable name, such as "PIP_TOKEN"',
    ).optional(),
    file: z
      .string()
      .min(1)
      .optional()
      .describe("Take the value from this file: relative to mlkube.yaml, absolute, or under ~/ (it may lie outside the model directory)."),
  })
  .refine((secret) => (secret.env === undefined) !== (secret.file === undefined), {
    message: "give exactly one of env (an environment variable) or file (a path)",
    when: (payload) => typeof payload.value === "object" && payload.value !== null,
  })
  .describe("A BuildKit build secret: given to the RUN instructions that mount it, never stored in the image, its tag, mlkube's output or its errors.");

const RESTART_MODES = ["auto", "process", "none"] as const;

export const configSchema = z
  .strictObject({
    name: field(
      z.string().max(63).regex(SERVICE_NAME),
      "Name of the Deployment and Service. Default: the directory name, made DNS-safe.",
      SERVICE_NAME_PHRASE,
    ).optional(),
    namespace: field(z.string().max(63).regex(DNS_LABEL), 'Kubernetes namespace to deploy into. Default: "default".', DNS_LABEL_PHRASE).default("default"),
    build: z
      .strictObject({
        context: z.string().min(1).default(".").describe('Build context directory, relative to mlkube.yaml. Default: ".".'),
        dockerfile: z.string().min(1).default("Dockerfile").describe('Dockerfile path, relative to mlkube.yaml. Default: "Dockerfile".'),
        args: stringMap("Build arguments (ARG values). --build-arg on the command line overrides these."),
        target: z.string().min(1).optional().describe("Stage of a multi-stage Dockerfile to build. Default: the last stage."),
        secrets: z
          .array(buildSecret)
          .default([])
          .refine((secrets) => new Set(secrets.map((secret) => secret.id)).size === secrets.length, { message: "each secret id may appear once" })
          .describe("Build secrets (needs BuildKit). Changing a secret's value does not rebuild the image, as in Docker's own cache."),
      })
      .describe("How to build the model image.")
      .prefault({}),
    image: z
      .strictObject({
        repository: field(
          z.string().regex(REPOSITORY),
          "Image repository, without tag (mlkube tags images by content). Default: the name.",
          'an image repository without tag, such as "iris-model" or "localhost:5001/team/iris-model"',
        ).optional(),
      })
      .describe("The image mlkube builds.")
      .prefault({}),
    port: field(z.int().min(1).max(65535), "Port the model server listens on in the container. Default: the first TCP port the Dockerfile EXPOSEs.").optional(),
    service: z
      .strictObject({
        nodePort: field(z.int().min(30000).max(32767), "NodePort the Service exposes on the cluster nodes. Default: 30080.").default(30080),
      })
      .describe("The NodePort Service in front of the model.")
      .prefault({}),
    deploy: z
      .strictObject({
        replicas: field(z.int().min(0), "Number of pods. Default: 1.").default(1),
        env: stringMap("Environment variables for the model container."),
        resources: z
          .strictObject({
            requests: resourceList("Resources the scheduler reserves for the container."),
            limits: resourceList("Resources the container may not exceed."),
          })
          .describe("Container resource requests and limits.")
          .prefault({}),
        probes: z
          .strictObject({
            // Frequent readiness checks make the dev loop notice a ready model quickly.
            readiness: probe("When the pod receives traffic.", { initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 }),
            // Liveness is generous: models can take long to load, and a killed pod starts over.
            liveness: probe("When the container is restarted.", { initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
          })
          .describe("HTTP probes on the model port.")
          .prefault({}),
        rolloutTimeoutSeconds: seconds("How long to wait for a rollout to become ready before reporting failure.", 1, 180),
      })
      .describe("How the model runs in the cluster.")
      .prefault({}),
    cluster: z
      .strictObject({
        provider: z
          .enum(["auto", "kind", "minikube", "context"])
          .default("auto")
          .describe('Which cluster to use: a local kind or minikube cluster, an existing kube context, or "auto" to pick what is installed. Default: "auto".'),
        name: field(z.string().max(63).regex(DNS_LABEL), 'Name of the local cluster mlkube creates. Default: "mlkube".', DNS_LABEL_PHRASE).default("mlkube"),
        context: z.string().min(1).optional().describe("Kube context to use (provider: context). Default: the current context."),
        nodePorts: field(
          z.string().refine(
            (range) => {
              const [first, last] = /^\d+-\d+$/.test(range) ? (range.split("-").map(Number) as [number, number]) : [0, 0];
              return first >= 30000 && last <= 32767 && first <= last && last - first < MAX_MAPPED_NODE_PORTS;
            },
            { error: (issue) => `expected ${NODE_PORT_RANGE_PHRASE}, found ${JSON.stringify(issue.input)}` },
          ),
          `NodePorts a kind cluster that mlkube creates maps to 127.0.0.1, as FIRST-LAST within 30000-32767 (at most ${MAX_MAPPED_NODE_PORTS}). Mappings are fixed when the cluster is created. Default: 30080-30084; give a second cluster, or a machine where something else holds those ports, another range.`,
          NODE_PORT_RANGE_PHRASE,
        ).default("30080-30084"),
        registry: field(
          z.union([z.enum(["auto", "off"]), expecting(z.string().regex(REGISTRY_HOST), REGISTRY_PHRASE)]),
          'Image registry the cluster pulls from: "auto" (a local registry mlkube runs), "off" (load images into the cluster directly) or host[:port]. Default: "auto".',
          REGISTRY_PHRASE,
        ).default("auto"),
      })
      .describe("The Kubernetes cluster to deploy to.")
      .prefault({}),
    watch: z
      .strictObject({
        ignore: z.array(z.string()).default([]).describe("Glob patterns, relative to the model directory, of files whose changes do not trigger a rebuild."),
        debounceMs: field(
          z.int().min(0),
          `Milliseconds of quiet to wait for more changes before rebuilding (a burst of writes, such as a git checkout, gets at least 400). Default: ${DEFAULT_DEBOUNCE_MS}.`,
        ).default(DEFAULT_DEBOUNCE_MS),
      })
      .describe("What `mlkube dev` watches.")
      .prefault({}),
    sync: field(
      z.union([z.literal(false), z.array(syncRule)]),
      "What `mlkube dev` copies into the running container instead of rebuilding the image (live update): false turns it off; a list of { src, dest } replaces the rules mlkube infers from the Dockerfile's COPY and ADD. Default: inferred.",
      "false, or a list of { src, dest } rules",
    ).optional(),
    restart: z
      .enum(RESTART_MODES)
      .default("auto")
      .describe(
        'What happens after files are synced: "process" restarts the server process in the container, "none" leaves it to the server (a reloader that watches its files), "auto" lets mlkube choose. Default: "auto".',
      ),
    manifests: z
      .array(z.string().min(1))
      .default([])
      .describe("Your own Kubernetes manifests (files or directories), relative to mlkube.yaml, applied with the model."),
    tests: z.array(smokeTestSchema).default([]).describe("Smoke tests run against the model after each rollout."),
    requests: z.string().min(1).optional().describe("A JSON Lines file of recorded requests and responses to replay as tests, relative to mlkube.yaml."),
    allowPathsOutside: z
      .boolean()
      .default(false)
      .describe(
        "Let build.context, build.dockerfile, manifests, tests[].bodyFile and requests point outside the model directory (directly or through a symlink); mlkube warns about each. Default: false (such a path is an error).",
      ),
  })
  .meta({
    title: "mlkube.yaml",
    description: "Configuration of a model directory for mlkube, the dev loop for ML model servers on Kubernetes. Every field is optional.",
  });

/** What a user may write in mlkube.yaml. */
/** mlkube.yaml after validation, with the static defaults filled in. */
export type Config = z.output<typeof configSchema>;
export type SmokeTest = Config["tests"][number];
