/** What the numbers were measured on: a benchmark without its machine is not a result. */
import { execFileSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  ramGb: number;
  kernel: string;
  docker: string;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadAverage: number;
  description: string;
}

export function describeMachine(): Machine {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  let docker = "unknown";
  try {
    docker = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim();
  } catch {
    // Reported as unknown; the run itself will fail loudly without an engine.
  }
  const machine = {
    cpu,
    cores: cpus().length,
    ramGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `Linux ${release()}`,
    docker,
    node: process.version,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
  return {
    ...machine,
    description: `${machine.cpu}, ${machine.cores} cores, ${machine.ramGb} GB RAM, ${machine.kernel}, Docker ${machine.docker}, Node.js ${machine.node}`,
  };
}
