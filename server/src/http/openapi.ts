import { LISTING_WISHES, MAX_JOB_PRIORITY, MAX_LISTING_QUESTIONS, MIN_JOB_PRIORITY, REBUILD_OUTCOME_KINDS } from '@lilac/common';

/** The OpenAPI document of lilac's HTTP API, served at `GET /api/v1/openapi.json`. Shapes are named after `common/src/wire.ts`. */

const detail = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
const json = (ref: string, description = 'ok') => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const jsonArray = (ref: string) => ({ description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: `#/components/schemas/${ref}` } } } } });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const bearer = [{ bearer: [] }];
/** A member: `Authorization: Bearer <member token>`, or the session cookie plus `X-CSRF-Token` on changes. */
const member = [{ memberBearer: [] }, { session: [] }];
const member401403 = { 401: detail, 403: detail };
const jsonBody = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const verdictCounts = { type: 'object', additionalProperties: { type: 'number' }, description: 'per verdict' };
const hashGroup = {
  type: 'object',
  properties: { narHash: { type: 'string' }, verifiedBuilders: { type: 'array', items: { type: 'string' } }, unverifiedBuilders: { type: 'array', items: { type: 'string' } } },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'lilac', version: '0.1.0', description: 'Hash collection for Nix. lila-compatible routes at the top level, the monitor API under /api/v1.' },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'a builder token' },
      memberBearer: { type: 'http', scheme: 'bearer', description: "a member's token (a builder's token gets 403 here)" },
      session: { type: 'apiKey', in: 'cookie', name: 'lilac_session', description: 'set by POST /api/v1/session; state-changing requests also send X-CSRF-Token' },
    },
    schemas: {
      ErrorBody: { type: 'object', properties: { detail: { type: 'string' } }, required: ['detail'] },
      Verdict: { type: 'string', enum: ['no-builds', 'one-build', 'reproduced', 'partially-reproduced', 'nondeterministic'] },
      HashGroup: hashGroup,
      AttestationSubmission: {
        type: 'object',
        required: ['output_digest', 'output_name', 'output_hash', 'output_sig'],
        properties: {
          output_digest: { type: 'string' },
          output_name: { type: 'string' },
          output_hash: { type: 'string', description: 'sha256:<nix-base32>, sha256:<hex> or SRI' },
          output_sig: { type: 'string', description: '<key name>:<base64>' },
          nar_size: { type: 'integer' },
          references: { type: 'array', items: { type: 'string' } },
          source: { type: 'string' },
        },
      },
      BatchAttestation: {
        type: 'object',
        required: ['drvPath', 'outPath', 'narHash', 'signature'],
        properties: {
          drvPath: { type: 'string' },
          output: { type: 'string' },
          outPath: { type: 'string' },
          narHash: { type: 'string' },
          narSize: { type: 'integer' },
          references: { type: 'array', items: { type: 'string' } },
          signature: { type: 'string' },
          source: { type: 'string', enum: ['post-build-hook', 'diff-hook', 'rebuild', 'cache-import', 'api'] },
        },
      },
      AttestationResult: {
        type: 'object',
        properties: {
          outPath: { type: 'string' },
          verdict: { $ref: '#/components/schemas/Verdict' },
          signature: { type: 'object', properties: { status: { type: 'string' }, reason: { type: ['string', 'null'] } } },
          listingWanted: { type: 'boolean', description: 'present (true) when the output has more than one NAR hash and no listing of this one is stored: PUT its listing' },
        },
      },
      ListingEntry: {
        type: 'object',
        required: ['path', 'type'],
        properties: {
          path: { type: 'string', description: "inside the output, '/'-separated, relative, no '.', '..' or empty components, no NUL; '' is the output itself" },
          type: { type: 'string', enum: ['directory', 'regular', 'executable', 'symlink'] },
          size: { type: 'integer', description: 'regular and executable files' },
          sha256: { type: 'string', description: 'regular and executable files: lowercase hex' },
          target: { type: 'string', description: 'symlinks' },
        },
      },
      ListingUpload: {
        type: 'object',
        required: ['narHash', 'narSize', 'entries'],
        properties: {
          narHash: { type: 'string' },
          narSize: { type: 'integer', description: 'must equal the size of the NAR the entries describe, and the attested narSize' },
          entries: { type: 'array', items: { $ref: '#/components/schemas/ListingEntry' }, description: 'in NAR order, the output itself first; at most LILAC_MAX_LISTING_ENTRIES' },
        },
      },
      ListingQuestions: {
        type: 'object',
        required: ['outputs'],
        properties: { outputs: { type: 'array', maxItems: MAX_LISTING_QUESTIONS, items: { type: 'object', required: ['outPath', 'narHash'], properties: { outPath: { type: 'string' }, narHash: { type: 'string' } } } } },
      },
      ListingWishes: {
        type: 'object',
        properties: {
          outputs: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                outPath: { type: 'string' },
                narHash: { type: 'string', description: 'normalised' },
                wish: { type: 'string', enum: [...LISTING_WISHES], description: 'wanted: PUT its listing; single-hash: ask again later' },
              },
            },
          },
        },
      },
      DiffoscopeUpload: {
        type: 'object',
        required: ['a', 'b', 'format', 'content', 'truncated', 'timedOut'],
        properties: {
          a: { type: 'string', description: 'NAR hash of the copy given to diffoscope first' },
          b: { type: 'string' },
          format: { type: 'string', enum: ['text', 'html'] },
          content: { type: 'string', description: 'at most 10 MiB (UTF-8)' },
          truncated: { type: 'boolean' },
          timedOut: { type: 'boolean' },
          diffoscopeVersion: { type: 'string' },
        },
      },
      FileDifference: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          change: { type: 'string', enum: ['added', 'removed', 'content', 'type', 'mode', 'target'] },
          a: { type: 'object', description: 'the first copy at that path: type, size, sha256, target (absent when added)' },
          b: { type: 'object', description: 'the second copy (absent when removed)' },
        },
      },
      CauseKind: { type: 'string', enum: ['timestamps', 'build-path', 'file-ordering', 'randomness', 'locale-timezone', 'parallelism', 'uncertain'], description: 'a guess' },
      OutputDiff: {
        type: 'object',
        properties: {
          outPath: { type: 'string' },
          groups: { type: 'array', items: { type: 'object', properties: { narHash: { type: 'string' }, builders: { type: 'array', items: { type: 'string' } }, listing: { type: 'boolean' } } } },
          pairs: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                a: { type: 'string' },
                b: { type: 'string' },
                listingsMissing: { type: 'array', items: { type: 'string' } },
                waitingFor: { type: 'array', items: { type: 'string' }, description: 'builders a missing listing can come from' },
                differences: { type: 'array', items: { $ref: '#/components/schemas/FileDifference' }, description: 'in NAR order, at most 10,000' },
                differenceCount: { type: 'integer' },
                truncated: { type: 'boolean' },
                diffoscope: { description: "'not-run', or the stored outputs: [{format, url, a, b, builder, truncated, timedOut, diffoscopeVersion, storedAt}]" },
                causes: { type: 'array', items: { $ref: '#/components/schemas/CauseKind' } },
              },
            },
          },
          causes: { type: 'array', items: { $ref: '#/components/schemas/CauseKind' } },
        },
      },
      AttestationView: { type: 'object', description: "lila's fields (output_path, output_digest, output_name, output_hash, output_sig) plus drv_path, builder, signature {status, reason, key}, source, nar_size, references, created_at" },
      OutputSummaryView: {
        type: 'object',
        properties: { outPath: { type: 'string' }, drvPath: { type: ['string', 'null'] }, verdict: { $ref: '#/components/schemas/Verdict' }, hashes: { type: 'array', items: hashGroup }, updatedAt: { type: 'string' } },
      },
      OutputDetail: {
        allOf: [
          { $ref: '#/components/schemas/OutputSummaryView' },
          {
            type: 'object',
            properties: {
              attestations: { type: 'array', items: { $ref: '#/components/schemas/AttestationView' } },
              triage: { oneOf: [{ $ref: '#/components/schemas/TriageView' }, { type: 'null' }] },
              history: { type: 'array', description: '{at, by, changes: [{field, from, to}]}' },
              comments: { type: 'array', items: { $ref: '#/components/schemas/CommentView' } },
              rebuilds: { type: 'array', items: { $ref: '#/components/schemas/AttemptView' }, description: "the pool's attempts at rebuilding it, oldest first" },
            },
          },
        ],
      },
      RebuildOutcome: {
        type: 'object',
        description: 'reproduced {narHash}, differs {narHash, others} (BAD), unmatched {narHash}, failed {log} (FAIL), timed-out {log}, cancelled {log}',
        properties: { kind: { type: 'string', enum: [...REBUILD_OUTCOME_KINDS] }, narHash: { type: 'string' }, others: { type: 'array', items: { type: 'string' } }, log: { type: 'string', description: 'the build log tail' } },
      },
      AttemptView: {
        type: 'object',
        properties: {
          builder: { type: 'string' },
          outcome: { $ref: '#/components/schemas/RebuildOutcome' },
          startedAt: { type: ['string', 'null'] },
          finishedAt: { type: 'string' },
          durationMs: { type: ['integer', 'null'] },
        },
      },
      ReportRebuilds: {
        type: 'object',
        properties: {
          counts: { type: 'object', description: 'outputs by the ending of their last rebuild', properties: Object.fromEntries(REBUILD_OUTCOME_KINDS.map((kind) => [kind, { type: 'integer' }])) },
          notReproduced: { type: 'array', description: 'at most 500', items: { type: 'object', properties: { outPath: { type: 'string' }, outcome: { $ref: '#/components/schemas/RebuildOutcome' } } } },
        },
      },
      DivergenceView: {
        type: 'object',
        properties: { outPath: { type: 'string' }, drvPath: { type: ['string', 'null'] }, hashes: { type: 'array', items: hashGroup }, firstSeen: { type: 'string' }, lastChanged: { type: 'string' } },
      },
      ReportSummary: { type: 'object', properties: { name: { type: 'string' }, owner: { type: ['string', 'null'] }, total: { type: 'integer' }, counts: verdictCounts, updatedAt: { type: 'string' } } },
      ReportHistory: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          points: {
            type: 'array',
            description: 'oldest first',
            items: { type: 'object', properties: { at: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string', enum: ['upload', 'snapshot'] }, total: { type: 'integer' }, counts: verdictCounts } },
          },
          versions: {
            type: 'array',
            description: 'newest first',
            items: {
              type: 'object',
              properties: {
                version: { type: 'string' },
                uploadedAt: { type: 'string' },
                replacedAt: { type: ['string', 'null'] },
                total: { type: 'integer' },
                attrPath: { type: ['string', 'null'] },
                countsAtUpload: { oneOf: [verdictCounts, { type: 'null' }] },
                latestCounts: { oneOf: [verdictCounts, { type: 'null' }] },
                countedAt: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
      ReportDetail: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          root: { type: 'integer' },
          total: { type: 'integer' },
          counts: verdictCounts,
          percentages: verdictCounts,
          notReproduced: { type: 'array', items: { type: 'object', properties: { pattern: { type: ['string', 'null'] }, link: { type: ['string', 'null'] }, paths: { type: 'array' } } } },
          tree: { type: 'object', properties: { nodes: { type: 'array', description: '{id, outPath, name, verdict, children: node ids}' }, roots: { type: 'array', items: { type: 'integer' } } } },
          attrPath: { type: ['string', 'null'], description: "the root's nix:attr_path" },
        },
      },
      Stats: {
        type: 'object',
        properties: {
          counts: verdictCounts,
          attestations: { type: 'integer' },
          builders: { type: 'integer' },
          outputs: { type: 'integer' },
          countedAt: { type: ['string', 'null'], format: 'date-time', description: 'null for live counts; else when the totals shown were stored, while the server counts the store after a start' },
        },
      },
      LinkPattern: { type: 'object', properties: { pattern: { type: 'string' }, link: { type: 'string' }, owner: { type: ['string', 'null'] } } },
      Me: { type: 'object', properties: { name: { type: 'string' }, role: { type: 'string', enum: ['viewer', 'maintainer', 'admin'] }, hasPassword: { type: 'boolean' }, csrfToken: { type: ['string', 'null'] } } },
      SignIn: { oneOf: [{ type: 'object', required: ['token'], properties: { token: { type: 'string' } } }, { type: 'object', required: ['name', 'password'], properties: { name: { type: 'string' }, password: { type: 'string' } } }] },
      TriageUpdate: {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: ['new', 'investigating', 'known-cause', 'fixed', 'wont-fix'] },
          assignee: { type: ['string', 'null'] },
          causes: { type: 'array', items: { type: 'string', enum: ['timestamps', 'build-path', 'file-ordering', 'randomness', 'locale-timezone', 'parallelism', 'uncertain', 'other'] } },
          links: { type: 'array', maxItems: 10, items: { type: 'string', format: 'uri', description: 'http(s) only' } },
          note: { type: 'string', maxLength: 2000 },
        },
      },
      TriageView: { type: 'object', description: 'TriageUpdate fields plus outPath, reopened, fixedAt, fixConfirmed, updatedAt, updatedBy' },
      CommentView: { type: 'object', properties: { id: { type: 'string' }, outPath: { type: 'string' }, author: { type: 'string' }, body: { type: 'string' }, html: { type: 'string', description: 'markdown-it, raw HTML off' }, createdAt: { type: 'string' }, editedAt: { type: ['string', 'null'] } } },
      CommentBody: { type: 'object', required: ['body'], properties: { body: { type: 'string', maxLength: 10000 } } },
      Suggestion: { type: 'object', properties: { drv_path: { type: 'string' }, output: { type: 'string' }, out_path: { type: 'string' } } },
      JobRequest: {
        type: 'object',
        required: ['drvPath', 'output', 'outPath'],
        properties: {
          drvPath: { type: 'string', description: 'a /nix/store/…drv path' },
          output: { type: 'string', description: 'out, dev, …' },
          outPath: { type: 'string', description: 'named <drv name> for out, <drv name>-<output> otherwise' },
          system: { type: ['string', 'null'], description: 'x86_64-linux, …; null or absent: any worker' },
          requiredSystemFeatures: { type: 'array', maxItems: 32, items: { type: 'string' } },
          priority: { type: 'integer', minimum: MIN_JOB_PRIORITY, maximum: MAX_JOB_PRIORITY, description: 'higher is claimed first; default 0; on a job already in the pool, sets it' },
        },
      },
      EnqueueResult: {
        type: 'object',
        properties: {
          added: { type: 'integer', description: 'jobs new to the pool' },
          requeued: { type: 'integer', description: 'done or failed jobs back in the queue' },
          unchanged: { type: 'integer', description: 'already queued or claimed' },
          satisfied: { type: 'integer', description: 'outputs that already have enough independent builders' },
          skipped: { type: 'array', items: { type: 'object', properties: { count: { type: 'integer' }, reason: { type: 'string' } } }, description: 'enqueueing a report only' },
        },
      },
      PoolStats: { type: 'object', properties: { queued: { type: 'integer' }, claimed: { type: 'integer', description: 'queued jobs with a running lease' }, done: { type: 'integer' }, failed: { type: 'integer' }, cancelled: { type: 'integer' } } },
      PoolJobView: {
        type: 'object',
        description: 'JobRequest fields plus these',
        properties: {
          id: { type: 'string' },
          state: { type: 'string', enum: ['queued', 'claimed', 'done', 'failed', 'cancelled'] },
          priority: { type: 'integer', description: 'higher is claimed first' },
          builder: { type: ['string', 'null'], description: 'the claim holder' },
          leaseExpiresAt: { type: ['string', 'null'] },
          since: { type: 'string' },
          error: { type: ['string', 'null'], description: "the last failure's build log tail" },
          attempts: { type: 'integer' },
          verifiedBuilders: { type: 'integer' },
          outcome: { oneOf: [{ $ref: '#/components/schemas/RebuildOutcome' }, { type: 'null' }] },
          waitingForCapableWorker: { type: 'boolean' },
        },
      },
      PoolView: {
        type: 'object',
        properties: {
          stats: { $ref: '#/components/schemas/PoolStats' },
          jobs: { type: 'array', items: { $ref: '#/components/schemas/PoolJobView' }, description: 'claimed, then the latest failures, then the head of the queue' },
          workers: {
            type: 'array',
            items: { type: 'object', properties: { builder: { type: 'string' }, socketId: { type: 'string' }, systems: { type: ['array', 'null'], items: { type: 'string' } }, features: { type: 'array', items: { type: 'string' } }, jobs: { type: 'array', items: { type: 'string' } } } },
          },
        },
      },
    },
  },
  paths: {
    '/attestation/{drv_hash}': {
      post: {
        summary: "Submit attestations of one derivation's outputs (lila)",
        security: bearer,
        parameters: [pathParam('drv_hash', "the derivation: lila's form (its path without /nix/store/ and .drv), its base name or its whole path (URL-encoded)")],
        requestBody: { content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/AttestationSubmission' } } } } },
        responses: { 200: jsonArray('AttestationResult'), 400: detail, 401: detail, 413: detail },
      },
    },
    '/api/v1/jobs/{id}/cancel': {
      post: {
        summary: 'Cancel a queued or claimed job (maintainers and admins); the worker holding it stops its build',
        security: member,
        parameters: [pathParam('id', 'job id, 24 hex digits')],
        responses: { 200: json('PoolJobView'), ...member401403, 404: detail, 409: detail },
      },
    },
    '/api/v1/jobs/{id}': {
      patch: {
        summary: "Set a job's priority (maintainers and admins); claims take higher first",
        security: member,
        parameters: [pathParam('id', 'job id, 24 hex digits')],
        requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['priority'], properties: { priority: { type: 'integer', minimum: MIN_JOB_PRIORITY, maximum: MAX_JOB_PRIORITY } } } } } },
        responses: { 200: json('PoolJobView'), 400: detail, ...member401403, 404: detail },
      },
    },
    '/api/v1/attestations': {
      post: {
        summary: 'Submit attestations of many derivations at once',
        security: bearer,
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { attestations: { type: 'array', items: { $ref: '#/components/schemas/BatchAttestation' } } } } } } },
        responses: { 200: { description: '{ results: AttestationResult[] }' }, 400: detail, 401: detail, 413: detail },
      },
    },
    '/attestations/by-output/{digest-name}': { get: { summary: 'Attestations of one output path', parameters: [pathParam('digest-name', 'store path base name')], responses: { 200: jsonArray('AttestationView'), 400: detail } } },
    '/derivations/': { get: { summary: 'Derivations with attestations (lila)', responses: { 200: { description: '[{id, drv_hash}]' } } } },
    '/derivations/{drv_hash}': {
      get: {
        summary: '{outPath: {narHash: builder count}}, or the attestations with ?full=true (lila)',
        parameters: [pathParam('drv_hash', 'derivation path without /nix/store/ and .drv'), { name: 'full', in: 'query', schema: { type: 'boolean' } }],
        responses: { 200: { description: 'counts or attestations' }, 404: detail },
      },
    },
    '/reports': { get: { summary: 'Report names', responses: { 200: { description: 'string[]' } } } },
    '/reports/{name}': {
      put: {
        summary: 'Define a report from a CycloneDX SBOM, or replace one the caller owns',
        security: bearer,
        parameters: [pathParam('name', 'report name')],
        responses: { 200: { description: 'replaced' }, 201: { description: 'created' }, 400: detail, 401: detail, 403: detail, 413: detail, 503: detail },
      },
      get: {
        summary: 'By Accept: application/vnd.cyclonedx+json the SBOM as uploaded, application/json the ReportSummary, text/html the page, otherwise the text tree with verdicts',
        parameters: [pathParam('name', 'report name')],
        responses: { 200: { description: 'SBOM, summary or text tree' }, 404: detail, 406: detail },
      },
    },
    '/reports/{name}/suggest': { get: { summary: 'Up to 50 outputs worth rebuilding for the caller (lila)', security: bearer, parameters: [pathParam('name', 'report name')], responses: { 200: jsonArray('Suggestion'), 401: detail, 404: detail } } },
    '/link_patterns': {
      get: { summary: 'Link patterns', responses: { 200: jsonArray('LinkPattern') } },
      post: {
        summary: 'Define a link pattern, or change the link of one the caller owns (RE2 regex on package names, http(s) link)',
        security: bearer,
        parameters: [{ name: 'pattern', in: 'query', required: true, schema: { type: 'string' } }, { name: 'link', in: 'query', required: true, schema: { type: 'string' } }],
        responses: { 200: json('LinkPattern'), 400: detail, 401: detail, 403: detail },
      },
    },
    '/signatures/{builder}/{digest}.narinfo': {
      get: { summary: "narinfo from the builder's attestation", parameters: [pathParam('builder', 'builder name'), pathParam('digest', 'store path digest')], responses: { 200: { description: 'text/x-nix-narinfo' }, 400: detail, 404: detail } },
    },
    '/api/v1/reports': { get: { summary: 'Reports with counts per verdict', responses: { 200: jsonArray('ReportSummary') } } },
    '/api/v1/reports/{name}/causes': {
      get: { summary: "Cause guesses of the report's not-reproduced outputs: {outPath: CauseKind[]}, outputs without a guess left out", parameters: [pathParam('name', 'report name')], responses: { 200: { description: '{outPath: CauseKind[]}' }, 404: detail } },
    },
    '/api/v1/reports/{name}/rebuilds': {
      get: { summary: "How the pool's last rebuild of each of the report's outputs ended: counts, and those not reproduced", parameters: [pathParam('name', 'report name')], responses: { 200: json('ReportRebuilds'), 404: detail } },
    },
    '/api/v1/reports/{name}': { get: { summary: 'Counts, percentages, not-reproduced paths by link pattern, and the tree', parameters: [pathParam('name', 'report name')], responses: { 200: json('ReportDetail'), 404: detail } } },
    '/api/v1/reports/{name}/history': {
      get: {
        summary: 'Counts per verdict over time: a point per upload and per day, and every version kept',
        parameters: [pathParam('name', 'report name'), { name: 'days', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 3650, default: 365 } }],
        responses: { 200: json('ReportHistory'), 400: detail, 404: detail },
      },
    },
    '/api/v1/outputs/{digest-name}': { get: { summary: 'One output: verdict, hash groups, attestations', parameters: [pathParam('digest-name', 'store path base name')], responses: { 200: json('OutputDetail'), 404: detail } } },
    '/api/v1/listings/wanted': {
      post: {
        summary: 'Which listings of copies the caller attested are wanted now (its background sender asks about those it still holds)',
        security: bearer,
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/ListingQuestions' } } } },
        responses: { 200: json('ListingWishes'), 400: detail, 401: detail },
      },
    },
    '/api/v1/outputs/{digest-name}/listing': {
      put: {
        summary: "Upload the file listing of the caller's copy of an output (gzip accepted): stored once per (output, NAR hash)",
        security: bearer,
        parameters: [pathParam('digest-name', 'store path base name')],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/ListingUpload' } } } },
        responses: {
          200: { description: '{stored: false}: a listing of that hash was stored already' },
          201: { description: '{stored: true}' },
          400: detail,
          401: detail,
          403: { ...detail, description: 'the caller did not attest that NAR hash for that output' },
          413: detail,
          422: { ...detail, description: 'the NAR size the entries describe differs from narSize or from the attested one' },
        },
      },
    },
    '/api/v1/outputs/{digest-name}/diffoscope': {
      put: {
        summary: "Upload diffoscope's output between two attested copies; the latest per (a, b, format) wins",
        security: bearer,
        parameters: [pathParam('digest-name', 'store path base name')],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/DiffoscopeUpload' } } } },
        responses: { 201: { description: '{stored: true}' }, 400: detail, 401: detail, 403: { ...detail, description: 'the caller attested neither a nor b' }, 413: detail, 422: { ...detail, description: 'a or b is not an attested hash of the output' } },
      },
    },
    '/api/v1/outputs/{digest-name}/diffoscope/{a}/{b}.txt': {
      get: { summary: "diffoscope's text output, as text/plain", parameters: [pathParam('digest-name', 'store path base name'), pathParam('a', 'NAR hash'), pathParam('b', 'NAR hash')], responses: { 200: { description: 'text/plain' }, 404: detail } },
    },
    '/api/v1/outputs/{digest-name}/diffoscope/{a}/{b}.html': {
      get: {
        summary: "diffoscope's HTML output, only under Content-Security-Policy: sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        parameters: [pathParam('digest-name', 'store path base name'), pathParam('a', 'NAR hash'), pathParam('b', 'NAR hash')],
        responses: { 200: { description: 'text/html, sandboxed' }, 404: detail },
      },
    },
    '/api/v1/outputs/{digest-name}/diff': {
      get: { summary: 'For each pair of hash groups: the differing files, missing listings, diffoscope links and a cause guess', parameters: [pathParam('digest-name', 'store path base name')], responses: { 200: json('OutputDiff'), 400: detail, 404: detail } },
    },
    '/api/v1/derivations/{drv_hash}': { get: { summary: "A derivation's output summaries", parameters: [pathParam('drv_hash', "the derivation: lila's form (its path without /nix/store/ and .drv), its base name or its whole path (URL-encoded)")], responses: { 200: { description: '{ drvPath, outputs: OutputSummaryView[] }' }, 404: detail } } },
    '/api/v1/divergences': { get: { summary: 'Divergences, most recently changed first', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }], responses: { 200: jsonArray('DivergenceView'), 400: detail } } },
    '/api/v1/stats': { get: { summary: 'Totals', responses: { 200: json('Stats') } } },
    '/api/v1/session': {
      post: { summary: 'Sign in with a member token or a name and password; sets the session cookie', requestBody: jsonBody('SignIn'), responses: { 201: json('Me'), 400: detail, 401: detail, 429: detail } },
      delete: { summary: 'Sign out', security: member, responses: { 204: { description: 'signed out' }, ...member401403 } },
    },
    '/api/v1/me': { get: { summary: 'The signed-in member, with the CSRF token for cookie requests', security: member, responses: { 200: json('Me'), ...member401403 } } },
    '/api/v1/me/password': { put: { summary: 'Set a password (12 characters or more)', security: member, responses: { 204: { description: 'set' }, 400: detail, ...member401403 } } },
    '/api/v1/outputs/{digest-name}/triage': {
      put: {
        summary: "Change an output's triage (maintainers and admins); every change is kept in its history",
        security: member,
        parameters: [pathParam('digest-name', 'store path base name')],
        requestBody: jsonBody('TriageUpdate'),
        responses: { 200: { description: '{ triage: TriageView, history }' }, 400: detail, ...member401403, 404: detail, 409: detail },
      },
    },
    '/api/v1/outputs/{digest-name}/comments': {
      post: { summary: 'Comment on an output (any member)', security: member, parameters: [pathParam('digest-name', 'store path base name')], requestBody: jsonBody('CommentBody'), responses: { 201: json('CommentView'), 400: detail, ...member401403, 404: detail } },
    },
    '/api/v1/outputs/{digest-name}/comments/{id}': {
      patch: { summary: 'Edit a comment (its author or an admin)', security: member, parameters: [pathParam('digest-name', 'store path base name'), pathParam('id', 'comment id')], requestBody: jsonBody('CommentBody'), responses: { 200: json('CommentView'), 400: detail, ...member401403, 404: detail } },
      delete: { summary: 'Delete a comment (its author or an admin)', security: member, parameters: [pathParam('digest-name', 'store path base name'), pathParam('id', 'comment id')], responses: { 204: { description: 'deleted' }, ...member401403, 404: detail } },
    },
    '/api/v1/triage/untriaged': { get: { summary: 'Recent divergences without triage or still new', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } }], responses: { 200: { description: '[{outPath, lastChanged}]' }, 400: detail } } },
    '/api/v1/reports/{name}/triage': { get: { summary: "Triage of a report's not-reproduced outputs, by output path", parameters: [pathParam('name', 'report name')], responses: { 200: { description: '{ [outPath]: TriageView }' }, 404: detail } } },
    '/api/v1/reports/{name}/feed.atom': { get: { summary: "Atom feed: divergences and triage changes of a report's not-reproduced outputs", parameters: [pathParam('name', 'report name')], responses: { 200: { description: 'application/atom+xml' }, 404: detail } } },
    '/api/v1/members/{name}/feed.atom': { get: { summary: "Atom feed of a member's watch list", parameters: [pathParam('name', 'member name')], responses: { 200: { description: 'application/atom+xml' }, 404: detail } } },
    '/api/v1/me/watch': { get: { summary: 'Output paths on the watch list', security: member, responses: { 200: { description: 'string[]' }, ...member401403 } } },
    '/api/v1/me/watch/{digest-name}': {
      put: { summary: 'Watch an output', security: member, parameters: [pathParam('digest-name', 'store path base name')], responses: { 204: { description: 'watched' }, ...member401403, 404: detail } },
      delete: { summary: 'Stop watching an output', security: member, parameters: [pathParam('digest-name', 'store path base name')], responses: { 204: { description: 'not watched' }, ...member401403 } },
    },
    '/api/v1/link-patterns': {
      put: { summary: 'Add a link pattern or change any pattern\'s link (maintainers and admins)', security: member, responses: { 200: json('LinkPattern'), 400: detail, ...member401403 } },
      delete: { summary: 'Remove a link pattern (maintainers and admins)', security: member, parameters: [{ name: 'pattern', in: 'query', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'removed' }, ...member401403, 404: detail } },
    },
    '/api/v1/jobs': {
      post: {
        summary: 'Enqueue outputs for rebuilding',
        security: bearer,
        requestBody: { content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/JobRequest' } } } } },
        responses: { 200: json('EnqueueResult'), 400: detail, 401: detail, 413: detail },
      },
    },
    '/api/v1/reports/{name}/enqueue': {
      post: { summary: "Enqueue a report's outputs for rebuilding", security: bearer, parameters: [pathParam('name', 'report name')], responses: { 200: json('EnqueueResult'), 400: detail, 401: detail, 404: detail } },
    },
    '/api/v1/pool': {
      get: {
        summary: 'The rebuild pool: counts, claimed, failed and queued jobs, workers',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 5000, default: 200 }, description: 'jobs per list' }],
        responses: { 200: json('PoolView'), 400: detail },
      },
    },
    '/api/v1/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
  },
} as const;
