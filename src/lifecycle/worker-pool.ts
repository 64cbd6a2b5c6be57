import { createInterface } from 'node:readline';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * A pool of worker threads, one task at a time per worker, with a deadline per task: the
 * transform host's (shared by every transform of the process) and the Parquet encoder's. A
 * worker answers each {@link TaskMessage} with a {@link TaskReply} of the same `taskId`.
 *
 * A key that has the pool to itself may queue a second task in a worker behind its running one
 * (the worker runs them one after the other): the worker starts the next as soon as it answers
 * the first, instead of idling until the main thread — which may be collecting garbage or
 * serving requests — reads the answer and sends more. Only the running task's deadline runs;
 * the queued one's starts when it does.
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

/** The pool's envelope around a request. */
export interface TaskMessage<Request> {
  taskId: number;
  request: Request;
}

/** The pool's envelope around a reply. */
export interface TaskReply<Reply> {
  taskId: number;
  reply: Reply;
}

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

/**
 * The task was queued in a worker behind a task that timed out or ended the worker: it never
 * started, and can be run again as it is (its transferred buffers are gone with the worker).
 */
export class TaskNotStartedError extends Error {
  override name = 'TaskNotStartedError';
}

/** The pool was closed before the task was answered. */
export class PoolClosedError extends Error {
  override name = 'PoolClosedError';
}

/** How long a key counts as active after its last task, for sharing the workers. */
const ACTIVE_WINDOW_MS = 5_000;
/** Most tasks in one worker at once: the running one and one queued behind it. */
const TASKS_PER_WORKER = 2;

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
  /** Tasks sent to it, in order: the first is running, the others wait in the worker. */
  tasks: Task<Request, Reply>[];
  /** The running task's deadline. */
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
  /** Tasks sent to workers (running or queued there), per key. */
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
      if (worker.tasks.length === 0) this.#end(worker);
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
      for (const task of this.#releaseAll(worker)) task.reject(closed);
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

  /**
   * Where `key`'s next task may go now: an idle worker, a new one, or (the key alone in the pool
   * and not suspect) a worker running its task with room for one more; `undefined` if nowhere.
   */
  #placeFor(key: string, now: number): PoolWorker<Request, Reply> | 'spawn' | undefined {
    const share = this.#share(key, now);
    let occupied = 0;
    let idle: PoolWorker<Request, Reply> | undefined;
    let roomBehind: PoolWorker<Request, Reply> | undefined;
    for (const worker of this.#workers) {
      const head = worker.tasks[0];
      if (head === undefined) {
        if (worker.current) idle ??= worker;
      } else if (head.key === key) {
        occupied += 1;
        if (worker.current && worker.tasks.length < TASKS_PER_WORKER) roomBehind ??= worker;
      }
    }
    if (occupied < share) {
      if (idle !== undefined) return idle;
      if (this.#currentCount() < this.#options.size) return 'spawn';
    }
    // Queued behind its own task only: another key's task never waits on this one's.
    const alone = share === this.#options.size && !this.#suspects.has(key);
    return alone ? roomBehind : undefined;
  }

  /** Sends queued tasks, round robin over the keys, while any can go somewhere. */
  #pump(): void {
    while (!this.#closed) {
      const now = Date.now();
      for (const key of this.#lastActive.keys()) {
        if (!this.#isActive(key, now)) this.#lastActive.delete(key);
      }
      let sent = false;
      for (const [key, queue] of this.#queues) {
        const place = this.#placeFor(key, now);
        if (place === undefined) continue;
        const task = queue.shift() as Task<Request, Reply>;
        // To the back of the round robin; gone when empty.
        this.#queues.delete(key);
        if (queue.length > 0) this.#queues.set(key, queue);
        this.#send(place === 'spawn' ? this.#spawn() : place, task);
        sent = true;
        break;
      }
      if (!sent) return;
    }
  }

  #send(worker: PoolWorker<Request, Reply>, task: Task<Request, Reply>): void {
    const message: TaskMessage<Request> = { taskId: task.id, request: task.request };
    try {
      worker.thread.postMessage(message, task.transfer);
    } catch (error) {
      task.reject(error as Error);
      return;
    }
    worker.tasks.push(task);
    worker.lastKey = task.key;
    this.#running.set(task.key, (this.#running.get(task.key) ?? 0) + 1);
    worker.thread.ref();
    if (worker.tasks.length === 1) this.#startDeadline(worker);
  }

  /** Starts the deadline of `worker`'s running task. */
  #startDeadline(worker: PoolWorker<Request, Reply>): void {
    worker.timer = setTimeout(() => this.#timedOut(worker), this.#options.timeoutMs);
  }

  /** Counts `task` as no longer in a worker. */
  #forget(task: Task<Request, Reply>): void {
    const running = (this.#running.get(task.key) ?? 1) - 1;
    if (running > 0) this.#running.set(task.key, running);
    else this.#running.delete(task.key);
    this.#lastActive.set(task.key, Date.now());
  }

  /** Detaches every task from `worker` (the running one first) and returns them. */
  #releaseAll(worker: PoolWorker<Request, Reply>): Task<Request, Reply>[] {
    clearTimeout(worker.timer);
    worker.timer = undefined;
    const tasks = worker.tasks;
    worker.tasks = [];
    for (const task of tasks) this.#forget(task);
    return tasks;
  }

  #end(worker: PoolWorker<Request, Reply>): void {
    worker.current = false;
    worker.gone = true;
    this.#workers.delete(worker);
    // Its exit needs no waiting for; a thread that will not stop is the runtime's problem.
    void worker.thread.terminate();
  }

  #replied(worker: PoolWorker<Request, Reply>, message: TaskReply<Reply>): void {
    if (worker.gone || worker.tasks[0]?.id !== message.taskId) return;
    clearTimeout(worker.timer);
    worker.timer = undefined;
    const task = worker.tasks.shift() as Task<Request, Reply>;
    this.#forget(task);
    this.#suspects.delete(task.key);
    if (worker.tasks.length > 0) this.#startDeadline(worker);
    else if (worker.current) worker.thread.unref();
    else this.#end(worker);
    task.resolve(message.reply);
    this.#pump();
  }

  /**
   * `worker` ended or is being stopped: its running task fails with `error` (its key becomes
   * suspect), the tasks queued behind it with TaskNotStartedError.
   */
  #lost(worker: PoolWorker<Request, Reply>, error: Error): void {
    const [running, ...waiting] = this.#releaseAll(worker);
    this.#end(worker);
    if (running !== undefined) {
      this.#suspects.add(running.key);
      running.reject(error);
    }
    for (const task of waiting) {
      task.reject(new TaskNotStartedError('its worker ended before the task started'));
    }
    this.#pump();
  }

  #timedOut(worker: PoolWorker<Request, Reply>): void {
    this.#lost(
      worker,
      new TaskTimeoutError(
        `no answer within ${this.#options.timeoutMs} ms; its worker was stopped`,
      ),
    );
  }

  #exited(worker: PoolWorker<Request, Reply>, exitCode: number): void {
    if (worker.gone) return;
    this.#lost(worker, lostError(worker.error, exitCode, this.#options.resourceLimits));
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
      tasks: [],
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
        this.#options.onOutput(line, stream, worker.tasks[0]?.key ?? worker.lastKey),
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
