// Invalid manifests, each with where its problem is: file, document, field path, line:column.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { KINDS } from "../../src/manifests/kinds.js";
import { loadKubeSchema } from "../../src/manifests/kube-schema.js";
import { loadManifests } from "../../src/manifests/load.js";
import { assertNoProblems, formatProblem, validateManifests } from "../../src/manifests/validate.js";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlkube-validate-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function fileWith(text: string): Promise<string> {
  const file = join(dir, `m${++counter}.yaml`);
  await writeFile(file, text);
  return file;
}

/** Each problem as `line:col (document N, Kind name) path: message`, the file name left out. */
async function problemsIn(text: string): Promise<string[]> {
  const file = await fileWith(text);
  const { problems } = await validateManifests(await loadManifests([file]));
  return problems.map((problem) => formatProblem(problem).replace(`${file}:`, ""));
}

const deployment = (containerLines: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: iris
spec:
  selector:
    matchLabels: { app: iris }
  template:
    metadata:
      labels: { app: iris }
    spec:
      containers:
        - name: iris
${containerLines}${extra}`;

describe("validateManifests: problems and where they are", () => {
  it.each([
    {
      case: "unknown field, with a suggestion",
      yaml: deployment("          image: iris:1\n          ports:\n            - containerport: 5000\n"),
      problems: ["16:15 (document 1, Deployment iris) spec.template.spec.containers[0].ports[0].containerport: unknown field, did you mean `containerPort`?"],
    },
    {
      case: "unknown field without a close match, in a model with many fields",
      yaml: deployment("          image: iris:1\n          gpu: true\n"),
      problems: [
        "15:11 (document 1, Deployment iris) spec.template.spec.containers[0].gpu: unknown field (`kubectl explain deployment.spec.template.spec.containers` lists the fields allowed here)",
      ],
    },
    {
      case: "wrong type: a string where a whole number goes",
      yaml: deployment('          image: iris:1\n          ports:\n            - containerPort: "5000"\n'),
      problems: ['16:30 (document 1, Deployment iris) spec.template.spec.containers[0].ports[0].containerPort: expected a whole number, found "5000"'],
    },
    {
      case: "wrong type: a number where a string goes",
      yaml: deployment("          image: iris:1\n          env:\n            - name: WORKERS\n              value: 4\n"),
      problems: [
        "17:22 (document 1, Deployment iris) spec.template.spec.containers[0].env[0].value: expected a string, found 4 (put it in quotes to make it a string)",
      ],
    },
    {
      case: "wrong type: a mapping where a list goes",
      yaml: deployment("          image: iris:1\n          ports: { containerPort: 5000 }\n"),
      problems: ["15:18 (document 1, Deployment iris) spec.template.spec.containers[0].ports: expected a list, found a mapping"],
    },
    {
      case: "required field missing (schema)",
      yaml: deployment("          image: iris:1\n          readinessProbe:\n            httpGet: { path: /healthz }\n"),
      problems: ["16:22 (document 1, Deployment iris) spec.template.spec.containers[0].readinessProbe.httpGet.port: required field is missing"],
    },
    {
      case: "container without an image",
      yaml: deployment("          imagePullPolicy: IfNotPresent\n"),
      problems: ["13:11 (document 1, Deployment iris) spec.template.spec.containers[0].image: required field is missing (the container needs an image)"],
    },
    {
      case: "object without a name",
      yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: { app: iris }\ndata: { a: b }\n",
      problems: ["4:3 (document 1, ConfigMap) metadata.name: required field is missing (every object mlkube applies needs a name)"],
    },
    {
      case: "selector that does not select the template",
      yaml: deployment("          image: iris:1\n").replace("matchLabels: { app: iris }", "matchLabels: { app: iris-model }"),
      problems: [
        "7:5 (document 1, Deployment iris) spec.selector: the selector does not match the pod template's labels: it requires app=iris-model, but the template has app=iris",
      ],
    },
    {
      case: "selector expression that does not select the template",
      yaml: deployment("          image: iris:1\n").replace("matchLabels: { app: iris }", "matchExpressions: [{ key: tier, operator: Exists }]"),
      problems: [
        "7:5 (document 1, Deployment iris) spec.selector: the selector does not match the pod template's labels: it requires tier Exists, but the template has app=iris",
      ],
    },
    {
      case: "Deployment under an old apiVersion",
      yaml: "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: { name: iris }\n",
      problems: ["1:13 (document 1, Deployment iris) apiVersion: Deployment is served as apps/v1, not extensions/v1beta1"],
    },
    {
      case: "misspelt kind",
      yaml: "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: { name: iris }\n",
      problems: ["2:7 (document 1, Deploymnet iris) kind: unknown kind Deploymnet in apps/v1, did you mean Deployment?"],
    },
    {
      case: "misspelt apiVersion",
      yaml: "apiVersion: app/v1\nkind: Widget\nmetadata: { name: iris }\n",
      problems: ["1:13 (document 1, Widget iris) apiVersion: unknown apiVersion app/v1, did you mean apps/v1?"],
    },
    {
      case: "a built-in kind outside mlkube's table, checked by its model all the same",
      yaml: "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: { name: iris }\nspec: { leaseDurationSecond: 3 }\n",
      problems: ["4:9 (document 1, Lease iris) spec.leaseDurationSecond: unknown field, did you mean `leaseDurationSeconds`?"],
    },
    {
      case: "document that is not an object",
      yaml: "- just\n- a list\n",
      problems: ["1:1 (document 1, document) expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found a list"],
    },
    {
      case: "invalid Service name",
      yaml: "apiVersion: v1\nkind: Service\nmetadata: { name: 2-iris }\nspec: { ports: [{ port: 80 }] }\n",
      problems: [
        '3:19 (document 1, Service 2-iris) metadata.name: "2-iris" is not a valid Service name: lowercase letters, digits and "-", starting with a letter, at most 63 characters',
      ],
    },
  ])("$case", async ({ yaml, problems }) => {
    expect(await problemsIn(yaml)).toEqual(problems);
  });

  it("counts documents as a reader does, empty ones included, and reports each in file order", async () => {
    const text = [
      "---",
      "# an empty document: nothing but a comment",
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: { name: iris }",
      "spec: { selektor: { app: iris }, ports: [{ port: 80 }] }",
      "---",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: { name: iris, labels: { version: 2 } }",
    ].join("\n");
    expect(await problemsIn(text)).toEqual([
      "7:9 (document 2, Service iris) spec.selektor: unknown field, did you mean `selector`?",
      "11:44 (document 3, ConfigMap iris) metadata.labels.version: expected a string, found 2 (put it in quotes to make it a string)",
    ]);
  });

  it("reports a misspelt required field once, as the typo", async () => {
    const problems = await problemsIn(deployment("          image: iris:1\n          ports:\n            - containerport: 5000\n"));
    expect(problems).toHaveLength(1);
  });

  it("accepts quantities written as numbers, as the API server does", async () => {
    expect(await problemsIn(deployment("          image: iris:1\n          resources:\n            limits: { cpu: 1, memory: 512Mi }\n"))).toEqual([]);
  });

  it("accepts null values (an empty key is unset) and named ports in probes", async () => {
    expect(
      await problemsIn(
        deployment(
          "          image: iris:1\n          env:\n          ports: [{ name: web, containerPort: 5000 }]\n          livenessProbe: { tcpSocket: { port: web } }\n",
        ),
      ),
    ).toEqual([]);
  });

  it("reports an object defined twice", async () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n";
    const problems = await problemsIn(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^7:19 \(document 2, ConfigMap a\) metadata\.name: ConfigMap a is defined twice; the first is .*m\d+\.yaml \(document 1, ConfigMap a\)$/,
    );
  });

  it("passes custom resources through with a note, but still needs their name", async () => {
    const file = await fileWith("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: { name: iris }\nspec: { anything: goes }\n");
    const result = await validateManifests(await loadManifests([file]));
    expect(result.problems).toEqual([]);
    expect(result.notes).toEqual([
      expect.stringMatching(/ServiceMonitor iris\): a custom resource \(monitoring\.coreos\.com\/v1\): mlkube cannot check its fields/),
    ]);
    expect(await problemsIn("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {}\n")).toHaveLength(1);
  });

  it("passes the production manifests of the iris fixture", async () => {
    const { problems } = await validateManifests(await loadManifests([new URL("../../fixtures/iris-sklearn/production", import.meta.url).pathname]));
    expect(problems).toEqual([]);
  });
});

describe("assertNoProblems", () => {
  it("throws one UserError with a line per problem and a hint", async () => {
    const file = await fileWith(deployment("          image: iris:1\n          ports:\n            - containerport: 5000\n"));
    const { problems } = await validateManifests(await loadManifests([file]));
    let error: unknown;
    try {
      assertNoProblems(problems);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).kind).toBe("manifest");
    expect((error as UserError).message).toBe("The Kubernetes manifests have 1 error; nothing was applied.");
    expect((error as UserError).details).toEqual([
      `${file}:16:15 (document 1, Deployment iris) spec.template.spec.containers[0].ports[0].containerport: unknown field, did you mean \`containerPort\`?`,
    ]);
    expect((error as UserError).hint).toMatch(/kubectl explain/);
  });
});

