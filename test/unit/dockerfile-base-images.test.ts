import { describe, expect, it } from "vitest";
import { baseImages } from "../../src/adapters/docker/dockerfile-check.js";

describe("the base images a Dockerfile needs", () => {
  it("substitutes ARGs declared before FROM, --build-arg first", () => {
    const text = "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nRUN true\n";
    expect(baseImages(text)).toEqual(["python:3.11-slim"]);
    expect(baseImages(text, { BASE_IMAGE: "mlkube-test/python-sklearn:bookworm-2" })).toEqual(["mlkube-test/python-sklearn:bookworm-2"]);
  });

  it("leaves out scratch and earlier stages, keeps each image once, skips flags", () => {
    const text = [
      "ARG TAG",
      "FROM --platform=linux/amd64 golang:$TAG AS build",
      "FROM scratch AS empty",
      "FROM ${DISTRO:-debian}:bookworm",
      "COPY --from=build /out /out",
      "FROM build",
      "FROM golang:$TAG",
    ].join("\n");
    expect(baseImages(text, { TAG: "1.22" })).toEqual(["golang:1.22", "debian:bookworm"]);
  });
});
