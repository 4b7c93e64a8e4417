import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { closureSbomDocument } from '@lilac/common';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, settingsSource, type HookConfig } from '../config.ts';
import { buildClosure, runtimeClosure, type NixClosure } from '../report/nixClosure.ts';
import { NixCommandError } from '../store/nixCommand.ts';
import type { Command } from './command.ts';
import { withCause } from '../delivery/errorDetail.ts';

const USAGE =
  'lilac report create NAME (--runtime OUT_PATH | --build-closure DRV_PATH) [--attr ATTR] [--output FILE] [--env-file F] [--server URL] [--token T | --token-file F]';

/** The server parses and stores a 50,000-path SBOM in a minute or so on the embedded store; the hooks' 5 s is for one attestation. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

function uploadTarget(config: HookConfig): { server: string; token: string } {
  if (config.server === null) throw new ConfigError(`no server configured: set LILAC_SERVER in ${settingsSource(config)}, or pass --server (or write the SBOM with --output FILE)`);
  if (config.token === null) throw new ConfigError(`no token configured: set LILAC_TOKEN_FILE in ${settingsSource(config)}, or pass --token-file`);
  return { server: config.server, token: config.token };
}

async function upload(target: { server: string; token: string }, name: string, body: string): Promise<string> {
  const response = await fetch(`${target.server}/reports/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 500);
    try {
      detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? detail);
    } catch {
      // not JSON: the start of what came back
    }
    throw new UploadRefusedError(`${target.server} refused report ${name}: ${response.status} ${detail}`);
  }
  return `${response.status === 201 ? 'created' : 'replaced'} report ${name} on ${target.server}: ${text}`;
}

class UploadRefusedError extends Error {
  override name = 'UploadRefusedError';
}

/**
 * `lilac report create`: the CycloneDX SBOM of a closure straight from Nix's
 * own queries, in the shape lila's SBOM tools write, uploaded with the
 * builder's token (or written to a file).
 */
export const report: Command = {
  summary: 'make a report of a runtime or build closure from Nix itself and upload it',
  usage: USAGE,
  async run(args, env) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...CONFIG_FLAGS, runtime: { type: 'string' }, 'build-closure': { type: 'string' }, attr: { type: 'string' }, output: { type: 'string' } },
    });
    const [action, name, ...rest] = positionals;
    if (action !== 'create' || name === undefined || rest.length > 0) throw new ConfigError(`expected: ${USAGE}`);
    const runtime = values.runtime;
    const build = values['build-closure'];
    if ((runtime === undefined) === (build === undefined)) throw new ConfigError(`give exactly one of --runtime OUT_PATH and --build-closure DRV_PATH\n${USAGE}`);
    // Settings first: a missing server is said before Nix walks a large closure.
    const target = values.output === undefined ? uploadTarget(loadHookConfig(env, values)) : null;

    let closure: NixClosure;
    try {
      closure = runtime !== undefined ? await runtimeClosure(runtime) : await buildClosure(build as string);
    } catch (error) {
      if (!(error instanceof NixCommandError)) throw error;
      process.stderr.write(`lilac report: ${error.message}\n`);
      return 1;
    }
    if (closure.unknownOutputs > 0) process.stderr.write(`lilac report: left out ${closure.unknownOutputs} output(s) whose path Nix knows only once built (content-addressed)\n`);
    const document = closureSbomDocument({
      kind: runtime !== undefined ? 'runtime_only' : 'build_time',
      root: closure.root,
      components: closure.components,
      attrPath: values.attr ?? null,
      tool: 'lilac',
      timestamp: new Date(),
    });
    const body = `${JSON.stringify(document, null, 2)}\n`;
    if (target === null) {
      writeFileSync(values.output === '-' ? 1 : (values.output as string), body);
      if (values.output !== '-') console.log(`wrote ${values.output}: ${closure.components.length + 1} components`);
      return 0;
    }
    try {
      console.log(await upload(target, name, body));
    } catch (error) {
      if (!(error instanceof UploadRefusedError) && !(error instanceof TypeError) && (error as Error).name !== 'TimeoutError') throw error;
      process.stderr.write(`lilac report: ${withCause(error)}\n`);
      return 1;
    }
    return 0;
  },
};
