/**
 * Holds the dev loop's state. dispatch() applies the reducer at once; subscribers hear about it
 * once per burst of dispatches (a microtask later), so a flood of progress actions costs one
 * render and one planning pass, not one each.
 */
export class Store<S, A> {
  private state: S;
  private readonly listeners = new Set<(state: S) => void>();
  private notifyScheduled = false;

  constructor(initial: S, private readonly reducer: (state: S, action: A) => S) {
    this.state = initial;
  }

  getState(): S {
    return this.state;
  }

  dispatch(action: A): void {
    const next = this.reducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      for (const listener of [...this.listeners]) listener(this.state);
    });
  }

  subscribe(listener: (state: S) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** For the diagnostics event: a count that keeps rising is a subscription never undone. */
  get subscriberCount(): number {
    return this.listeners.size;
  }
}
