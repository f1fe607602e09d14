import { describe, expect, it } from "vitest";
import { diskCheck, doctorExitCode, inotifyCheck, proxyCheck } from "../../src/core/doctor.js";

describe("inotify limits", () => {
  it.each([
    {
      limits: { maxUserWatches: 524288, maxUserInstances: 512 },
      status: "ok",
      detail: "inotify max_user_watches 524288, max_user_instances 512",
      fix: undefined,
    },
    {
      limits: { maxUserWatches: 8192, maxUserInstances: 512 },
      status: "warn",
      detail: "max_user_watches is 8192 (below 65536: watching a large model directory fails)",
      fix: "sudo sysctl -w fs.inotify.max_user_watches=524288 && printf 'fs.inotify.max_user_watches=524288\\n' | sudo tee /etc/sysctl.d/99-mlkube.conf",
    },
    {
      limits: { maxUserWatches: 65536, maxUserInstances: 128 },
      status: "warn",
      detail: 'max_user_instances is 128 (below 512: kind\'s pods fail with "too many open files")',
      fix: "sudo sysctl -w fs.inotify.max_user_instances=512 && printf 'fs.inotify.max_user_instances=512\\n' | sudo tee /etc/sysctl.d/99-mlkube.conf",
    },
    {
      limits: { maxUserWatches: 8192, maxUserInstances: 128 },
      status: "warn",
      detail: expect.stringMatching(/^max_user_watches is 8192 .*; max_user_instances is 128 /),
      fix: "sudo sysctl -w fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 && printf 'fs.inotify.max_user_watches=524288\\nfs.inotify.max_user_instances=512\\n' | sudo tee /etc/sysctl.d/99-mlkube.conf",
    },
  ])("$limits.maxUserWatches watches, $limits.maxUserInstances instances: $status", ({ limits, status, detail, fix }) => {
    expect(inotifyCheck("linux", limits)).toEqual({ name: "watch", status, detail, ...(fix ? { fix } : {}) });
  });

  it("has nothing to check off Linux, and says so when /proc is hidden", () => {
    expect(inotifyCheck("darwin", undefined)).toMatchObject({ status: "ok", detail: "darwin has no inotify limits to check" });
    expect(inotifyCheck("linux", undefined)).toMatchObject({ status: "warn", detail: expect.stringContaining("cannot read /proc/sys/fs/inotify") });
  });
});

describe("proxy variables", () => {
  it.each([
    { env: {}, status: "ok", detail: "no proxy variables set", fix: undefined },
    {
      env: { HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "localhost,127.0.0.1,.corp" },
      status: "ok",
      detail: "HTTPS_PROXY set; NO_PROXY covers 127.0.0.1 and localhost",
      fix: undefined,
    },
    {
      env: { http_proxy: "http://proxy:3128", no_proxy: "*" },
      status: "ok",
      detail: "http_proxy set; no_proxy covers 127.0.0.1 and localhost",
      fix: undefined,
    },
    {
      env: { HTTP_PROXY: "http://p:1", NO_PROXY: "localhost, 127.0.0.0/8" },
      status: "ok",
      detail: "HTTP_PROXY set; NO_PROXY covers 127.0.0.1 and localhost",
      fix: undefined,
    },
    {
      env: { HTTPS_PROXY: "http://proxy:3128" },
      status: "warn",
      detail: "HTTPS_PROXY set, but no_proxy lacks 127.0.0.1 and localhost: calls to the local registry and the model would go to the proxy",
      fix: 'export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"',
    },
    {
      env: { HTTP_PROXY: "http://p:1", HTTPS_PROXY: "http://p:1", NO_PROXY: "localhost,.corp" },
      status: "warn",
      detail: "HTTP_PROXY, HTTPS_PROXY set, but NO_PROXY lacks 127.0.0.1: calls to the local registry and the model would go to the proxy",
      fix: 'export NO_PROXY="localhost,.corp,127.0.0.1" no_proxy="localhost,.corp,127.0.0.1"',
    },
    { env: { HTTPS_PROXY: "  " }, status: "ok", detail: "no proxy variables set", fix: undefined },
  ])("$env", ({ env, status, detail, fix }) => {
    expect(proxyCheck(env)).toEqual({ name: "proxy", status, detail, ...(fix ? { fix } : {}) });
  });
});

describe("free disk", () => {
  it.each([
    [50e9, "ok"],
    [10e9, "ok"],
    [9.9e9, "warn"],
    [2e9, "warn"],
    [1.5e9, "fail"],
  ])("%d bytes free: %s", (free, status) => {
    const check = diskCheck("/var/lib/docker", "Docker's data root", free);
    expect(check.status).toBe(status);
    expect(check.detail).toMatch(new RegExp(`^${(free / 1e9).toFixed(1)} GB free on /var/lib/docker \\(Docker's data root\\)`));
    if (status !== "ok") expect(check.fix).toMatch(/^docker system prune/);
  });
});

it("exits 1 only when a check fails", () => {
  expect(
    doctorExitCode([
      { name: "a", status: "ok", detail: "" },
      { name: "b", status: "warn", detail: "" },
      { name: "c", status: "skip", detail: "" },
    ]),
  ).toBe(0);
  expect(
    doctorExitCode([
      { name: "a", status: "ok", detail: "" },
      { name: "b", status: "fail", detail: "" },
    ]),
  ).toBe(1);
});
