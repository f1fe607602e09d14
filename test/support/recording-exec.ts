import type { Exec, ExecResult, ManagedProcess, Spawn } from "../../src/adapters/exec.js";
import { CommandFailedError } from "../../src/adapters/exec.js";

/** A scripted answer for one command line (matched by prefix of argv). */
interface ScriptedAnswer {
  argv: string[];
  stdout?: string;
  exitCode?: number;
}

/**
 * Stands in for the kind/minikube binaries, which cannot be installed on these machines: records
 * every argv mlkube passes and answers from a script. The simulator runs the same code paths
 * against stand-in executables; a real kind runs them in the opt-in e2e suite.
 */
export function recordingExec(script: ScriptedAnswer[] = []): { exec: Exec; spawn: Spawn; calls: string[][] } {
  const calls: string[][] = [];
  const answer = (file: string, args: readonly string[]): ExecResult => {
    const argv = [file, ...args];
    calls.push(argv);
    const match = script.find((entry) => entry.argv.every((part, index) => argv[index] === part));
    const exitCode = match?.exitCode ?? 0;
    if (exitCode !== 0) throw new CommandFailedError(argv.join(" "), exitCode, match?.stdout ?? "");
    return { stdout: match?.stdout ?? "", stderr: "", exitCode };
  };
  const exec: Exec = async (file, args) => answer(file, args);
  const spawn: Spawn = (file, args): ManagedProcess => {
    const result = answer(file, args);
    const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
    return {
      line: async (index) => lines[index] ?? Promise.reject(new Error(`${[file, ...args].join(" ")} printed no line ${index}`)),
      stop: async () => undefined,
    };
  };
  return { exec, spawn, calls };
}