describe("loadManifests", () => {
  it("reports YAML syntax errors with their position and document", async () => {
    const file = await fileWith("apiVersion: v1\nkind: ConfigMap\n---\nmetadata: { name: [unclosed\n");
    const error = await loadManifests([file]).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).details[0]).toMatch(new RegExp(`^${file}:\\d+:\\d+ .* \\(document 2\\)$`));
  });

  it("names a path that does not exist", async () => {
    const error = await loadManifests([join(dir, "nope")]).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as UserError).message).toMatch(/nope does not exist/);
  });

  it("refuses a kustomization directory and says how to render it", async () => {
    const kustomized = await mkdtemp(join(dir, "k-"));
    await writeFile(join(kustomized, "kustomization.yaml"), "resources: [deployment.yaml]\n");
    const error = await loadManifests([kustomized]).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as UserError).hint).toMatch(/kubectl kustomize/);
  });

  it("reads a directory's .yaml, .yml and .json files in name order", async () => {
    const manifests = await mkdtemp(join(dir, "d-"));
    await writeFile(join(manifests, "b.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b }\n");
    await writeFile(
      join(manifests, "a.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: a2 }\n",
    );
    await writeFile(join(manifests, "c.json"), '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}');
    await writeFile(join(manifests, "notes.txt"), "not a manifest");
    const documents = await loadManifests([manifests]);
    expect(documents.map((document) => `${document.file.slice(manifests.length + 1)}#${document.document}`)).toEqual([
      "a.yaml#1",
      "a.yaml#2",
      "b.yml#1",
      "c.json#1",
    ]);
  });
});

describe("the kinds table", () => {
  it("names a client-node model for every kind, describing an object with apiVersion, kind and metadata", async () => {
    const schema = await loadKubeSchema();
    for (const info of KINDS) {
      const model = schema.model(info.model);
      expect(model, `${info.apiVersion} ${info.kind} -> ${info.model}`).toBeDefined();
      expect([...(model?.fields.keys() ?? [])]).toEqual(expect.arrayContaining(["apiVersion", "kind", "metadata"]));
    }
  });

  it("reads the required fields from the models' declarations", async () => {
    const schema = await loadKubeSchema();
    expect(schema.model("V1Container")?.required).toEqual(["name"]);
    expect(schema.model("V1DeploymentSpec")?.required).toEqual(["selector", "template"]);
    expect(schema.model("V1ContainerPort")?.required).toEqual(["containerPort"]);
  });
});
