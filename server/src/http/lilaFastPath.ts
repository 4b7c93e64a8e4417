import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AppContext } from '../context.ts';
import { errorAnswer } from './errors.ts';
import { jsonBody, type BodyReader } from './jsonBody.ts';
import { countRequest } from './requestMetrics.ts';
import { builderOfAuthorization } from './requireBuilder.ts';
import { assertStoreConnected } from './requireStore.ts';
import { submitAsLila } from './routes/attestations.ts';

/** The form lila's hook posts: one path segment, `<digest>-<name>`, with nothing to decode. */
const PLAIN_LILA_SUBMISSION = /^\/attestation\/([^/?#%]+)(?:\?|$)/;
/** As Express names the route in metrics: the route once it is reached, `unmatched` for a refusal before it (the store being down). */
const ROUTE = '/attestation/*drv';
const BEFORE_ROUTING = 'unmatched';

/**
 * Answers lila's hooks without Express. Their one-attestation posts are most of
 * what a server is asked, and Express's routing of one (a prototype set on the
 * request and the response, each layer tried in turn, `res.json`) took about a
 * fifth of the server's CPU for it. This handler takes only the plain form of the
 * route and runs the steps the Express route runs, from the same functions:
 * store check, builder, body, submission, answer, metrics. Every other request,
 * and every other form of this one (a pasted `/nix/store/…` path, escapes, the
 * path in other letter cases), goes to `app`, so the route answers the same
 * either way (`server/test/lilaFastPath.test.ts`).
 */
export function withLilaFastPath(context: AppContext, app: RequestListener): RequestListener {
  const readBody = jsonBody(context);
  return (req, res) => {
    const derivation = req.method === 'POST' ? PLAIN_LILA_SUBMISSION.exec(req.url ?? '')?.[1] : undefined;
    if (derivation === undefined) return app(req, res);
    let route = BEFORE_ROUTING;
    countRequest(context.metrics, req, res, () => route);
    answerLila(context, readBody, req, res, derivation, () => (route = ROUTE)).catch((error: unknown) => {
      // Only answering the error (logging it, writing it) can fail here; Express would end such a request too, and keep serving.
      context.log.error({ err: error, method: req.method, url: req.url }, 'could not answer');
      res.destroy();
    });
  };
}

async function answerLila(context: AppContext, readBody: BodyReader, req: IncomingMessage, res: ServerResponse, derivation: string, routed: () => void): Promise<void> {
  try {
    assertStoreConnected(context);
    routed();
    const builder = await builderOfAuthorization(context, req.headers.authorization);
    const body = await new Promise<unknown>((resolve, reject) => readBody(req, res, (error) => (error ? reject(error) : resolve((req as { body?: unknown }).body))));
    sendJson(res, 200, await submitAsLila(context, builder, derivation, body));
  } catch (error) {
    const { status, detail } = errorAnswer(error, context.log, req);
    sendJson(res, status, { detail });
  }
}

/** What Express's `res.json` sends, with this app's settings (no ETag). */
function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
