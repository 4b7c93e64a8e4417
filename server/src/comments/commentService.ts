import { randomBytes } from 'node:crypto';
import { MAX_COMMENT_LENGTH, roleAtLeast, type CommentView } from '@lilac/common';
import type { EventBus } from '../events/eventBus.ts';
import type { Member } from '../people/memberService.ts';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { Models } from '../store/models.ts';
import type { CommentRecord } from './commentModel.ts';
import { renderMarkdown } from './markdown.ts';
import { DomainError } from '../domainError.ts';

export type CommentErrorKind = 'invalid' | 'not-found' | 'forbidden';

export class CommentError extends DomainError<CommentErrorKind> {
  override name = 'CommentError';
}

/** A thread stays one document well under the store's 16 MiB limit even at the longest comments. */
export const MAX_COMMENTS_PER_OUTPUT = 1000;
const MAX_WRITE_ATTEMPTS = 10;

export function commentView(outPath: string, record: Omit<CommentRecord, 'editedAt'> & { editedAt?: Date | null }): CommentView {
  return {
    id: record.id,
    outPath,
    author: record.author,
    body: record.body,
    html: renderMarkdown(record.body),
    createdAt: record.createdAt.toISOString(),
    editedAt: record.editedAt ? record.editedAt.toISOString() : null,
  };
}

/** A comment as a person sent it, checked at the edge before anything is read or written. */
export function checkCommentBody(body: unknown): string {
  if (typeof body !== 'string' || body.trim() === '') throw new CommentError('invalid', 'send {"body": "<Markdown>"} with some text');
  if (body.length > MAX_COMMENT_LENGTH) throw new CommentError('invalid', `a comment is at most ${MAX_COMMENT_LENGTH} characters`);
  return body;
}

/** Comment threads, one per output; members write, authors and admins edit and delete. */
export class CommentService {
  constructor(
    private readonly models: Models,
    private readonly events: EventBus,
  ) {}

  async thread(outPath: string): Promise<CommentView[]> {
    const thread = await this.models.CommentThread.findOne({ outPath }).lean();
    return (thread?.comments ?? []).map((comment) => commentView(outPath, comment));
  }

  async add(outPath: string, author: Member, body: string): Promise<CommentView> {
    const comment: CommentRecord = { id: randomBytes(9).toString('base64url'), author: author.name, body, createdAt: new Date(), editedAt: null };
    await this.change(outPath, (comments) => {
      if (comments.length >= MAX_COMMENTS_PER_OUTPUT) throw new CommentError('invalid', `this output already has ${MAX_COMMENTS_PER_OUTPUT} comments`);
      return [...comments, comment];
    });
    const view = commentView(outPath, comment);
    this.events.publish('comment', { outPath, comment: view });
    return view;
  }

  async edit(outPath: string, id: string, editor: Member, body: string): Promise<CommentView> {
    let edited: CommentRecord | undefined;
    await this.change(outPath, (comments) =>
      comments.map((comment) => {
        if (comment.id !== id) return comment;
        assertMayChange(comment, editor);
        edited = { ...comment, body, editedAt: new Date() };
        return edited;
      }),
    );
    if (!edited) throw new CommentError('not-found', `no comment ${id} on ${outPath}`);
    const view = commentView(outPath, edited);
    this.events.publish('comment', { outPath, comment: view });
    return view;
  }

  async remove(outPath: string, id: string, remover: Member): Promise<void> {
    let found = false;
    await this.change(outPath, (comments) =>
      comments.filter((comment) => {
        if (comment.id !== id) return true;
        assertMayChange(comment, remover);
        found = true;
        return false;
      }),
    );
    if (!found) throw new CommentError('not-found', `no comment ${id} on ${outPath}`);
    this.events.publish('comment:deleted', { outPath, id });
  }

  private async change(outPath: string, next: (comments: CommentRecord[]) => CommentRecord[]): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const thread = await this.models.CommentThread.findOne({ outPath }).lean();
      const comments = next(thread ? thread.comments.map((comment) => ({ ...comment, editedAt: comment.editedAt ?? null })) : []);
      if (!thread) {
        try {
          await this.models.CommentThread.create({ outPath, comments, version: 1 });
          return;
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          continue;
        }
      }
      const { matchedCount } = await this.models.CommentThread.updateOne({ _id: thread._id, version: thread.version }, { $set: { comments, version: thread.version + 1 } });
      if (matchedCount === 1) return;
    }
    throw new Error(`comments on ${outPath} kept changing under ${MAX_WRITE_ATTEMPTS} attempts to write them`);
  }
}

function assertMayChange(comment: CommentRecord, member: Member): void {
  if (comment.author !== member.name && !roleAtLeast(member.role, 'admin')) throw new CommentError('forbidden', `only ${comment.author}, who wrote it, or an admin may change this comment`);
}
