import type { GazoClient, GazoImage } from '../../client/index.ts';
import type { ImportTarget } from './engine.ts';
import { type ImportItem, parseSourceTime } from './items.ts';
import type { JournalLedger } from './journal.ts';

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** The logged-in account on a server that speaks the Gyazo API. */
export class HttpTarget implements ImportTarget {
  /** The target's images by created_at second, read once, when a cut-short run needs settling. */
  private bySecond: Promise<Map<number, GazoImage[]>> | undefined;

  constructor(
    private readonly client: GazoClient,
    readonly ledger: JournalLedger,
  ) {}

  async upload(bytes: Uint8Array, item: ImportItem): Promise<string> {
    const image = await this.client.upload(bytes, {
      title: item.title,
      desc: item.desc,
      app: item.app,
      refererUrl: item.refererUrl,
      createdAt: item.createdAtMs === undefined ? undefined : item.createdAtMs / 1000,
      accessPolicy: item.accessPolicy,
      metadataIsPublic: item.metadataIsPublic,
    });
    return image.image_id;
  }

  /**
   * An upload acknowledged just before the run was killed is in the target with the source's
   * created_at: look among the target's images of that second for the same bytes.
   */
  async findCopy(bytes: Uint8Array, item: ImportItem): Promise<string | undefined> {
    if (item.createdAtMs === undefined) return undefined;
    this.bySecond ??= this.indexTarget();
    const second = Math.floor(item.createdAtMs / 1000);
    for (const candidate of (await this.bySecond).get(second) ?? []) {
      if ((item.type && candidate.type !== item.type) || this.ledger.claimed.has(candidate.image_id))
        continue;
      if (sameBytes(await this.client.download(candidate.url), bytes)) return candidate.image_id;
    }
    return undefined;
  }

  private async indexTarget() {
    const index = new Map<number, GazoImage[]>();
    for await (const image of this.client.listAll()) {
      const ms = parseSourceTime(image.created_at);
      if (ms === undefined) continue;
      const second = Math.floor(ms / 1000);
      index.set(second, [...(index.get(second) ?? []), image]);
    }
    return index;
  }

  close() {
    return this.ledger.close();
  }
}
