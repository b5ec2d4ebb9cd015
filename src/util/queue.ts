/**
 * An unbounded async queue: producers push synchronously (e.g. from a bus subscriber), one consumer
 * iterates with `for await`. `close()` ends the iteration after the buffered items.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = []
  private waiter: ((result: IteratorResult<T>) => void) | null = null
  private closed = false

  push(item: T) {
    if (this.closed) return
    if (this.waiter) {
      const resolve = this.waiter
      this.waiter = null
      resolve({ value: item, done: false })
    } else this.items.push(item)
  }

  close() {
    this.closed = true
    if (this.waiter) {
      const resolve = this.waiter
      this.waiter = null
      resolve({ value: undefined, done: true })
    }
  }

  get size() {
    return this.items.length
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false })
        if (this.closed) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => {
          this.waiter = resolve
        })
      },
      return: () => {
        this.close()
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }
}
