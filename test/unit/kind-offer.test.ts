/**
 * Onboarding in one command (issue #13): when the cluster would be kind and kind is missing,
 * `mlkube dev` / `up` ask at a terminal, install with --yes, and otherwise stop with the error
 * naming `mlkube doctor --fix` and --yes. The install is the one `doctor --fix` does, here from a
 * local file server (this machine cannot reach GitHub).
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { KindProvider } from "../../src/adapters/cluster/kind.js";
import { selectProvider } from "../../src/adapters/cluster/select.js";
import { connectDocker } from "../../src/adapters/docker/client.js";
import { KIND_VERSION } from "../../src/adapters/tools/kind-release.js";
import { confirm, kindOffer, type KindOfferIo } from "../../src/commands/kind-offer.js";
import { configSchema } from "../../src/config/schema.js";
import { kindOfferAction, kindRefusal, missingKind } from "../../src/core/kind-offer.js";
import { chooseProvider, type ProviderInputs } from "../../src/core/provider-choice.js";
import { recordingExec } from "../support/recording-exec.js";

describe("missingKind: when kind is what is missing", () => {
  const inputs = (changes: Partial<ProviderInputs>): ProviderInputs => ({
    configured: { provider: "auto", clusterName: "mlkube" },
    flags: {},
    currentContext: undefined,
    minikubeProfiles: [],
    installed: { kind: false, minikube: false },
    ...changes,
  });

  it("no cluster tool and no local context: kind, with the no-tool error", () => {
    const decision = chooseProvider(inputs({ currentContext: "prod-eks" }));
    expect(missingKind(decision, { kind: false })).toEqual({
      message: expect.stringContaining("neither kind nor minikube is installed"),
      hint: expect.stringContaining("mlkube doctor --fix"),
    });
  });

  it("a kind cluster chosen (--provider kind, a kind- context) while kind is not installed", () => {
    const decision = chooseProvider(inputs({ currentContext: "kind-dev" }));
    expect(missingKind(decision, { kind: false })).toEqual({
      message: "kind is not installed, and the cluster is a kind cluster because the current kube context is 'kind-dev', a kind cluster.",
      hint: expect.stringMatching(/^Run 'mlkube doctor --fix'/),
    });
  });

  it.each<[string, Partial<ProviderInputs>]>([
    ["kind installed", { installed: { kind: true, minikube: false } }],
    ["minikube installed: minikube is the choice", { installed: { kind: false, minikube: true } }],
    ["an existing context chosen", { flags: { context: "staging" } }],
    ["another error (provider context without a context)", { flags: { provider: "context" } }],
  ])("nothing when %s", (_name, changes) => {
    const given = inputs(changes);
    expect(missingKind(chooseProvider(given), given.installed)).toBeUndefined();
  });
});

describe("kindOfferAction", () => {
  it.each([
    [{ yes: true, terminal: false }, "install"],
    [{ yes: true, terminal: true }, "install"],
    [{ yes: false, terminal: true }, "ask"],
    [{ yes: false, terminal: false }, "refuse"],
  ] as const)("%o: %s", (how, action) => {
    expect(kindOfferAction(how)).toBe(action);
  });
});

describe("kindRefusal", () => {
  const need = { message: "No local cluster to use.", hint: "Run 'mlkube doctor --fix': it installs kind." };
  it("keeps the error and names --yes beside `mlkube doctor --fix`", () => {
    expect(kindRefusal(need, "dev", false)).toEqual({
      message: "No local cluster to use.",
      hint: "Add --yes ('mlkube dev --yes') to install it and go on without being asked. Run 'mlkube doctor --fix': it installs kind.",
    });
  });
  it("says a declined offer installed nothing", () => {
    expect(kindRefusal(need, "up", true)).toMatchObject({
      message: "No local cluster to use. You declined installing kind; nothing was installed.",
      hint: expect.stringContaining("'mlkube up --yes'"),
    });
  });
});

describe("confirm: the [Y/n] question", () => {
  it.each([
    ["\n", true],
    ["y\n", true],
    ["YES\n", true],
    ["n\n", false],
    ["no\n", false],
    ["maybe\n", false],
  ])("%j is %s", async (typed, yes) => {
    const input = new PassThrough();
    const output = new PassThrough();
    const answer = confirm("Install? [Y/n] ", input, output);
    input.write(typed);
    await expect(answer).resolves.toBe(yes);
    expect(String(output.read())).toContain("Install? [Y/n] ");
  });

  it("Ctrl+D (end of input) is no, not a wait for ever", async () => {
    const input = new PassThrough();
    const answer = confirm("Install? [Y/n] ", input, new PassThrough());
    input.end();
    await expect(answer).resolves.toBe(false);
  });
});

describe("selectProvider with the offer: kind missing, no minikube, no kube context", () => {
  const binary = Buffer.from("#!/bin/sh\necho 'kind v0.30.0 (test stand-in)'\n");
  const sha256 = createHash("sha256").update(binary).digest("hex");
  let server: Server;
  let url: string;
  let root: string;
  let binDir: string;
  const settings = () => {
    const config = configSchema.parse({});
    return { cluster: config.cluster, service: config.service };
  };
  const docker = connectDocker({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });

  beforeAll(async () => {
    server = createServer((request, response) => (request.url === "/kind" ? response.end(binary) : response.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/kind`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "mlkube-offer-"));
    binDir = join(root, "home", ".mlkube", "bin");
    await mkdir(join(root, "path"), { recursive: true });
    await writeFile(join(root, "kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    vi.stubEnv("KUBECONFIG", join(root, "kubeconfig"));
    // A proxy variable left in the developer's shell must not send the local download elsewhere.
    for (const name of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]) vi.stubEnv(name, undefined);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(root, { recursive: true, force: true });
  });

  function io(terminal: boolean, answer?: boolean, sha = sha256) {
    const said: string[] = [];
    const asked: string[] = [];
    const offerIo: KindOfferIo = {
      terminal,
      confirm: (question) => {
        asked.push(question);
        return Promise.resolve(answer ?? false);
      },
      say: (line) => said.push(line),
      platform: "linux",
      release: { url, sha256: sha },
    };
    return { offerIo, said, asked };
  }

  const select = (offer: ReturnType<typeof kindOffer>, exec = recordingExec().exec) =>
    selectProvider(settings(), {}, { docker, exec, env: { PATH: join(root, "path") }, binDir, offerKind: offer });

  it("at a terminal, asks naming the version and the destination; yes installs and goes on with kind", async () => {
    const { offerIo, said, asked } = io(true, true);
    const installed = join(binDir, "kind");
    const recorded = recordingExec([{ argv: [installed, "get", "clusters"], stdout: "" }]);
    const provider = await select(kindOffer("dev", false, offerIo), recorded.exec);
    expect(asked).toEqual([`kind is not installed. Install kind ${KIND_VERSION} (checksum verified) into ${binDir} now? [Y/n] `]);
    expect(said).toEqual([
      `downloading kind ${KIND_VERSION} into ${binDir} (checksum verified)`,
      `installed kind ${KIND_VERSION} at ${installed} (sha256 verified)`,
    ]);
    expect(provider.choice).toMatchObject({ kind: "kind", clusterName: "mlkube", reason: "kind is installed" });
    // The providers run the kind just installed, by its full path.
    await (provider as KindProvider).exists();
    expect(recorded.calls).toEqual([[installed, "get", "clusters"]]);
  });

  it("declined: the error names `mlkube doctor --fix` and --yes, and nothing is installed", async () => {
    const { offerIo, said } = io(true, false);
    const failure = select(kindOffer("dev", false, offerIo));
    await expect(failure).rejects.toMatchObject({
      kind: "missing-tool",
      message: expect.stringMatching(/neither kind nor minikube is installed.* You declined installing kind; nothing was installed\.$/),
      hint: expect.stringMatching(/^Add --yes \('mlkube dev --yes'\) .*Run 'mlkube doctor --fix'/),
    });
    expect(said).toEqual([]);
    await expect(readdir(binDir)).rejects.toThrow(/ENOENT/);
  });

  it("without a terminal and without --yes: the same error, unasked, nothing installed", async () => {
    const { offerIo, asked } = io(false);
    await expect(select(kindOffer("up", false, offerIo))).rejects.toMatchObject({
      message: expect.stringMatching(/^No local cluster to use: neither kind nor minikube is installed/),
      hint: expect.stringMatching(/'mlkube up --yes'.*'mlkube doctor --fix'/),
    });
    expect(asked).toEqual([]);
    await expect(readdir(binDir)).rejects.toThrow(/ENOENT/);
  });

  it("--yes without a terminal installs unasked and says so", async () => {
    const { offerIo, said, asked } = io(false);
    const provider = await select(kindOffer("dev", true, offerIo));
    expect(asked).toEqual([]);
    expect(said[0]).toBe(`kind is not installed; --yes: downloading kind ${KIND_VERSION} into ${binDir} (checksum verified)`);
    expect(provider.choice.kind).toBe("kind");
    expect(await readdir(binDir)).toEqual(["kind"]);
  });

  it("a download that fails its checksum: its error, and nothing left behind", async () => {
    const { offerIo } = io(false, undefined, "0".repeat(64));
    await expect(select(kindOffer("dev", true, offerIo))).rejects.toMatchObject({
      kind: "download",
      message: expect.stringContaining("does not match its pinned checksum"),
    });
    expect(await readdir(binDir)).toEqual([]);
  });
});
