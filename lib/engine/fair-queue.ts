/**
 * Waiting jobs, one line per user. take() serves the user whose last turn is the oldest (a user
 * new to the queue first), so users take turns whatever the length of their lines.
 */
export class FairQueue {
  private readonly lines = new Map<string, string[]>();
  private readonly lastTurn = new Map<string, number>();
  private turn = 0;

  get size(): number {
    let total = 0;
    for (const line of this.lines.values()) total += line.length;
    return total;
  }

  push(userId: string, jobId: string): void {
    const line = this.lines.get(userId);
    if (line) line.push(jobId);
    else this.lines.set(userId, [jobId]);
  }

  /** The next job of the eligible user served least recently, or undefined when none may run. */
  take(eligible: (userId: string) => boolean): { jobId: string; userId: string } | undefined {
    let chosen: string | undefined;
    for (const userId of this.lines.keys()) {
      if (!eligible(userId)) continue;
      if (chosen === undefined || (this.lastTurn.get(userId) ?? -1) < (this.lastTurn.get(chosen) ?? -1)) chosen = userId;
    }
    if (chosen === undefined) return undefined;
    const line = this.lines.get(chosen)!;
    const jobId = line.shift()!;
    if (line.length === 0) this.lines.delete(chosen);
    this.lastTurn.set(chosen, ++this.turn);
    return { jobId, userId: chosen };
  }

  /**
   * Every waiting job in the order take() would serve them if every user stayed eligible: the
   * lines and the users' last turns as they are now, played forward on a copy. Position 1 is next.
   */
  order(): { jobId: string; userId: string }[] {
    const lines = [...this.lines.entries()].map(([userId, line]) => ({ userId, line, next: 0, last: this.lastTurn.get(userId) ?? -1 }));
    const order: { jobId: string; userId: string }[] = [];
    let turn = this.turn;
    for (;;) {
      let chosen: (typeof lines)[number] | undefined;
      // Map order breaks ties as take() does: the user whose line was made first.
      for (const entry of lines) if (entry.next < entry.line.length && (chosen === undefined || entry.last < chosen.last)) chosen = entry;
      if (!chosen) return order;
      order.push({ jobId: chosen.line[chosen.next]!, userId: chosen.userId });
      chosen.next += 1;
      chosen.last = ++turn;
    }
  }

  /** Empties every line, answering the jobs that were waiting. */
  drain(): string[] {
    const jobs = [...this.lines.values()].flat();
    this.lines.clear();
    return jobs;
  }
}
