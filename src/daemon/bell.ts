/**
 * A wake-up signal from parts built early (runner, executors) to parts started late (the outbox
 * services): listeners register once they exist, so nothing holds a reference to a part not yet
 * built. A ring before any listener is harmless: the services read the outbox when they start.
 */
export class Bell<T = void> {
  private readonly listeners: ((value: T) => void)[] = [];

  listen(listener: (value: T) => void): void {
    this.listeners.push(listener);
  }

  ring(value: T): void {
    for (const listener of this.listeners) listener(value);
  }
}
