import { MEMBER_NAME_PATTERN, parseStoreBaseName } from '@lilac/common';
import { Router, type Request } from 'express';
import type { AppContext } from '../../context.ts';
import { renderAtom } from '../../feeds/atomFeed.ts';
import { feedEntries } from '../../feeds/feedEntries.ts';
import { unwatch, watch, watchedOutputs } from '../../people/watchList.ts';
import { notFound } from '../errors.ts';
import { authenticatedMember, requireMember } from '../requireMember.ts';

function originOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** Atom feeds to follow divergences and triage in a feed reader or a chat bridge, and the watch lists behind members' feeds. */
export function feedRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/reports/:name/feed.atom', async (req, res) => {
    const name = req.params.name as string;
    const detail = await context.reports.detail(name);
    const origin = originOf(req);
    const outPaths = detail.notReproduced.flatMap((group) => group.paths.map((path) => path.outPath));
    const page = `${origin}/reports/${encodeURIComponent(name)}`;
    res.type('application/atom+xml').send(
      renderAtom({ id: page, title: `lilac: report ${name}`, self: `${origin}${req.originalUrl}`, link: page, entries: await feedEntries(context.models, outPaths, origin) }),
    );
  });
  router.get('/api/v1/members/:name/feed.atom', async (req, res) => {
    const name = req.params.name as string;
    if (!MEMBER_NAME_PATTERN.test(name) || !(await context.members.exists(name))) throw notFound(`no member named ${JSON.stringify(name)}`);
    const origin = originOf(req);
    res.type('application/atom+xml').send(
      renderAtom({
        id: `${origin}/members/${name}/watch`,
        title: `lilac: watched by ${name}`,
        self: `${origin}${req.originalUrl}`,
        link: origin,
        entries: await feedEntries(context.models, await watchedOutputs(context.models, name), origin),
      }),
    );
  });
  router.get('/api/v1/me/watch', requireMember(context, 'viewer'), async (_req, res) => {
    res.json(await watchedOutputs(context.models, authenticatedMember(res).name));
  });
  router.put('/api/v1/me/watch/:baseName', requireMember(context, 'viewer'), async (req, res) => {
    const { path } = parseStoreBaseName(req.params.baseName as string);
    if (!(await context.models.OutputSummary.exists({ outPath: path }))) throw notFound(`nothing attested for ${path}`);
    await watch(context.models, authenticatedMember(res).name, path);
    res.status(204).end();
  });
  router.delete('/api/v1/me/watch/:baseName', requireMember(context, 'viewer'), async (req, res) => {
    const { path } = parseStoreBaseName(req.params.baseName as string);
    await unwatch(context.models, authenticatedMember(res).name, path);
    res.status(204).end();
  });
  return router;
}
