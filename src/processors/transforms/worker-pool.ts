import { createInterface } from 'node:readline';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { TaskMessage, TaskReply } from './worker-protocol.js';

/**
 * A pool of worker threads shared by every transform of the process, one task at a time per
 * worker, with a deadline per task.
 *
 * Tasks carry a key (the transform's file). Keys take turns (round robin over the keys with
 * queued tasks), and no key can take every worker while another key is active: a key may use
 * `size - <other active keys>` workers, at least one, and only one while it is "suspect" (its
 * last task timed out or ended its worker) until one of its tasks succeeds again. So a hanging
 * transform holds at most one worker of a shared pool, and the others keep flowing.
 *
 * A task that misses its deadline has its worker terminated (the only way to stop a
 * `while (true) {}`) and replaced; a worker that dies (an uncaught error, `process.exit`,
 * out of memory) fails its task and is replaced. {@link retire} replaces every worker, letting
 * running tasks finish first: the way to drop every module a worker has loaded.
 */

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Most workers of the current generation (retired ones may still be finishing). */
  size: number;
  /** The worker script. */
  entry: URL;
  /** Deadline of every task, from its dispatch to its reply. */
  timeoutMs: number;
  resourceLimits: ResourceLimits;
  /** A line a worker wrote to its stdout or stderr, with the key of its task then (if any). */
  onOutput(line: string, stream: 'stdout' | 'stderr', key: string | undefined): void;
}

/** A task was not answered within the deadline; its worker was terminated. */
export class TaskTimeoutError extends Error {
  override name = 'TaskTimeoutError';
}

/** The worker running a task ended before answering. */
export class WorkerLostError extends Error {
  override name = 'WorkerLostError';
  /** How: out of memory, an error nothing caught, or an exit (`process.exit`). */
  readonly kind: 'out-of-memory' | 'uncaught-error' | 'exit';

