/** Text minikube prints: shell scripts for docker-env, tablewriter tables, docker's -p syntax. */
import type { PortMapping } from "../nodes.js";
import { UsageError } from "./args.js";

/** pkg/minikube/shell: how each shell sets and unsets a variable ("none" is plain NAME=value). */
const SHELLS = {
  none: { prefix: "", delimiter: "=", suffix: "\n", unset: (name: string) => `${name}\n`, hint: () => "" },
  fish: {
    prefix: "set -gx ",
    delimiter: ' "',
    suffix: '";\n',
    unset: (name: string) => `set -e ${name};\n`,
    hint: (command: string) => `\n# To point your shell to minikube's docker-daemon, run:\n# ${command} | source\n`,
  },
  bash: {
    prefix: "export ",
    delimiter: '="',
    suffix: '"\n',
    unset: (name: string) => `unset ${name};\n`,
    hint: (command: string) => `\n# To point your shell to minikube's docker-daemon, run:\n# eval $(${command})\n`,
  },
};

function syntax(shell: string): (typeof SHELLS)["bash"] {
  return shell === "none" || shell === "fish" ? SHELLS[shell] : SHELLS.bash;
}

export function setScript(shell: string, values: [string, string][], usage: string): string {
  const style = syntax(shell);
  return values.map(([name, value]) => `${style.prefix}${name}${style.delimiter}${value}${style.suffix}`).join("") + style.hint(usage);
}

export function unsetScript(shell: string, names: string[]): string {
  return names.map(syntax(shell).unset).join("");
}

/** docker -p syntax, which minikube passes through for --ports: [ip:][hostPort:]containerPort[/proto]. */
export function parsePublish(spec: string): PortMapping {
  const [ports = "", proto = "tcp"] = spec.split("/");
  const parts = ports.split(":");
  const containerPort = Number(parts.at(-1));
  const hostPort = parts.length >= 2 ? Number(parts.at(-2) || 0) : 0;
  const listenAddress = parts.length === 3 ? (parts[0] as string) : "0.0.0.0";
  if (!Number.isInteger(containerPort) || containerPort <= 0) throw new UsageError(`invalid argument "${spec}" for "--ports" flag`);
  return { containerPort, hostPort, listenAddress, protocol: proto.toUpperCase() as PortMapping["protocol"] };
}

/** tablewriter's bordered layout, as minikube renders profile and service lists. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)) + 2);
  const rule = `|${widths.map((width) => "-".repeat(width)).join("|")}|\n`;
  const center = (text: string, width: number): string => {
    const left = Math.floor((width - text.length) / 2);
    return `${" ".repeat(left)}${text}${" ".repeat(width - text.length - left)}`;
  };
  const line = (cells: string[], align: (text: string, width: number) => string): string =>
    `|${cells.map((cell, column) => align(cell, widths[column] as number)).join("|")}|\n`;
  return rule + line(header, center) + rule + rows.map((row) => line(row, (text, width) => ` ${text.padEnd(width - 1)}`)).join("") + rule;
}
