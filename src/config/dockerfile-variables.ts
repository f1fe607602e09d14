/**
 * Variable substitution as the Dockerfile frontend does it in FROM, EXPOSE, WORKDIR, COPY and ADD:
 * substitutes $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative}. Undefined when a variable
 * without a default has no value: then the result would be a guess.
 */
export function expand(text: string | null, lookup: (name: string) => string | undefined): string | undefined {
  if (text === null) return undefined;
  let unresolved = false;
  const result = text.replace(
    /\$(?:\{([A-Za-z_]\w*)(?::?([-+])([^}]*))?\}|([A-Za-z_]\w*))/g,
    (_match, braced?: string, modifier?: string, word?: string, bare?: string) => {
      const value = lookup(braced ?? bare ?? "");
      const isSet = value !== undefined && value !== "";
      if (modifier === "-") return isSet ? value : (word ?? "");
      if (modifier === "+") return isSet ? (word ?? "") : "";
      if (value === undefined) unresolved = true;
      return value ?? "";
    },
  );
  return unresolved ? undefined : result;
}
