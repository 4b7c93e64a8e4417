import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BuilderError, BuilderService } from '../builders/builderService.ts';
import { loadConfig, type Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { connectWithRetry } from '../store/connectWithRetry.ts';
import { startOrJoinEmbeddedStore, type EmbeddedStore } from '../store/embeddedStore.ts';
import { migrateStore, SchemaTooNewError } from '../store/migrations/migrateStore.ts';
import { createModels, ensureIndexes, type Models } from '../store/models.ts';
import { giveLinkPattern, removeLinkPattern } from '../linkPatterns/linkPatterns.ts';
import { MemberError, MemberService } from '../people/memberService.ts';
import { MissingRecordError } from '../ownership/ownership.ts';
import { giveReport, removeReport } from '../reports/reportAdmin.ts';

const usage = `usage: npm run admin -- <command>

  create-builder NAME [--token-file FILE] [--key PUBLIC_KEY]...
                            create a builder; prints its token (shown only now),
                            or takes the one in FILE (- for standard input)
  issue-token NAME          give a builder one more token; prints it
  add-key NAME PUBLIC_KEY   register a Nix public key (name:base64) for a builder
  remove-key NAME KEYNAME   unregister a builder's key by its key name
  revoke-token [--token-file FILE]
                            make a token unusable; the token is read from FILE,
                            or from standard input: never from the command line,
                            where every local user sees it (ps)
  list                      builders with their keys and last activity
  give-report NAME BUILDER  make BUILDER the owner of a report (the only builder that may replace it)
  give-link-pattern PATTERN BUILDER
                            make BUILDER the owner of a link pattern
  remove-report NAME        delete a report, whoever owns it
  remove-link-pattern PATTERN
                            delete a link pattern, whoever owns it

  create-member NAME --role viewer|maintainer|admin
                            create a person's account; prints its token (shown only now)
  issue-member-token NAME   give a member one more token; prints it
  list-members              members with their roles
  set-role NAME ROLE        change a member's role (viewer, maintainer or admin)
  revoke-member NAME        a member can no longer sign in (tokens and sessions end)

Works on the store the server uses (MONGODB_URI, or the embedded store on DATA_DIR),
whether or not the server is running, and says on standard error which store it used.`;

/** A token from a file or standard input (`-`), first line only, so `echo "$TOKEN" |` and token files both work. */
function readToken(file: string): string {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const token = text.split('\n')[0]?.trim() ?? '';
  if (token === '') throw new UsageError(`no token in ${file === '-' ? 'standard input' : file}`);
  return token;
}

async function run(args: string[], models: Models): Promise<string> {
  const builders = new BuilderService(models);
  const members = new MemberService(models);
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { 'token-file': { type: 'string' }, key: { type: 'string', multiple: true }, role: { type: 'string' } },
    allowPositionals: true,
  });
  const [first, second] = positionals;
  switch (command) {
    case 'create-builder': {
      if (!first) break;
      const given = values['token-file'] === undefined ? {} : { token: readToken(values['token-file']) };
      const { token } = await builders.create(first, { ...given, publicKeys: values.key ?? [] });
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
      if (first) throw new UsageError('revoke-token reads the token from standard input or --token-file, not from the command line');
      if (!(await builders.revokeToken(readToken(values['token-file'] ?? '-')))) throw new BuilderError('not-found', 'no such token');
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
    case 'create-member': {
      if (!first || values.role === undefined) break;
      const { token } = await members.create(first, values.role);
      return `created member ${first} (${values.role})\ntoken: ${token}\n(store the token now: only its hash is kept; sign in with it on the monitor)`;
    }
    case 'issue-member-token':
      if (!first) break;
      return `token: ${await members.issueToken(first)}`;
    case 'list-members': {
      const list = await members.list();
      if (list.length === 0) return 'no members yet: npm run admin -- create-member NAME --role admin';
      return list.map((member) => `${member.name}  ${member.role}${member.revoked ? '  (revoked)' : ''}${member.hasPassword ? '  (password set)' : ''}`).join('\n');
    }
    case 'set-role':
      if (!first || !second) break;
      await members.setRole(first, second);
      return `${first} is now ${second}`;
    case 'revoke-member':
      if (!first) break;
      await members.revoke(first);
      return `revoked member ${first}`;
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

/** The MongoDB URI without credentials, for saying which store was used. */
function withoutCredentials(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1');
}

function holdsStore(dataDir: string): boolean {
  return existsSync(dataDir) && readdirSync(dataDir).some((file) => file.endsWith('.sqlite'));
}

/** Which store the command works on, so that an operator never edits a store the server does not use without knowing. */
function describeStore(config: Config, embedded: EmbeddedStore | null, existedBefore: boolean): string {
  if (!embedded) return `store: MongoDB at ${withoutCredentials(config.mongodbUri ?? '')}, database ${config.dbName}`;
  const whose = embedded.joined ? 'the running server\'s' : 'no server runs on it';
  const line = `store: embedded FerretDB on ${embedded.dataDir} (${whose}), database ${config.dbName}`;
  if (existedBefore || embedded.joined) return line;
  const hint = process.env.DATA_DIR?.trim() ? '' : ' DATA_DIR is unset: set it to the data directory of the server you mean.';
  return `${line}\nthere was no store on ${embedded.dataDir}: this is a new, empty one.${hint}`;
}

const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
const existedBefore = config.mongodbUri === undefined && holdsStore(config.dataDir);
const embedded = config.mongodbUri === undefined ? await startOrJoinEmbeddedStore({ dataDir: config.dataDir, sync: config.storeSync, log }) : null;
const store = connectWithRetry(config.mongodbUri ?? embedded!.uri, config.dbName, log);
console.error(describeStore(config, embedded, existedBefore));
let exitCode = 0;
try {
  await store.ready;
  // The CLI may be the first of a new version to open the store, and must not write to a newer one.
  await migrateStore(store.connection.db!, { log });
  const models = createModels(store.connection);
  await ensureIndexes(models);
  console.log(await run(process.argv.slice(2), models));
} catch (error) {
  exitCode = error instanceof UsageError ? 2 : 1;
  console.error(error instanceof BuilderError || error instanceof MemberError || error instanceof MissingRecordError || error instanceof UsageError || error instanceof SchemaTooNewError ? error.message : error);
} finally {
  await store.close();
  await embedded?.stop();
}
process.exit(exitCode);
