import type { V1Endpoints } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { servesOnly } from "../../src/adapters/kube/service-endpoints.js";

const address = (pod: string) => ({ ip: "10.244.0.9", targetRef: { kind: "Pod", name: pod } });
const endpoints = (ready: string[], notReady: string[] = []): V1Endpoints => ({
  subsets: [{ addresses: ready.map(address), notReadyAddresses: notReady.map(address), ports: [{ port: 5000 }] }],
});
const NEW = "iris-7d9f8c6b5-";

describe("whether a Service sends traffic only to the new ReplicaSet's pods", () => {
  it.each([
    { case: "only new pods ready", value: endpoints(["iris-7d9f8c6b5-abcde"]), expected: true },
    { case: "an old pod still ready", value: endpoints(["iris-7d9f8c6b5-abcde", "iris-5c4b3a291-zzzzz"]), expected: false },
    { case: "the old pod terminating (not ready) only", value: endpoints(["iris-7d9f8c6b5-abcde"], ["iris-5c4b3a291-zzzzz"]), expected: true },
    { case: "no ready address yet", value: endpoints([], ["iris-7d9f8c6b5-abcde"]), expected: false },
    { case: "no subsets at all", value: {}, expected: false },
    { case: "a ready address that is not a pod", value: { subsets: [{ addresses: [{ ip: "10.0.0.1" }] }] }, expected: false },
  ])("$case: $expected", ({ value, expected }) => {
    expect(servesOnly(value, NEW)).toBe(expected);
  });
});