  constructor(kind: WorkerLostError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

/** The pool was closed before the task was answered. */
export class PoolClosedError extends Error {
  override name = 'PoolClosedError';
}

/** How long a key counts as active after its last task, for sharing the workers. */
const ACTIVE_WINDOW_MS = 5_000;

interface Task<Request, Reply> {
  id: number;
  key: string;
  request: Request;
  transfer: readonly ArrayBuffer[];
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

interface PoolWorker<Request, Reply> {
  thread: Worker;
  /** False once retired or ended: takes no more tasks. */
  current: boolean;
  /** Ended or being terminated: its events are no longer news. */
  gone: boolean;
  task: Task<Request, Reply> | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The task's key, kept after it ends for output written late. */
  lastKey: string | undefined;
  /** The error the thread reported before its exit. */
  error: Error | undefined;
}

/** A pool of worker threads running tasks that are sent `Request`s and answer `Reply`s. */
export class WorkerPool<Request, Reply> {
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Set<PoolWorker<Request, Reply>>();
  /** Queued tasks per key; the map's order is the round robin's. */
  readonly #queues = new Map<string, Task<Request, Reply>[]>();
  readonly #running = new Map<string, number>();
  readonly #lastActive = new Map<string, number>();
  readonly #suspects = new Set<string>();
  #nextTaskId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!(options.size >= 1))
      throw new Error(`a worker pool needs at least 1 worker, got ${options.size}`);
    this.#options = options;
  }

  /**
   * Runs a task: `request` (with `transfer` moved, not copied) goes to a worker, whose reply
   * resolves the promise.
   *
   * @throws TaskTimeoutError, WorkerLostError, PoolClosedError, or a DataCloneError when
   *   `request` cannot be sent.
   */
  run(key: string, request: Request, transfer: readonly ArrayBuffer[] = []): Promise<Reply> {
    if (this.#closed) return Promise.reject(new PoolClosedError('the worker pool is closed'));
    return new Promise<Reply>((resolve, reject) => {
      const task = { id: this.#nextTaskId++, key, request, transfer, resolve, reject };
      const queue = this.#queues.get(key);
      if (queue === undefined) this.#queues.set(key, [task]);
      else queue.push(task);
      this.#lastActive.set(key, Date.now());
      this.#pump();
    });
  }

  /**
   * Retires every worker: idle ones end now, busy ones when their task is answered. Tasks from
   * now on run in fresh workers.
   */
  retire(): void {
    for (const worker of this.#workers) {
      worker.current = false;
      if (worker.task === undefined) this.#end(worker);
    }
    this.#pump();
  }

  /** Ends every worker; queued and running tasks fail with {@link PoolClosedError}. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new PoolClosedError('the worker pool was closed');
    for (const queue of this.#queues.values()) for (const task of queue) task.reject(closed);
    this.#queues.clear();
    const ending: Promise<number>[] = [];
    for (const worker of this.#workers) {
      const task = this.#release(worker);
      task?.reject(closed);
      worker.gone = true;
      ending.push(worker.thread.terminate());
    }
    this.#workers.clear();
    await Promise.allSettled(ending);
  }

  /** Workers that take tasks: neither retired nor ended. */
  #currentCount(): number {
    let count = 0;
    for (const worker of this.#workers) if (worker.current) count += 1;
    return count;
  }

  #isActive(key: string, now: number): boolean {
    return (
      (this.#running.get(key) ?? 0) > 0 ||
      this.#queues.has(key) ||
      now - (this.#lastActive.get(key) ?? -Infinity) < ACTIVE_WINDOW_MS
    );
  }

  /** How many workers `key` may use now. */
  #share(key: string, now: number): number {
    if (this.#suspects.has(key)) return 1;
    let others = 0;
    for (const other of this.#lastActive.keys()) {
      if (other !== key && this.#isActive(other, now)) others += 1;
    }
    return Math.max(1, this.#options.size - others);
  }

  /** The next key whose task may start now, in round-robin order. */
  #nextKey(): string | undefined {
    const now = Date.now();
    for (const key of this.#lastActive.keys()) {
      if (!this.#isActive(key, now)) this.#lastActive.delete(key);
    }
    for (const key of this.#queues.keys()) {
      if ((this.#running.get(key) ?? 0) < this.#share(key, now)) return key;
    }
    return undefined;
  }

  #idleWorker(): PoolWorker<Request, Reply> | undefined {
    for (const worker of this.#workers) {
      if (worker.current && worker.task === undefined) return worker;
    }
    return undefined;
  }

  /** Starts queued tasks while a worker (idle, or one more to spawn) can take them. */
  #pump(): void {
    while (!this.#closed) {
      const key = this.#nextKey();
      if (key === undefined) return;
      const worker =
        this.#idleWorker() ??
        (this.#currentCount() < this.#options.size ? this.#spawn() : undefined);
      if (worker === undefined) return;
      const queue = this.#queues.get(key) as Task<Request, Reply>[];
      const task = queue.shift() as Task<Request, Reply>;
      // To the back of the round robin; gone when empty.
      this.#queues.delete(key);
      if (queue.length > 0) this.#queues.set(key, queue);
      this.#start(worker, task);
    }
  }

  #start(worker: PoolWorker<Request, Reply>, task: Task<Request, Reply>): void {
    const message: TaskMessage<Request> = { taskId: task.id, request: task.request };
    try {
      worker.thread.postMessage(message, task.transfer);
    } catch (error) {
      task.reject(error as Error);
      return;
    }
    worker.task = task;
    worker.lastKey = task.key;
    this.#running.set(task.key, (this.#running.get(task.key) ?? 0) + 1);
    worker.thread.ref();
    worker.timer = setTimeout(() => this.#timedOut(worker), this.#options.timeoutMs);
  }

  /** Detaches the running task from `worker`, if any, and returns it. */
  #release(worker: PoolWorker<Request, Reply>): Task<Request, Reply> | undefined {
    const task = worker.task;
    clearTimeout(worker.timer);
    worker.timer = undefined;
    worker.task = undefined;
    if (task !== undefined) {
      const running = (this.#running.get(task.key) ?? 1) - 1;
      if (running > 0) this.#running.set(task.key, running);
      else this.#running.delete(task.key);
      this.#lastActive.set(task.key, Date.now());
    }
    return task;
  }

  #end(worker: PoolWorker<Request, Reply>): void {
    worker.current = false;
    worker.gone = true;
    this.#workers.delete(worker);
    // Its exit needs no waiting for; a thread that will not stop is the runtime's problem.
    void worker.thread.terminate();
  }

  #replied(worker: PoolWorker<Request, Reply>, message: TaskReply<Reply>): void {
    if (worker.gone || worker.task?.id !== message.taskId) return;
    const task = this.#release(worker) as Task<Request, Reply>;
    this.#suspects.delete(task.key);
    if (worker.current) worker.thread.unref();
    else this.#end(worker);
    task.resolve(message.reply);
    this.#pump();
  }

  #timedOut(worker: PoolWorker<Request, Reply>): void {
    const task = this.#release(worker);
    this.#end(worker);
    if (task !== undefined) {
      this.#suspects.add(task.key);
      task.reject(
        new TaskTimeoutError(
          `no answer within ${this.#options.timeoutMs} ms; its worker was stopped`,
        ),
      );
    }
    this.#pump();
  }

  #exited(worker: PoolWorker<Request, Reply>, exitCode: number): void {
    if (worker.gone) return;
    const task = this.#release(worker);
    this.#end(worker);
    if (task !== undefined) {
      this.#suspects.add(task.key);
      task.reject(lostError(worker.error, exitCode, this.#options.resourceLimits));
    }
    this.#pump();
  }

  #spawn(): PoolWorker<Request, Reply> {
    const thread = new Worker(this.#options.entry, {
      resourceLimits: this.#options.resourceLimits,
      stdout: true,
      stderr: true,
    });
    const worker: PoolWorker<Request, Reply> = {
      thread,
      current: true,
      gone: false,
      task: undefined,
      timer: undefined,
      lastKey: undefined,
      error: undefined,
    };
    thread.on('message', (message: TaskReply<Reply>) => this.#replied(worker, message));
    thread.on('error', (error: Error) => {
      worker.error = error;
    });
    thread.on('exit', (exitCode: number) => this.#exited(worker, exitCode));
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: thread[stream], crlfDelay: Infinity }).on('line', (line: string) =>
        this.#options.onOutput(line, stream, worker.task?.key ?? worker.lastKey),
      );
    }
    this.#workers.add(worker);
    return worker;
  }
}

/** Why a worker ended, from the error it reported (if any) and its exit code. */
function lostError(
  error: Error | undefined,
  exitCode: number,
  limits: ResourceLimits,
): WorkerLostError {
  if ((error as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new WorkerLostError(
      'out-of-memory',
      `it ran out of memory (the limit is ${limits.maxOldGenerationSizeMb ?? '?'} MB of JavaScript heap) and its worker was stopped`,
    );
  }
  if (error !== undefined) {
    return new WorkerLostError(
      'uncaught-error',
      `an error nothing caught ended its worker: ${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`,
    );
  }
  return new WorkerLostError(
    'exit',
    `it ended its worker (exit code ${exitCode}) before answering`,
  );
}
