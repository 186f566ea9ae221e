import type { NatsConnection } from '@nats-io/transport-node';
import type { EventBus, ServerEvent } from '../event-bus.js';

/** Events on NATS, so every server process behind a load balancer sees every change. */
export class NatsEventBus implements EventBus {
  readonly kind = 'nats';
  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  /** `prefix` is put before every subject (default "reyna."), so several installations can share one NATS. */
  static async connect(url: string, prefix = 'reyna.'): Promise<NatsEventBus> {
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: url, name: 'reyna-server', timeout: 5000 });
    return new NatsEventBus(nc, prefix);
  }

  async publish(subject: string, data: Record<string, unknown>): Promise<void> {
    const event: ServerEvent = { subject, data, at: new Date().toISOString() };
    this.nc.publish(this.prefix + subject, JSON.stringify(event));
  }

  async subscribe(pattern: string, fn: (event: ServerEvent) => void): Promise<() => void> {
    const sub = this.nc.subscribe(this.prefix + pattern, {
      callback: (error, msg) => {
        if (error) return;
        try {
          fn(msg.json<ServerEvent>());
        } catch {
          // A message that is not ours (someone else publishing under the prefix) is ignored.
        }
      },
    });
    // Makes sure the server knows the subscription before the caller publishes.
    await this.nc.flush();
    return () => sub.unsubscribe();
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
