import type { V1Endpoints } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { routingOf } from "../../src/adapters/kube/service-endpoints.js";

const address = (pod: string) => ({ ip: "10.244.0.9", targetRef: { kind: "Pod", name: pod } });
const endpoints = (ready: string[], notReady: string[] = []): V1Endpoints => ({
  subsets: [{ addresses: ready.map(address), notReadyAddresses: notReady.map(address), ports: [{ port: 5000 }] }],
});
const NEW_PODS = ["iris-7d9f8c6b5-abcde", "iris-7d9f8c6b5-fghij"];

describe("whether a Service sends traffic only to the new version's pods", () => {
  it.each([
    { case: "only new pods ready", value: endpoints(["iris-7d9f8c6b5-abcde"]), settled: true, others: [] },
    { case: "an old pod still ready", value: endpoints(["iris-7d9f8c6b5-abcde", "iris-5c4b3a291-zzzzz"]), settled: false, others: ["iris-5c4b3a291-zzzzz"] },
    { case: "the old pod terminating (not ready) only", value: endpoints(["iris-7d9f8c6b5-abcde"], ["iris-5c4b3a291-zzzzz"]), settled: true, others: [] },
    { case: "no ready address yet", value: endpoints([], ["iris-7d9f8c6b5-abcde"]), settled: false, others: [] },
    { case: "no subsets at all", value: {}, settled: false, others: [] },
    { case: "a ready address that is not a pod", value: { subsets: [{ addresses: [{ ip: "10.0.0.1" }] }] }, settled: false, others: ["10.0.0.1"] },
    // A pod of the same ReplicaSet that is not among the ready new pods we tested is not verified.
    {
      case: "a new-version pod that was not tested",
      value: endpoints(["iris-7d9f8c6b5-abcde", "iris-7d9f8c6b5-zzzzz"]),
      settled: false,
      others: ["iris-7d9f8c6b5-zzzzz"],
    },
  ])("$case: settled=$settled", ({ value, settled, others }) => {
    expect(routingOf(value, NEW_PODS)).toEqual({ settled, others });
  });
});
