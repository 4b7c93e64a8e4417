import { parseArgs } from 'node:util';
import { BuilderError, BuilderService } from '../builders/builderService.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { connectWithRetry } from '../store/connectWithRetry.ts';
import { startOrJoinEmbeddedStore } from '../store/embeddedStore.ts';
import { createModels, ensureIndexes, type Models } from '../store/models.ts';
import { giveLinkPattern, removeLinkPattern } from '../linkPatterns/linkPatterns.ts';
import { MissingRecordError } from '../ownership/ownership.ts';
import { giveReport, removeReport } from '../reports/reportAdmin.ts';

const usage = `usage: npm run admin -- <command>

  create-builder NAME [--token TOKEN] [--key PUBLIC_KEY]...
                            create a builder; prints its token (shown only now)
  issue-token NAME          give a builder one more token; prints it
  add-key NAME PUBLIC_KEY   register a Nix public key (name:base64) for a builder
  remove-key NAME KEYNAME   unregister a builder's key by its key name
  revoke-token TOKEN        make a token unusable
  list                      builders with their keys and last activity
  give-report NAME BUILDER  make BUILDER the owner of a report (the only builder that may replace it)
  give-link-pattern PATTERN BUILDER
                            make BUILDER the owner of a link pattern
  remove-report NAME        delete a report, whoever owns it
  remove-link-pattern PATTERN
                            delete a link pattern, whoever owns it

Works on the store the server uses (MONGODB_URI, or the embedded store on DATA_DIR),
whether or not the server is running.`;

async function run(args: string[], models: Models): Promise<string> {
  const builders = new BuilderService(models);
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { token: { type: 'string' }, key: { type: 'string', multiple: true } },
    allowPositionals: true,
  });
  const [first, second] = positionals;
  switch (command) {
    case 'create-builder': {
      if (!first) break;
      const { token } = await builders.create(first, { ...(values.token !== undefined && { token: values.token }), publicKeys: values.key ?? [] });
      return `created builder ${first}\ntoken: ${token}\n(store the token now: only its hash is kept)`;
    }
    case 'issue-token':
      if (!first) break;
      return `token: ${await builders.issueToken(first)}`;
    case 'add-key':
      if (!first || !second) break;
      await builders.addKey(first, second);
      return `added key ${second.split(':')[0]} to ${first}`;
    case 'remove-key':
      if (!first || !second) break;
      await builders.removeKey(first, second);
      return `removed key ${second} from ${first}`;
    case 'revoke-token':
      if (!first) break;
      if (!(await builders.revokeToken(first))) throw new BuilderError('not-found', 'no such token');
      return 'token revoked';
    case 'give-report':
      if (!first || !second) break;
      await giveReport(models, first, second);
      return `report ${first} now belongs to ${second}`;
    case 'give-link-pattern':
      if (!first || !second) break;
      await giveLinkPattern(models, first, second);
      return `link pattern ${first} now belongs to ${second}`;
    case 'remove-report':
      if (!first) break;
      await removeReport(models, first);
      return `removed report ${first}`;
    case 'remove-link-pattern':
      if (!first) break;
      await removeLinkPattern(models, first);
      return `removed link pattern ${first}`;
    case 'list': {
      const list = await builders.list();
      if (list.length === 0) return 'no builders yet: npm run admin -- create-builder NAME';
      return list
        .map((builder) => {
          const keys = builder.keys.map((key) => `    key ${key.key}`).join('\n');
          const seen = builder.lastSeenAt ? builder.lastSeenAt.toISOString() : 'never';
          return `${builder.name}  (last seen ${seen})${keys ? `\n${keys}` : ''}`;
        })
        .join('\n');
    }
  }
  throw new UsageError(usage);
}

class UsageError extends Error {}

const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
const embedded = config.mongodbUri === undefined ? await startOrJoinEmbeddedStore({ dataDir: config.dataDir, log }) : null;
const store = connectWithRetry(config.mongodbUri ?? embedded!.uri, config.dbName, log);
let exitCode = 0;
try {
  await store.ready;
  const models = createModels(store.connection);
  await ensureIndexes(models);
  console.log(await run(process.argv.slice(2), models));
} catch (error) {
  exitCode = error instanceof UsageError ? 2 : 1;
  console.error(error instanceof BuilderError || error instanceof MissingRecordError || error instanceof UsageError ? error.message : error);
} finally {
  await store.close();
  await embedded?.stop();
}
process.exit(exitCode);
