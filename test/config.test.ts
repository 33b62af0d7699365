import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('keeps anonymous legacy devices off unless --legacy-anonymous-devices or GAZO_LEGACY_ANONYMOUS_DEVICES says so', () => {
    expect(loadConfig({}, {}).legacy.anonymousDevices).toBe(false);
    expect(loadConfig({ legacyAnonymousDevices: true }, {}).legacy.anonymousDevices).toBe(true);
    expect(loadConfig({}, { GAZO_LEGACY_ANONYMOUS_DEVICES: 'on' }).legacy.anonymousDevices).toBe(true);
    expect(() => loadConfig({}, { GAZO_LEGACY_ANONYMOUS_DEVICES: 'maybe' })).toThrow(ConfigError);
  });

  it('has embedded defaults: ./data, port 3000, every origin the base URL', () => {
    const config = loadConfig({}, {});
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.port).toBe(3000);
    expect(config.urls).toEqual({
      base: 'http://127.0.0.1:3000',
      api: 'http://127.0.0.1:3000',
      upload: 'http://127.0.0.1:3000',
      web: 'http://127.0.0.1:3000',
      image: 'http://127.0.0.1:3000',
    });
  });

  it('takes flags over GAZO_* environment over defaults, and sets each origin separately', () => {
    const env = {
      GAZO_PORT: '4000',
      GAZO_BASE_URL: 'https://img.example.com/',
      GAZO_IMAGE_URL: 'https://i.example.com',
    };
    const config = loadConfig({ port: '5000', apiUrl: 'https://api.example.com' }, env);
    expect(config.port).toBe(5000);
    expect(config.urls.base).toBe('https://img.example.com');
    expect(config.urls.api).toBe('https://api.example.com');
    expect(config.urls.image).toBe('https://i.example.com');
    expect(config.urls.web).toBe('https://img.example.com');
  });

  it('refuses nonsense with a clear message', () => {
    expect(() => loadConfig({ port: 'abc' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ port: 70000 }, {})).toThrow(/65535/);
    expect(() => loadConfig({ baseUrl: 'ftp://x' }, {})).toThrow(/http/);
    expect(() => loadConfig({ maxPixels: '-1' }, {})).toThrow(/max pixels/);
  });

  it('has abuse limits and timeouts on by default, the per-token budget and proxy trust off', () => {
    const config = loadConfig({}, {});
    expect(config.network).toEqual({
      trustProxy: false,
      headersTimeoutMs: 15_000,
      requestTimeoutMs: 600_000,
      idleTimeoutMs: 72_000,
      maxConnections: 512,
    });
    expect(config.rateLimits).toEqual({ maxAuthFailuresPerMinute: 30, maxRequestsPerTokenPerDay: 0 });
  });

  it('takes every limit from flags or GAZO_* environment', () => {
    const env = {
      GAZO_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,loopback,::1,fd00::/8',
      GAZO_HEADERS_TIMEOUT: '5',
      GAZO_REQUEST_TIMEOUT: '60',
      GAZO_IDLE_TIMEOUT: '3',
      GAZO_MAX_CONNECTIONS: '10',
      GAZO_MAX_AUTH_FAILURES_PER_MINUTE: '0',
      GAZO_MAX_REQUESTS_PER_TOKEN_PER_DAY: '12500',
    };
    const config = loadConfig({ idleTimeout: '4' }, env);
    expect(config.network).toEqual({
      trustProxy: ['10.0.0.1', '192.168.0.0/16', 'loopback', '::1', 'fd00::/8'],
      headersTimeoutMs: 5000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 4000,
      maxConnections: 10,
    });
    expect(config.rateLimits).toEqual({ maxAuthFailuresPerMinute: 0, maxRequestsPerTokenPerDay: 12500 });
    expect(loadConfig({ trustProxy: '2' }, {}).network.trustProxy).toBe(2);
    expect(loadConfig({ trustProxy: '0' }, {}).network.trustProxy).toBe(false);
    expect(loadConfig({}, { GAZO_TRUST_PROXY: 'false' }).network.trustProxy).toBe(false);
  });

  it('refuses a proxy list or a timeout it cannot use, naming the setting', () => {
    expect(() => loadConfig({ trustProxy: 'true' }, {})).toThrow(/trust proxy.*"true"/);
    expect(() => loadConfig({ trustProxy: '10.0.0.1,proxy.example.com' }, {})).toThrow(/proxy.example.com/);
    expect(() => loadConfig({ trustProxy: '10.0.0.0/33' }, {})).toThrow(/10.0.0.0\/33/);
    expect(() => loadConfig({ headersTimeout: '0' }, {})).toThrow(/headers timeout/);
    expect(() => loadConfig({ headersTimeout: '90', requestTimeout: '60' }, {})).toThrow(/request timeout/);
    expect(() => loadConfig({ maxConnections: 'many' }, {})).toThrow(/max connections/);
    expect(() => loadConfig({}, { GAZO_MAX_AUTH_FAILURES_PER_MINUTE: '-3' })).toThrow(/auth failures/);
  });

  it('keeps metadata only when told to, by --keep-metadata or GAZO_KEEP_METADATA', () => {
    expect(loadConfig({}, {}).keepMetadata).toBe(false);
    expect(loadConfig({ keepMetadata: true }, {}).keepMetadata).toBe(true);
    expect(loadConfig({}, { GAZO_KEEP_METADATA: 'true' }).keepMetadata).toBe(true);
    expect(loadConfig({}, { GAZO_KEEP_METADATA: '0' }).keepMetadata).toBe(false);
    expect(loadConfig({}, { GAZO_KEEP_METADATA: '' }).keepMetadata).toBe(false);
    expect(() => loadConfig({}, { GAZO_KEEP_METADATA: 'maybe' })).toThrow(
      /keep metadata must be true or false/,
    );
  });

  it('keeps the metadata in SQLite unless --database or GAZO_DATABASE_URL names PostgreSQL', () => {
    expect(loadConfig({}, {}).database).toEqual({ kind: 'sqlite' });
    const url = 'postgres://gazo:secret@db.internal:5432/gazo';
    expect(loadConfig({ database: url }, {}).database).toEqual({ kind: 'postgres', url });
    expect(loadConfig({}, { GAZO_DATABASE_URL: url }).database).toEqual({ kind: 'postgres', url });
    expect(loadConfig({ database: 'postgresql://h/db' }, { GAZO_DATABASE_URL: url }).database).toEqual({
      kind: 'postgres',
      url: 'postgresql://h/db',
    });
    for (const bad of ['mysql://u:hunter2@h/db', 'db.sqlite', 'postgres//u:hunter2@h']) {
      expect(() => loadConfig({ database: bad }, {})).toThrow(/database must be a postgres:\/\//);
      // A mistyped URL is not repeated: it may hold a password.
      expect(() => loadConfig({ database: bad }, {})).not.toThrow(/hunter2/);
    }
  });
});
