/**
 * Latest-frame-wins gate. Live video must never queue: while the stage behind
 * the gate is busy with one frame, newer frames replace each other in a
 * single slot (each replaced frame is a counted drop), and the newest one runs
 * as soon as the stage is free. The source is always consumed immediately, so
 * a slow detector never back-pressures ffmpeg.
 *
 * rxjs's exhaustMap drops everything that arrives while busy, so after a slow
 * frame it would wait for the next frame to arrive (up to a frame interval
 * of extra latency); mergeMap/concatMap buffer without bound. Hence this
 * small operator, built on the public Observable/Subscription API.
 */
import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

export function latestFrameGate<T, R>(project: (value: T) => ObservableInput<R>, onDrop: (dropped: T) => void = () => {}): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let pending: { value: T } | undefined;
      let inner: Subscription | undefined;
      // Busy is its own flag, not "inner is set": a stage that completes synchronously does so
      // inside subscribe(), before subscribe() returns the subscription to assign. Keyed by run
      // so that a run started from a completion is not overwritten by the one that finished.
      let busy = false;
      let runs = 0;
      let sourceDone = false;

      const run = (value: T): void => {
        const id = ++runs;
        busy = true;
        const sub = from(project(value)).subscribe({
          next: (r) => subscriber.next(r),
          error: (e: unknown) => subscriber.error(e),
          complete: () => {
            if (id === runs) {
              busy = false;
              inner = undefined;
            }
            const next = pending;
            pending = undefined;
            if (next) run(next.value);
            else if (sourceDone && !busy) subscriber.complete();
          },
        });
        if (id === runs && busy) inner = sub;
      };

      const outer = source.subscribe({
        next: (value) => {
          if (busy) {
            if (pending) onDrop(pending.value);
            pending = { value };
          } else {
            run(value);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          if (!busy && !pending) subscriber.complete();
        },
      });

      return () => {
        outer.unsubscribe();
        inner?.unsubscribe();
        if (pending) onDrop(pending.value);
        pending = undefined;
      };
    });
}
