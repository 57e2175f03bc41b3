/**
 * What waits for the broker (pure data structure, no I/O). Two kinds of
 * message, queued differently:
 *
 *  - events: history, each one matters, in order. A FIFO bounded by
 *    mqtt.outboxSize; when full, the oldest is dropped and counted, so the
 *    newest survive an outage and nothing is lost silently;
 *  - state (availability, counts, camera status, stats, discovery): only the
 *    latest message of each topic matters, so a newer one replaces the one
 *    waiting. Bounded by the number of topics, which the config fixes
 *    (cameras x zones x labels).
 *
 * Events go out before state: an outage's events are delivered in the order
 * they happened, then the state as it is now.
 */

export interface OutMessage {
  topic: string;
  /** Text, or bytes (a snapshot's JPEG). */
  payload: string | Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export class Outbox {
  private events: OutMessage[] = [];
  /** Index of the oldest event in `events` (taking from the front without shifting). */
  private head = 0;
  private readonly state = new Map<string, OutMessage>();
  private droppedEvents = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`outbox capacity must be an integer >= 1, got ${capacity}`);
  }

  /** Events dropped because the outbox was full, since it was made. */
  get dropped(): number {
    return this.droppedEvents;
  }

  get eventCount(): number {
    return this.events.length - this.head;
  }

  get size(): number {
    return this.eventCount + this.state.size;
  }

  /** Queues an event; when the outbox is full, drops (and counts) the oldest. */
  pushEvent(m: OutMessage): void {
    if (this.eventCount >= this.capacity) {
      this.head++;
      this.droppedEvents++;
    }
    this.events.push(m);
    this.compact();
  }

  /** Queues the latest message of a state topic, replacing one of the same topic still waiting. */
  setState(m: OutMessage): void {
    this.state.set(m.topic, m);
  }

  /** The next message to send, oldest event first, then state; undefined when empty. */
  take(): OutMessage | undefined {
    if (this.eventCount > 0) {
      const m = this.events[this.head] as OutMessage;
      this.head++;
      this.compact();
      return m;
    }
    const first = this.state.entries().next();
    if (first.done) return undefined;
    this.state.delete(first.value[0]);
    return first.value[1];
  }

  /** Empties the outbox (shutdown); returns how many messages it held. */
  clear(): number {
    const n = this.size;
    this.events = [];
    this.head = 0;
    this.state.clear();
    return n;
  }

  /** Drops taken slots once they are most of the array, so memory follows the queue. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}
