/**
 * The ids of the items a subscription has handed out, the most recent
 * `capacity` of them: a resumed stream may send an item again (catching up
 * from an older id than the last one shown), and it must appear once.
 */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 1000) {}

  /** Records `id`; false when it was seen already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
