import { Router } from 'express';
import { checkCommentBody } from '../../comments/commentService.ts';
import type { AppContext } from '../../context.ts';
import { personJsonBody } from '../personBody.ts';
import { authenticatedMember, requireMember } from '../requireMember.ts';
import { attestedOutput } from './attestedOutput.ts';

/** One comment thread per output: members write, authors and admins edit and delete. */
export function commentRoutes(context: AppContext): Router {
  const router = Router();
  router.post('/api/v1/outputs/:baseName/comments', requireMember(context, 'viewer'), personJsonBody, async (req, res) => {
    const path = await attestedOutput(context, req.params.baseName as string);
    res.status(201).json(await context.comments.add(path, authenticatedMember(res), checkCommentBody((req.body as { body?: unknown } | undefined)?.body)));
  });

  router.patch('/api/v1/outputs/:baseName/comments/:id', requireMember(context, 'viewer'), personJsonBody, async (req, res) => {
    const path = await attestedOutput(context, req.params.baseName as string);
    res.json(await context.comments.edit(path, req.params.id as string, authenticatedMember(res), checkCommentBody((req.body as { body?: unknown } | undefined)?.body)));
  });

  router.delete('/api/v1/outputs/:baseName/comments/:id', requireMember(context, 'viewer'), async (req, res) => {
    const path = await attestedOutput(context, req.params.baseName as string);
    await context.comments.remove(path, req.params.id as string, authenticatedMember(res));
    res.status(204).end();
  });

  return router;
}
