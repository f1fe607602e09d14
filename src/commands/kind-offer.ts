import { createInterface } from "node:readline/promises";
import type { PinnedDownload } from "../adapters/tools/download.js";
import { installPinnedKind } from "../adapters/tools/install-kind.js";
import { KIND_VERSION } from "../adapters/tools/kind-release.js";
import { kindOfferAction, kindRefusal, type KindNeed } from "../core/kind-offer.js";
import { isAbortError, UserError } from "../errors.js";

/** How the offer talks to the user; tests pass their own. */
export interface KindOfferIo {
  /** stdin and stdout are both a terminal: someone is there to answer. */
  terminal: boolean;
  /** Asks a yes/no question; true for yes. */
  confirm(question: string): Promise<boolean>;
  /** One line of progress, on stderr: stdout may be --json's event stream. */
  say(line: string): void;
  platform: NodeJS.Platform;
  /** The binary to install; by default the pinned release for this platform. */
  release?: PinnedDownload | undefined;
}

/**
 * The `offerKind` of selectProvider for `mlkube COMMAND`: installs the pinned kind when the user
 * agrees or passed --yes (core/kind-offer.ts decides), else throws the error naming
 * `mlkube doctor --fix` and --yes. Asked before the dev UI starts, as a plain terminal question.
 */
export function kindOffer(command: string, yes: boolean, io: KindOfferIo = terminalIo()): (need: KindNeed, binDir: string) => Promise<void> {
  return async (need, binDir) => {
    const action = kindOfferAction({ yes, terminal: io.terminal });
    if (action === "refuse") throw refusal(need, command, false);
    if (action === "ask" && !(await io.confirm(`kind is not installed. Install kind ${KIND_VERSION} (checksum verified) into ${binDir} now? [Y/n] `))) {
      throw refusal(need, command, true);
    }
    io.say(`${action === "install" ? "kind is not installed; --yes: " : ""}downloading kind ${KIND_VERSION} into ${binDir} (checksum verified)`);
    const destination = await installPinnedKind({ binDir, platform: io.platform, release: io.release });
    io.say(`installed kind ${KIND_VERSION} at ${destination} (sha256 verified)`);
  };
}

function refusal(need: KindNeed, command: string, declined: boolean): UserError {
  const { message, hint } = kindRefusal(need, command, declined);
  return new UserError("missing-tool", message, { hint });
}

function terminalIo(): KindOfferIo {
  return {
    terminal: process.stdin.isTTY === true && process.stdout.isTTY === true,
    confirm: (question) => confirm(question, process.stdin, process.stdout),
    say: (line) => process.stderr.write(`${line}\n`),
    platform: process.platform,
  };
}

/** A [Y/n] question: an empty answer is yes; Ctrl+C and Ctrl+D are no (readline alone would wait forever). */
export async function confirm(question: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<boolean> {
  const prompt = createInterface({ input, output });
  const stop = new AbortController();
  prompt.on("SIGINT", () => stop.abort());
  prompt.on("close", () => stop.abort());
  try {
    return /^(y(es)?)?$/i.test((await prompt.question(question, { signal: stop.signal })).trim());
  } catch (error) {
    if (!isAbortError(error)) throw error;
    output.write("\n");
    return false;
  } finally {
    prompt.close();
  }
}
