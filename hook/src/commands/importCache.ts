import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseStorePath, type ReportDetail } from '@lilac/common';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, settingsSource } from '../config.ts';
import { DoneList } from '../importCache/doneList.ts';
import { importFromCache } from '../importCache/importer.ts';
import { Progress } from '../importCache/progress.ts';
import type { Command } from './command.ts';
import { withCause } from '../delivery/errorDetail.ts';

function positiveInteger(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(`${what} must be a non-negative integer: ${text}`);
  return value;
}

async function reportOutPaths(server: string, token: string | null, report: string): Promise<string[]> {
  const response = await fetch(`${server}/api/v1/reports/${encodeURIComponent(report)}`, {
    headers: { accept: 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) },
  });
  if (!response.ok) throw new ConfigError(`report ${report}: ${response.status} ${await response.text()}`);
  const detail = (await response.json()) as ReportDetail;
  return detail.tree.nodes.flatMap((node) => (node.outPath === null ? [] : [node.outPath]));
}

function pathsFromFile(file: string): string[] {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Turns a binary cache's signed narinfos into attestations of the builder
 * that owns the token (whose registered key must be the cache's key).
 */
export const importCache: Command = {
  summary: "attest a binary cache's narinfos (NarHash, NarSize, References, Sig) for a report's outputs or given paths",
  usage:
    'lilac import-cache --cache URL (--report NAME | --paths-file FILE | OUT_PATH...) [--key-name NAME] [--concurrency 8] [--retries 4] [--retry-delay-ms 500] [--state-file FILE] [--env-file F] [--server URL] [--token T | --token-file F]',
  async run(args, env) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...CONFIG_FLAGS,
        cache: { type: 'string' },
        report: { type: 'string' },
        'paths-file': { type: 'string' },
        'key-name': { type: 'string' },
        concurrency: { type: 'string' },
        retries: { type: 'string' },
        'retry-delay-ms': { type: 'string' },
        'state-file': { type: 'string' },
      },
    });
    const config = loadHookConfig(env, values);
    if (values.cache === undefined) throw new ConfigError(`--cache is required\n${importCache.usage}`);
    if (config.server === null || config.token === null) {
      throw new ConfigError(`a server and a token are needed: LILAC_SERVER and LILAC_TOKEN_FILE in ${settingsSource(config)}, or --server and --token-file`);
    }
    const cache = values.cache.replace(/\/+$/, '');
    const outPaths = [...positionals];
    if (values['paths-file'] !== undefined) outPaths.push(...pathsFromFile(values['paths-file']));
    if (values.report !== undefined) {
      try {
        outPaths.push(...(await reportOutPaths(config.server, config.token, values.report)));
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        process.stderr.write(`lilac import-cache: ${config.server}: ${withCause(error)}\n`);
        return 1;
      }
    }
    if (outPaths.length === 0) throw new ConfigError(`no out paths: give --report, --paths-file or paths\n${importCache.usage}`);
    for (const outPath of outPaths) parseStorePath(outPath);

    const stateKey = createHash('sha256').update(`${cache}\n${config.server}`).digest('hex').slice(0, 16);
    const stateFile = values['state-file'] ?? path.join(path.dirname(config.spoolDir), 'import-cache', `${stateKey}.done`);
    const retries = positiveInteger(values.retries, 4, '--retries');
    const baseDelayMs = positiveInteger(values['retry-delay-ms'], 500, '--retry-delay-ms');
    const summary = await importFromCache(outPaths, {
      cache,
      server: config.server,
      token: config.token,
      keyName: values['key-name'] ?? null,
      concurrency: Math.max(1, positiveInteger(values.concurrency, 8, '--concurrency')),
      backoff: { retries, baseDelayMs, maxDelayMs: Math.max(baseDelayMs, 30_000) },
      timeoutMs: Math.max(config.timeoutMs, 10_000),
      doneList: new DoneList(stateFile),
      progress: new Progress(new Set(outPaths).size),
    });
    for (const missing of summary.missingPaths) console.log(`missing ${missing}`);
    for (const failure of summary.failures) console.log(`failed ${failure.outPath}: ${failure.reason}`);
    console.log(
      `imported ${summary.imported}, already done ${summary.skipped}, missing from the cache ${summary.missing}, failed ${summary.failed} (progress kept in ${stateFile})`,
    );
    return summary.failed > 0 ? 1 : 0;
  },
};
