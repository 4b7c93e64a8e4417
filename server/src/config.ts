import path from 'node:path';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Unset: the embedded FerretDB on `dataDir` is started and used. */
  readonly mongodbUri: string | undefined;
  readonly dbName: string;
  readonly dataDir: string;
  /** Largest accepted request body, in bytes; a 50,000-component SBOM is about 25 MB. */
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const mongodbUri = env.MONGODB_URI?.trim() || undefined;
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  }
  return {
    host: env.HOST?.trim() || '127.0.0.1',
    port: integer(env, 'PORT', 8000, 0, 65535),
    mongodbUri,
    dbName: env.LILAC_DB_NAME?.trim() || 'lilac',
    dataDir: path.resolve(env.DATA_DIR?.trim() || 'data'),
    bodyLimitBytes: integer(env, 'LILAC_BODY_LIMIT_BYTES', 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
}
