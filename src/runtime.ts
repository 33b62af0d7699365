import path from 'node:path';
import type { BlobStore } from './blobs/blob-store.ts';
import { CachedBlobStore } from './blobs/cached-blob-store.ts';
import { DiskReserve } from './blobs/disk-reserve.ts';
import { openBlobStore } from './blobs/open-blob-store.ts';
import type { Config } from './config.ts';
import { makePrivateDir } from './data-dir.ts';
import { DecodeBudget } from './imaging/decode-budget.ts';
import { blobCollectJob, heldImageExpiryJob, ocrJob, thumbnailJob } from './jobs/kinds.ts';
import { JobRegistry } from './jobs/registry.ts';
import { JobWorker } from './jobs/worker.ts';
import type { OcrEngine } from './ocr/engine.ts';
import { parseLanguages } from './ocr/languages.ts';
import { PreparedPixels } from './ocr/prepared-pixels.ts';
import { AccountsService } from './services/accounts.service.ts';
import { BlobCollector } from './services/blob-collector.ts';
import { type ClientApps, registeredClientApps } from './services/client-apps.ts';
import { EASY_AUTH_TIMES, EasyAuthService, type EasyAuthTimes } from './services/easy-auth.service.ts';
import { ImageListing } from './services/image-listing.ts';
import { ImagesService } from './services/images.service.ts';
import { ANONYMOUS_LIMITS, LegacyDevicesService } from './services/legacy-devices.service.ts';
import { OAuthService } from './services/oauth.service.ts';
import { OcrService } from './services/ocr.service.ts';
import { RegistrationService } from './services/registration.service.ts';
import { SessionsService } from './services/sessions.service.ts';
import { ThumbnailService } from './services/thumbnails.service.ts';
import { UploadService } from './services/upload.service.ts';
import { UsersService } from './services/users.service.ts';
import { ImageUrls } from './services/wire.ts';
import { openStore } from './store/index.ts';
import type { MetadataStore } from './store/types.ts';

/** Kept in the data dir so that a full disk still lets the database delete (see DiskReserve). */
export const DISK_RESERVE_FILE = 'disk-reserve';
const DISK_RESERVE_BYTES = 8 * 1024 * 1024;
/** OCR input kept between an image's decode and its OCR job (see PreparedPixels): ~600 text-heavy screenshots. */
const PREPARED_PIXELS_BYTES = 48 * 1024 * 1024;

/**
 * tesseract.js workers are replaced after this many reads, or when the process grows past the
 * bound (well above the ~350 MB a server with one worker reaches, so that it is not replaced
 * after every read).
 */
const OCR_RECYCLE_AFTER_READS = 200;
const OCR_RECYCLE_ABOVE_RSS_BYTES = 640 * 1024 * 1024;

/** Everything a Gazo process holds: the stores, the services built on them, and the job worker. */
export interface Runtime {
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  accounts: AccountsService;
  sessions: SessionsService;
  /** OAuth applications, and the provider (authorize, token) on them. */
  oauth: OAuthService;
  /** Passwords, disabling users, admin rights. */
  users: UsersService;
  /** Sign-up (open registration) and invites. */
  registration: RegistrationService;
  images: ImagesService;
  /** The API's list pages as JSON, each image's kept in memory (GAZO_LIST_CACHE_BYTES). */
  listing: ImageListing;
  uploads: UploadService;
  /** easy_auth: uploads held for the browser that opens their link. */
  easyAuth: EasyAuthService;
  /** Legacy desktop clients' device ids: the Devices page, and anonymous devices. */
  devices: LegacyDevicesService;
  collector: BlobCollector;
  urls: ImageUrls;
  worker: JobWorker;
  /** The OCR engine; none with `--no-ocr`. */
  ocr: OcrEngine | undefined;
  close(): Promise<void>;
}

/** What a program embedding Gazo (or a test) may set besides the configuration. */
export interface RuntimeOptions {
  /** false (gazo serve --no-jobs): no job worker runs here, so no OCR engine is loaded. */
  jobs?: boolean;
  /** The applications easy_auth accepts (see ClientApps); by default, the registered OAuth apps. */
  clientApps?: ClientApps;
  /** easy_auth's windows; tests shorten them (there is no flag). */
  easyAuthTimes?: Partial<EasyAuthTimes>;
  /** Bounds on anonymous legacy devices; tests lower them. */
  anonymousDeviceLimits?: Partial<typeof ANONYMOUS_LIMITS>;
}

