import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
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
});
