/**
 * The cameras a client chose, for one kind of message (its frames, or its
 * pictures): named cameras, or '*' (every camera, including ones added later)
 * less those unsubscribed since. The hub keeps one for each kind per client.
 */
import { ProtocolError, type CameraSelection } from './protocol.js';

export class Selection {
  private all = false;
  private readonly named = new Set<string>();
  /** Cameras taken out of a '*' selection by a later remove. */
  private readonly excluded = new Set<string>();

  /** @param limit the most cameras one selection names (or excludes): a client cannot make the server allocate without bound. */
  constructor(private readonly limit: number) {}

  has(camera: string): boolean {
    return this.all ? !this.excluded.has(camera) : this.named.has(camera);
  }

  /** Adds cameras; throws ProtocolError (nothing added) when the named cameras would pass the limit. */
  add(cameras: CameraSelection): void {
    if (cameras === '*') {
      this.all = true;
      this.excluded.clear();
      return;
    }
    if (this.all) {
      for (const id of cameras) this.excluded.delete(id);
      return;
    }
    const added = cameras.filter((id) => !this.named.has(id));
    if (this.named.size + added.length > this.limit) {
      throw new ProtocolError('BAD_MESSAGE', `subscribe: a subscription holds at most ${this.limit} cameras`);
    }
    for (const id of added) this.named.add(id);
  }

  /** Removes cameras; '*' removes all. Exclusions past the limit are not kept (the client is then sent what it asked to stop). */
  remove(cameras: CameraSelection): void {
    if (cameras === '*') {
      this.all = false;
      this.named.clear();
      this.excluded.clear();
    } else if (this.all) {
      for (const id of cameras) if (this.excluded.size < this.limit) this.excluded.add(id);
    } else {
      for (const id of cameras) this.named.delete(id);
    }
  }

  /** What /api/stats shows. */
  snapshot(): { subscribed: CameraSelection; excluded: string[] } {
    return { subscribed: this.all ? '*' : [...this.named], excluded: [...this.excluded] };
  }
}
