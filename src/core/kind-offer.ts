/**
 * Onboarding in one command (issue #13): when the cluster would be kind and kind is not
 * installed, `mlkube dev` and `mlkube up` may install the pinned kind that `doctor --fix` installs
 * and go on. A binary appears on the user's machine only with their consent: a person at a
 * terminal is asked, --yes is consent given in advance (scripts, CI), and anything else stops with
 * the error that names both ways to get kind.
 */
import { INSTALL_KIND_HINT, type ProviderDecision } from "./provider-choice.js";

/** Why kind is needed: the error to show when it is not installed. */
export interface KindNeed {
  message: string;
  hint: string;
}

/** What is missing, if the choice is kind (or would be, once installed) and kind is not installed. */
export function missingKind(decision: ProviderDecision, installed: { kind: boolean }): KindNeed | undefined {
  if ("error" in decision) return decision.wantsKind ? { message: decision.error, hint: decision.hint } : undefined;
  if (decision.kind !== "kind" || installed.kind) return undefined;
  return { message: `kind is not installed, and the cluster is a kind cluster because ${decision.reason}.`, hint: `${INSTALL_KIND_HINT}.` };
}

type KindOfferAction = "install" | "ask" | "refuse";

/** --yes installs without asking; a terminal both ways gets the question; without either, no install. */
export function kindOfferAction(how: { yes: boolean; terminal: boolean }): KindOfferAction {
  if (how.yes) return "install";
  return how.terminal ? "ask" : "refuse";
}

/** The error when kind stays uninstalled: the need's own words, plus the --yes that would have installed it. */
export function kindRefusal(need: KindNeed, command: string, declined: boolean): KindNeed {
  const yes = `Add --yes ('mlkube ${command} --yes') to install it and go on without being asked.`;
  return declined
    ? { message: `${need.message} You declined installing kind; nothing was installed.`, hint: `${yes} ${need.hint}` }
    : { message: need.message, hint: `${yes} ${need.hint}` };
}
