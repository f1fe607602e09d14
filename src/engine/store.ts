/**
 * Holds the dev loop's state. dispatch() applies the reducer at once; subscribers hear about it
 * once per burst of dispatches (a microtask later), so a flood of progress actions costs one
 * render and one planning pass, not one each. Action listeners hear every action that changed
 * the state, at once, with the state before and after it: the event stream is made from those.
 */
export class Store<S, A> {
  private state: S;
  private readonly listeners = new Set<(state: S) => void>();
  private readonly actionListeners = new Set<(action: A, before: S, after: S) => void>();
  private notifyScheduled = false;

  constructor(
    initial: S,
    private readonly reducer: (state: S, action: A) => S,
  ) {
    this.state = initial;
  }

  getState(): S {
    return this.state;
  }

  dispatch(action: A): void {
    const before = this.state;
    const next = this.reducer(before, action);
    if (next === before) return;
    this.state = next;
    for (const listener of [...this.actionListeners]) listener(action, before, next);
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

  onAction(listener: (action: A, before: S, after: S) => void): () => void {
    this.actionListeners.add(listener);
    return () => this.actionListeners.delete(listener);
  }

  /** For the diagnostics event: a count that keeps rising is a subscription never undone. */
  get subscriberCount(): number {
    return this.listeners.size + this.actionListeners.size;
  }
}
