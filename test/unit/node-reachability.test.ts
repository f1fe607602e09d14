import { describe, expect, it } from "vitest";
import { remoteEngineOf, tunnelReason, type EngineFacts } from "../../src/core/node-reachability.js";

const linux: EngineFacts = { platform: "linux", isWsl: false, engineOs: "Debian GNU/Linux 12 (bookworm)", rootless: false, remoteEngine: undefined };

describe("does this machine need a tunnel to a minikube node (minikube's NeedsPortForward)", () => {
  it.each<[string, Partial<EngineFacts>, string | undefined]>([
    ["a local engine on Linux reaches the node IP", {}, undefined],
    ["macOS", { platform: "darwin" }, "Docker runs in a VM on this OS"],
    ["Windows", { platform: "win32" }, "Docker runs in a VM on this OS"],
    ["WSL", { isWsl: true }, "Docker runs outside WSL"],
    ["Docker Desktop for Linux", { engineOs: "Docker Desktop" }, "Docker Desktop runs the engine in a VM"],
    ["rootless Docker", { rootless: true }, "rootless Docker keeps the node in its own network namespace"],
    ["an engine on another host", { remoteEngine: "tcp://build-box:2376" }, "the Docker engine runs on another host (tcp://build-box:2376)"],
  ])("%s", (_name, facts, reason) => {
    expect(tunnelReason({ ...linux, ...facts })).toBe(reason);
  });

  it("counts tcp:// and ssh:// engines elsewhere as remote, and this machine's as local", () => {
    expect(remoteEngineOf("unix:///var/run/docker.sock")).toBeUndefined();
    expect(remoteEngineOf("tcp://127.0.0.1:2376")).toBeUndefined();
    expect(remoteEngineOf("tcp://localhost:2375")).toBeUndefined();
    expect(remoteEngineOf("tcp://[::1]:2375")).toBeUndefined();
    expect(remoteEngineOf("tcp://10.0.0.5:2376")).toBe("tcp://10.0.0.5:2376");
    expect(remoteEngineOf("ssh://me@build-box")).toBe("ssh://me@build-box");
  });
});
