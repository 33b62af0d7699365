import type { GazoClient } from '../../client/index.ts';
import type { ImportSource } from './engine.ts';
import { type ImportItem, toImportItem } from './items.ts';

const PER_PAGE = 100;

/** An account on gyazo.com or any server that speaks its API: `GET /api/images`, every page. */
export class ApiSource implements ImportSource {
  private totalCount: number | undefined;
  private readonly host: string;

  constructor(private readonly client: GazoClient) {
    this.host = new URL(client.apiUrl).host;
  }

  total() {
    return this.totalCount;
  }

  async *items(): AsyncGenerator<ImportItem> {
    for (let page = 1; ; page++) {
      const { images, totalCount } = await this.client.list({ page, perPage: PER_PAGE });
      this.totalCount ??= totalCount;
      for (const image of images) yield toImportItem(image, this.host);
      if (images.length < PER_PAGE) return;
    }
  }

  fetch(item: ImportItem): Promise<Uint8Array> {
    if (item.url === null) throw new Error('no url');
    return this.client.download(item.url);
  }
}
