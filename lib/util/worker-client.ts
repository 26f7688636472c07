import { parentPort, Worker } from 'node:worker_threads';
import { errorMessage } from './errors';

/**
 * A worker thread that answers each message, in the order they were sent (the parallel training
 * step's replicas, the feature-extraction workers): the main thread's side (`WorkerClient`) and
 * the worker's (`serveInOrder`). An exception in the worker comes back as an error of the same
 * class and name (a RangeError stays a RangeError, a wasm RuntimeError keeps its name), so the
 * caller recognises it as it would the original, out-of-memory errors included
 * (lib/util/out-of-memory.ts). An idle worker does not keep Node alive.
 */
export interface ErrorReply {
  kind: 'error';
  name: string;
  message: string;
  stack?: string | undefined;
}

/** The error a worker reported, rebuilt on this side with `label` before its message. */
export function workerError(label: string, r: ErrorReply): Error {
  const message = `${label}: ${r.message}`;
  const e =
    r.name === 'RangeError'
      ? new RangeError(message)
      : r.name === 'TypeError'
        ? new TypeError(message)
        : new Error(message);
  e.name = r.name;
  if (r.stack) e.stack = `${label}: ${r.stack}`;
  return e;
}

export class WorkerClient<Message, Reply extends { kind: string }> {
  readonly thread: Worker;
  /** One resolver per message sent, in order. */
  private readonly pending: { resolve(r: Reply): void; reject(e: Error): void }[] = [];
  private failure: Error | null = null;

  constructor(
    file: string,
    private readonly label: string,
  ) {
    this.thread = new Worker(file);
    this.thread.on('message', (r: Reply | ErrorReply) => {
      const p = this.pending.shift();
      if (this.pending.length === 0) this.thread.unref();
      if (r.kind === 'error') p?.reject(workerError(this.label, r as ErrorReply));
      else p?.resolve(r as Reply);
    });
    this.thread.on('error', (e) => this.fail(e));
    this.thread.on('exit', (code) => this.fail(new Error(`${this.label} exited (${code})`)));
    this.thread.unref();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  /** Sends `message`; resolves with the worker's reply. The thread keeps Node alive meanwhile. */
  ask(message: Message, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.thread.ref();
      this.thread.postMessage(message, transfer);
    });
  }

  async close(): Promise<void> {
    await this.thread.terminate();
  }
}

/**
 * The worker's side: `handle` runs for each message after the previous one has finished; its
 * reply is posted (with the buffers to transfer), an exception as an ErrorReply.
 */
export function serveInOrder<Message>(
  script: string,
  handle: (m: Message) => Promise<{ reply: unknown; transfer?: ArrayBuffer[] }>,
): void {
  const port = parentPort;
  if (!port) throw new Error(`${script} runs only as a worker thread`);
  let queue = Promise.resolve();
  port.on('message', (m: Message) => {
    queue = queue.then(async () => {
      try {
        const { reply, transfer } = await handle(m);
        port.postMessage(reply, transfer ?? []);
      } catch (e) {
        const reply: ErrorReply = {
          kind: 'error',
          name: e instanceof Error ? e.name : 'Error',
          message: errorMessage(e),
          stack: e instanceof Error ? e.stack : undefined,
        };
        port.postMessage(reply);
      }
    });
  });
}
