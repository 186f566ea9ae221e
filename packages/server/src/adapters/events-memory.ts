import { type EventBus, type ServerEvent, subjectMatches } from '../event-bus.js';

/** Events inside this process: the one-machine default. */
export class MemoryEventBus implements EventBus {
  readonly kind = 'memory';
  private readonly subs = new Set<{ pattern: string; fn: (event: ServerEvent) => void }>();

  async publish(subject: string, data: Record<string, unknown>): Promise<void> {
    const event = { subject, data, at: new Date().toISOString() };
    for (const sub of this.subs) if (subjectMatches(sub.pattern, subject)) sub.fn(event);
  }

  async subscribe(pattern: string, fn: (event: ServerEvent) => void): Promise<() => void> {
    const sub = { pattern, fn };
    this.subs.add(sub);
    return () => void this.subs.delete(sub);
  }

  async close(): Promise<void> {
    this.subs.clear();
  }
}
