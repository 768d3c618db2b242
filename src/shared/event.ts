/** VS Code-style events: `onDidX(listener)` returns a Disposable that removes the listener. */
export interface Disposable {
  dispose(): void
}

export type Event<T> = (listener: (value: T) => void) => Disposable

export class Emitter<T> implements Disposable {
  private listeners = new Set<(value: T) => void>()

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener)
    return { dispose: () => this.listeners.delete(listener) }
  }

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value)
      } catch {
        // One failing listener must not stop the others or the operation that fired.
      }
    }
  }

  dispose(): void {
    this.listeners.clear()
  }
}