/** Opens the stores the configuration names (SQLite under `config.dataDir` by default) and wires the services. Starts nothing. */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const store = await openStore(config.database, config.dataDir);
  await makePrivateDir(path.join(config.dataDir, 'blobs'));
  const blobs = new CachedBlobStore(
    await openBlobStore(config.dataDir, config.blobs),
    config.imageCacheBytes,
  );
  const collector = new BlobCollector(store, blobs, config.thumbSize);
  const reserve = new DiskReserve(path.join(config.dataDir, DISK_RESERVE_FILE), DISK_RESERVE_BYTES);
  await reserve.ensure();
  // Uploads still queue OCR jobs when OCR is on; without jobs here, a `gazo worker` runs them.
  const ocr = config.ocr.enabled && options.jobs !== false ? await openOcrEngine(config.ocr) : undefined;
  // The worker is made below; uploads only nudge it once they have queued work.
  let nudge = (_kinds?: readonly string[]) => {};
  const uploads = new UploadService(
    store,
    blobs,
    {
      maxPixels: config.limits.maxPixels,
      thumbSize: config.thumbSize,
      maxUploadBytes: config.limits.maxUploadBytes,
      diskReserveBytes: config.limits.diskReserveBytes,
      keepMetadata: config.keepMetadata,
      ocr: config.ocr.enabled,
    },
    reserve,
    (kinds) => nudge(kinds),
  );
  const thumbnails = new ThumbnailService(
    store,
    blobs,
    new DecodeBudget(config.limits.decodeMemoryBytes),
    { thumbSize: config.thumbSize, maxPixels: config.limits.maxPixels },
    ocr && new PreparedPixels(PREPARED_PIXELS_BYTES),
    uploads.activity,
  );
  const easyAuth = new EasyAuthService(
    store,
    uploads,
    collector,
    options.clientApps ?? registeredClientApps(store),
    { ...EASY_AUTH_TIMES, ...options.easyAuthTimes },
    () => nudge(),
  );
  // Each kind of background work, with its own slots and timeout (see jobs/kinds.ts).
  const jobKinds = new JobRegistry()
    .register(blobCollectJob(collector))
    .register(thumbnailJob(thumbnails))
    .register(heldImageExpiryJob(easyAuth));
  if (ocr) {
    // As many OCR slots as OCR workers: a job waiting for a worker never holds another kind's slot.
    const reader = new OcrService(store, thumbnails, ocr, uploads.activity);
    jobKinds.register(ocrJob(reader, config.ocr.workers, config.ocr.timeoutMs));
  }
  const worker = new JobWorker(store.jobs, jobKinds);
  nudge = (kinds) => worker.nudge(kinds);
  const accounts = new AccountsService(store);
  const sessions = new SessionsService(store);
  const images = new ImagesService(store, blobs, thumbnails, config.thumbSize, reserve);
  const urls = new ImageUrls(config.urls, config.thumbSize);
  return {
    config,
    store,
    blobs,
    accounts,
    oauth: new OAuthService(store, accounts),
    sessions,
    users: new UsersService(store, sessions),
    registration: new RegistrationService(store, accounts, sessions, config.web.registration),
    images,
    listing: new ImageListing(images, urls, config.listCacheBytes),
    uploads,
    easyAuth,
    devices: new LegacyDevicesService(
      store,
      uploads,
      {
        anonymous: config.legacy.anonymousDevices,
        limits: { ...ANONYMOUS_LIMITS, ...options.anonymousDeviceLimits },
      },
      () => nudge(),
    ),
    collector,
    urls,
    worker,
    ocr,
    async close() {
      await worker.stop();
      await ocr?.close();
      await store.close();
    },
  };
}

/** The configured OCR engine, loaded only when OCR is on: tesseract.js is memory an OCR-less server need not hold. */
async function openOcrEngine(ocr: Config['ocr']): Promise<OcrEngine> {
  const languages = parseLanguages(ocr.languages);
  if (ocr.engine === 'tesseract') {
    const { TesseractCommand } = await import('./ocr/tesseract-command.ts');
    return TesseractCommand.open({ languages, workers: ocr.workers, timeoutMs: ocr.timeoutMs });
  }
  const { TesseractPool } = await import('./ocr/tesseract-pool.ts');
  return TesseractPool.open({
    languages,
    models: ocr.models,
    workers: ocr.workers,
    timeoutMs: ocr.timeoutMs,
    recycleAfterJobs: OCR_RECYCLE_AFTER_READS,
    recycleAboveRssBytes: OCR_RECYCLE_ABOVE_RSS_BYTES,
  });
}
