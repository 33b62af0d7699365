import { randomInt } from 'node:crypto';
import pg from 'pg';

/** The first key of the liveness locks ('gzlv'), apart from the named locks' space (dialect.ts). */
export const LIVENESS_SPACE = 0x677a6c76;

/**
 * What proves on PostgreSQL that a process holding job leases has died: while it runs, a
 * connection of its own holds a session advisory lock on (LIVENESS_SPACE, key), and the key
 * is the first 8 hex digits of its lease owner tokens (jobs.repository.ts). PostgreSQL drops the lock when that
 * connection ends, which it does when the process dies (SIGKILL, a lost host: once the server
 * notices the socket is gone). A lease whose key no session holds is then taken over at once
 * instead of when it expires: leases of live holders are never touched, and a holder whose
 * liveness connection dropped stops marking its leases (they fall back to expiring by time).
 *
 * Opened on the first claim only: commands that never run jobs hold no extra connection.
 */
export class Liveness {
  private held: Promise<{ client: pg.Client; key: number } | undefined> | undefined;
  private lost = false;

  constructor(private readonly url: string) {}

  /** The owner-token prefix of this process's leases; undefined while it cannot be proven alive. */
  async key(): Promise<number | undefined> {
    if (this.lost) return undefined;
    this.held ??= this.hold().catch(() => {
      // Not now (the server is away): try again at the next claim.
      this.held = undefined;
      return undefined;
    });
    return (await this.held)?.key;
  }

  private async hold(): Promise<{ client: pg.Client; key: number }> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    client.on('error', () => undefined);
    try {
      for (;;) {
        const key = randomInt(1, 2 ** 31 - 1);
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
          LIVENESS_SPACE,
          key,
        ]);
        if (rows[0]?.ok) {
          // Once the lock is gone (the connection broke), another process may take our leases
          // over: never mark leases with this key again.
          client.on('end', () => {
            this.lost = true;
          });
          return { client, key };
        }
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    const held = await this.held;
    this.lost = true;
    await held?.client.end().catch(() => undefined);
  }
}
