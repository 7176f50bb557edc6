/** Resources register their own cleanup; run() undoes them in reverse order, once. */
export class CleanupStack {
  private readonly steps: { name: string; run: () => unknown }[] = [];
  private done: Promise<void> | null = null;

  push(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }

  run(onError: (name: string, err: unknown) => void): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (err) {
          onError(step.name, err);
        }
      }
    })();
    return this.done;
  }
}
